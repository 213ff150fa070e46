"""Per-request overhead: a full ``orchestrate`` beside LiteLLM's ``Router.acompletion``.

    uv run --group bench python benchmarks/overhead_vs_litellm.py
    uv run --group bench python benchmarks/overhead_vs_litellm.py --requests 5000

Both run in this process, one request at a time, on providers that answer at once, so
what is timed is each library's own work:

- **ours**: ``Orchestrator.orchestrate`` through the installed plugins: classification,
  complexity, selection, prompt, the breaker plugin's executor (budget check, cache
  lookup and store, breaker permit and outcome, retries wrapper), the metrics record to
  the in-memory sink and the SQLite sink's queue (the default plugins; the Prometheus
  extra is left out), on an in-process provider that returns a fixed completion, priced
  by genai-prices as a real answer is. Every request text is different: each is a cache
  miss.
- **LiteLLM**: ``Router.acompletion`` with ``mock_response`` (LiteLLM's own way to skip
  the network), one deployment.

Same machine, same run, same number of requests; a warm-up of ``--warmup`` requests on
each is excluded. Printed: p50, p90 and p99 of each, in microseconds, and the ratio of
the p50s (the target: ours at most 0.1x LiteLLM's).

The OpenTelemetry sink (extra ``otel``) is measured apart: ours again with it on,
exporting by OTLP/HTTP to a receiver in another process, beside ours with it off, in
``--otel-rounds`` rounds of one run each (which goes first alternates). Printed, with and
without the sink and what it adds (on minus off, per round: the median of the rounds and
their range): wall time p50, mean and p99, the serving process's CPU per request (all its
threads, from ``time.process_time``; the exporter process apart), the event loop's CPU
p50 and its garbage collection per request; each added figure marked met or NOT met
against the target of at most 50 us per request. Then the sink's own time measured in
place, as CPU time (which a loaded machine inflates less than wall time): its record hook
(a row of the record's values packed and queued, on the event loop; the cost of the two
clock reads that time it, measured on a call that does nothing, subtracted and printed:
the with-side of the separate runs pays it too), the sender thread
(a batch written to the exporter's pipe: the GIL time the event loop can lose) and the
exporter process (encoding and posting the spans, off the serving interpreter); hook and
sender are the sink's cost in the serving process, the three together its machine-wide
cost, which a machine whose CPUs are all busy pays out of its requests. The receiver's
CPU is printed apart: it is a collector's work, which usually runs elsewhere. The target
is judged on what a request pays on average: the wall p50 and mean and the serving
process's CPU of the separate runs, and the machine-wide CPU; the p99 is printed beside
them. The load average is printed at
the start and the end of these rounds: on a busy machine the rounds' differences spread
by hundreds of microseconds and only the in-place figures hold. Last, the two again in
one process, their requests alternating (wall time and the event loop's CPU, p50 and
mean, plus the sender thread): the load falls on both alike, so this holds on a busy
machine, but it measures only the sink's cost inside the serving process. The exporter
process and the receiver competing for the CPUs slow both sides alike here, so that part
of the cost is only in the separate runs; the garbage collector is shared by the two.

LiteLLM is an optional benchmark dependency (the ``bench`` group); without it only our
figures are printed, with the command that installs it.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.models import Completion
from dynamic_orchestrator.plugins import make_plugin_manager
from dynamic_orchestrator.progress import Progress
from dynamic_orchestrator.providers import ProviderCall

MODEL = "gpt-4o-mini"
TARGET_US = 50.0  # what the OTel sink may add per request, at most


class InstantProvider:
    """Answers every call at once with a fixed completion (no network, no sleep)."""

    name = "openai"

    def unavailable_reason(self, model: ModelInfo, *, client_can_sample: bool = False) -> None:
        return None

    async def complete(self, call: ProviderCall) -> Completion:
        return Completion(
            text="This is a mock response.", model=call.model.name, provider=self.name,
            input_tokens=30, output_tokens=6,
        )  # fmt: skip


class ProviderPlugin:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(InstantProvider())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


async def timed(
    call: Callable[[int], Awaitable[Any]], n: int, offset: int, cpu: list[float] | None = None
) -> list[float]:
    """Wall time per request (us); with ``cpu``, the event loop thread's CPU time too."""
    out = []
    with Progress("requests", n) as bar:  # drawn outside the timed span
        for i in range(n):
            cpu0 = time.thread_time()
            start = time.perf_counter()
            await call(offset + i)
            out.append((time.perf_counter() - start) * 1e6)
            if cpu is not None:
                cpu.append((time.thread_time() - cpu0) * 1e6)
            bar.advance()
    return out


def texts(i: int) -> str:
    return f"Summarise the change log of module {i} and list what it broke"


@dataclass
class Run:
    """One run of ours: per-request wall and event-loop CPU times, CPU per request."""

    wall: list[float]
    loop_cpu: list[float] = field(default_factory=list)
    process_cpu: float = 0.0  # us per request, every thread of this process (not the exporter)
    sender_cpu: float | None = None  # us per request, the trace sink's sender thread
    exporter_cpu: float | None = None  # us per request, the exporter process (encode, post)
    hook: float | None = None  # us per request in the trace sink's record hook (its queue)
    gc_cpu: float = 0.0  # us per request the event loop spent collecting garbage
    receiver_cpu: float | None = None  # us per request, the OTLP receiver (a collector's)
    timer: float = 0.0  # us the hook's timer reads itself (subtracted from ``hook``)


def timer_cost_us(n: int) -> float:
    """What timing the record hook adds to its figure: the same two CPU-clock reads around
    a call that does nothing (a clock read is a system call in some virtual machines,
    about 3 us here), per call."""

    def nothing(record: Any) -> None:
        pass

    spent = 0.0
    for _ in range(n):
        start = time.thread_time()
        nothing(None)
        spent += time.thread_time() - start
    return spent / n * 1e6


def _otel_sink(orch: Any) -> Any:
    """The orchestrator's OTel trace sink, or None (not installed, or no endpoint)."""
    try:
        import dynamic_orchestrator_otel
    except ImportError:
        return None
    return dynamic_orchestrator_otel.state(orch).sink


def orchestrator(data_dir: str, *, otel: bool = False) -> Orchestrator:
    """Ours with the default plugins and the instant provider; ``otel``: the trace sink too."""
    tier = {"preferred": MODEL, "fallback": []}
    config = parse_config(
        {
            "use_claude_code": False,
            "execution": {"simple": tier, "moderate": tier, "complex": tier},
            "metrics": {"path": os.path.join(data_dir, "metrics.sqlite3")},
            # The default install: Prometheus and OpenTelemetry are extras.
            "plugins": {"disable": ["prometheus"] if otel else ["prometheus", "otel"]},
        },
        "benchmark",
    )
    pm = make_plugin_manager(disable=config.plugins.disable)
    pm.register(ProviderPlugin())
    assert "breaker" in pm.infos, "the breaker plugin is not installed"
    return Orchestrator(config, plugin_manager=pm)


async def ours(args: argparse.Namespace, data_dir: str, *, otel: bool = False) -> Run:
    """Our timings; with ``otel`` the trace sink on, every span posted before it returns."""
    async with orchestrator(data_dir, otel=otel) as orch:
        trace_sink = _otel_sink(orch)
        assert (trace_sink is not None) == otel, "the OTel sink is not exporting"

        async def one(i: int) -> None:
            result = await orch.orchestrate(texts(i))
            assert result.status == "completed" and not result.cached, result.error

        await timed(one, args.warmup, 0)
        if trace_sink is not None:
            posted = await anyio.to_thread.run_sync(trace_sink.flush, 60.0)  # off the loop
            assert posted, "the warm-up's spans were not posted"
        run = Run([])
        in_hook = [0.0]
        if trace_sink is not None:  # the record hook's own time, measured where it runs
            add = trace_sink.add

            def timed_add(record: Any) -> None:  # CPU, not wall: a preemption is not its cost
                start = time.thread_time()
                add(record)
                in_hook[0] += time.thread_time() - start

            setattr(trace_sink, "add", timed_add)  # noqa: B010
        sender0 = trace_sink.sender_cpu_s if trace_sink is not None else 0.0
        exporter0 = trace_sink.exporter_cpu_s if trace_sink is not None else 0.0
        receiver0 = receiver_cpu_s() if trace_sink is not None else 0.0
        collecting = [0.0, 0.0]  # CPU spent in collections, when the current one began

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                collecting[1] = time.thread_time()
            else:
                collecting[0] += time.thread_time() - collecting[1]

        gc.collect()  # every run starts from the same heap: the warm-up's garbage is gone
        gc.callbacks.append(on_gc)
        process0 = time.process_time()
        try:
            run.wall = await timed(one, args.requests, args.warmup, run.loop_cpu)
        finally:
            gc.callbacks.remove(on_gc)
        run.gc_cpu = collecting[0] / args.requests * 1e6
        if trace_sink is not None:
            posted = await anyio.to_thread.run_sync(trace_sink.flush, 60.0)
            assert posted and trace_sink.failed_spans == 0, "export failed"
            assert trace_sink.dropped == trace_sink.lost == 0, "records dropped or lost"
            run.sender_cpu = (trace_sink.sender_cpu_s - sender0) / args.requests * 1e6
            run.exporter_cpu = (trace_sink.exporter_cpu_s - exporter0) / args.requests * 1e6
            run.receiver_cpu = (receiver_cpu_s() - receiver0) / args.requests * 1e6
            run.timer = timer_cost_us(args.requests)
            run.hook = in_hook[0] / args.requests * 1e6 - run.timer
        run.process_cpu = (time.process_time() - process0) / args.requests * 1e6
        return run


RECEIVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def do_GET(self):  # its own CPU so far (every thread), for the benchmark
        body = repr(time.process_time()).encode()
        self.send_response(200); self.send_header("content-length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def receiver_cpu_s() -> float:
    """The OTLP receiver's CPU time so far (it stands in for a collector)."""
    import urllib.request

    url = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] + "/cpu"
    with urllib.request.urlopen(url, timeout=10) as response:
        return float(response.read())


async def interleaved(args: argparse.Namespace) -> list[str]:
    """Ours with the sink and without it in one process, their requests alternating: the
    machine's load falls on both alike, so the difference holds on a busy machine too.
    The garbage collector is shared, so a collection one side brings on may land on the
    other; the event loop's CPU is per request, the sender thread's is measured apart."""
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as off_dir, tempfile.TemporaryDirectory() as on_dir:
        async with orchestrator(off_dir) as off, orchestrator(on_dir, otel=True) as on:
            sink = _otel_sink(on)
            assert sink is not None and _otel_sink(off) is None
            pair = {False: off, True: on}
            for i in range(args.warmup):
                for orch in pair.values():
                    await orch.orchestrate(texts(i))
            posted = await anyio.to_thread.run_sync(sink.flush, 60.0)  # off the loop
            assert posted, "the warm-up's spans were not posted"
            sender0 = sink.sender_cpu_s
            with Progress("interleaved requests", args.requests) as bar:
                for i in range(args.requests):
                    for otel in (False, True) if i % 2 == 0 else (True, False):
                        cpu0 = time.thread_time()
                        start = time.perf_counter()
                        result = await pair[otel].orchestrate(texts(args.warmup + i))
                        wall[otel].append((time.perf_counter() - start) * 1e6)
                        cpu[otel].append((time.thread_time() - cpu0) * 1e6)
                        assert result.status == "completed" and not result.cached, result.error
                    bar.advance()
            posted = await anyio.to_thread.run_sync(sink.flush, 60.0)
            assert posted and sink.failed_spans == 0, "export failed"
            sender = (sink.sender_cpu_s - sender0) / args.requests * 1e6
    out = [
        f"OTel sink, interleaved in one process ({args.requests} requests each, alternating; "
        f"load average {load()} at end):",
        "  (its cost inside the serving process only: the exporter's and the receiver's CPU "
        "slow both sides alike here)",
        f"  {'':34}{'without':>9}{'with':>9}{'added':>9}  target 50 us",
    ]
    for name, values, measure in (
        ("wall time p50", wall, statistics.median),
        ("wall time mean", wall, statistics.fmean),
        ("event loop CPU p50", cpu, statistics.median),
        ("event loop CPU mean", cpu, statistics.fmean),
    ):
        without, with_ = measure(values[False]), measure(values[True])
        verdict = "met" if with_ - without <= TARGET_US else "NOT met"
        out.append(f"  {name:34}{without:9.1f}{with_:9.1f}{with_ - without:+9.1f}  {verdict}")
    loop_mean = statistics.fmean(cpu[True]) - statistics.fmean(cpu[False])
    total = loop_mean + sender
    out.append(
        f"  event loop CPU mean + sender thread {total:+8.1f} us  "
        + ("met" if total <= TARGET_US else "NOT met")
        + f" (sender {sender:.2f} us)"
    )
    return out


async def otel_overhead(args: argparse.Namespace) -> str:
    """The OTel sink's cost per request, measured against the same run without it."""
    try:
        import dynamic_orchestrator_otel  # noqa: F401
    except ImportError:
        return "OTel sink: not installed (extra 'otel'); not measured"
    loads = [load(), ""]
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{port}"
        off: list[Run] = []
        on: list[Run] = []
        for round_ in range(args.otel_rounds):
            # Alternate which goes first, so a drift in the machine's load falls on both.
            for otel in (False, True) if round_ % 2 == 0 else (True, False):
                with tempfile.TemporaryDirectory() as data_dir:
                    (on if otel else off).append(await ours(args, data_dir, otel=otel))
        mixed = await interleaved(args)
    finally:
        loads[1] = load()
        os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        receiver.terminate()
        receiver.wait()

    def added(measure: Callable[[Run], float]) -> list[float]:
        """The rounds' differences (on minus off), lowest first."""
        return sorted(measure(b) - measure(a) for a, b in zip(off, on, strict=True))

    sender = statistics.median(r.sender_cpu or 0.0 for r in on)
    exporter = statistics.median(r.exporter_cpu or 0.0 for r in on)
    receiver_cpu = statistics.median(r.receiver_cpu or 0.0 for r in on)
    hook = statistics.median(r.hook or 0.0 for r in on)
    timer = statistics.median(r.timer for r in on)
    in_process = hook + sender
    machine = in_process + exporter
    rows = [  # what is measured, is it judged against the target, how
        ("wall time p50", True, lambda r: pct(r.wall, 0.5)),
        ("wall time mean", True, lambda r: statistics.fmean(r.wall)),
        ("serving process CPU, all threads", True, lambda r: r.process_cpu),
        ("wall time p99", False, lambda r: pct(r.wall, 0.99)),
        ("event loop CPU p50", False, lambda r: pct(r.loop_cpu, 0.5)),
        ("garbage collection, event loop", False, lambda r: r.gc_cpu),
    ]
    out = [
        line("orchestrate, OTel sink off", min(off, key=lambda r: pct(r.wall, 0.5)).wall),
        line("orchestrate, OTel sink on", min(on, key=lambda r: pct(r.wall, 0.5)).wall),
        f"OTel sink, per request in us (medians of {len(on)} rounds of {args.requests} "
        "requests each way):",
        f"  load average (1, 5, 15 min): {loads[0]} at start, {loads[1]} at end",
        f"  {'':34}{'without':>9}{'with':>9}{'added':>9}  {'added, rounds':22} target 50 us",
    ]
    missed = []
    for name, judged, measure in rows:
        diffs = added(measure)
        diff = statistics.median(diffs)
        ok = diff <= TARGET_US
        if judged and not ok:
            missed.append(name)
        verdict = ("met" if ok else "NOT met") + ("" if judged else " (not judged)")
        out.append(
            f"  {name:34}{statistics.median(map(measure, off)):9.1f}"
            f"{statistics.median(map(measure, on)):9.1f}{diff:+9.1f}  "
            f"{f'{diffs[0]:+.1f} to {diffs[-1]:+.1f}':22} {verdict}"
        )
    if machine > TARGET_US:
        missed.append("machine-wide CPU")
    out += [
        "OTel sink's own CPU per request (measured in place, median of the rounds):",
        f"  record hook, on the event loop          {hook:7.2f} us  (its timer's own "
        f"{timer:.2f} us subtracted; the with-side of the runs above pays that timer too)",
        f"  sender thread (batch to pipe)           {sender:7.2f} us",
        f"  in the serving process: hook + sender   {in_process:7.2f} us  "
        + ("met" if in_process <= TARGET_US else "NOT met"),
        f"  exporter process (encode, post)         {exporter:7.2f} us",
        f"  machine-wide: hook + sender + exporter  {machine:7.2f} us  "
        + ("met" if machine <= TARGET_US else "NOT met"),
        f"  OTLP receiver (a collector's work)      {receiver_cpu:7.2f} us  (not the sink's; "
        "a collector usually runs elsewhere)",
        "  (the exporter's CPU is spent beside the serving process: on a machine whose CPUs "
        "are all busy it is taken from the requests, which the separate runs above show "
        "only within their spread)",
        (
            f"target at most {TARGET_US:.0f} us per request (wall p50, wall mean, serving "
            "process CPU, machine-wide CPU): "
            + ("met" if not missed else f"NOT met ({', '.join(missed)})")
        ),
        *mixed,
    ]
    return "\n".join(out)


async def litellm_router(args: argparse.Namespace) -> list[float] | None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch at import
    try:
        import litellm
        from litellm import Router
    except ImportError:
        return None
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    router = Router(
        model_list=[
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_key": "sk-benchmark-not-a-key",
                    "mock_response": "This is a mock response.",
                },
            }
        ]
    )

    async def one(i: int) -> None:
        await router.acompletion(
            model=MODEL,
            messages=[{"role": "user", "content": texts(i)}],
            mock_response="This is a mock response.",
        )

    await timed(one, args.warmup, 0)
    return await timed(one, args.requests, args.warmup)


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:32} p50 {pct(values, 0.5):9.1f} us   p90 {pct(values, 0.9):9.1f} us   "
        f"p99 {pct(values, 0.99):9.1f} us"
    )


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"load average at start (1, 5, 15 min): {load()}")
    print(f"{args.requests} requests each, one at a time, after {args.warmup} warm-up\n")
    with tempfile.TemporaryDirectory() as data_dir:
        mine = (await ours(args, data_dir)).wall
    theirs = await litellm_router(args)
    print(line("orchestrate (all plugins)", mine))
    if not args.no_otel:
        print(await otel_overhead(args))
    if theirs is None:
        print(
            "LiteLLM is not installed; for the comparison run:\n"
            "  uv run --group bench python benchmarks/overhead_vs_litellm.py"
        )
        print(f"load average at end (1, 5, 15 min): {load()}")
        return
    print(line("LiteLLM Router.acompletion", theirs))
    ratio = pct(mine, 0.5) / pct(theirs, 0.5)
    verdict = "meets" if ratio <= 0.1 else "misses"
    print(f"\nratio of p50s (ours / LiteLLM): {ratio:.3f}x ({verdict} the 0.1x target)")
    print(f"load average at end (1, 5, 15 min): {load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--no-otel", action="store_true", help="Skip the OTel sink's figures.")
    parser.add_argument(
        "--otel-rounds", type=int, default=5, help="Runs with and without the OTel sink."
    )
    anyio.run(main, parser.parse_args())
