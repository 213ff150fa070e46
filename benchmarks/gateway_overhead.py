"""The gateway's added latency and streamed throughput, beside claude-code-router and LiteLLM.

    uv run python benchmarks/gateway_overhead.py
    uv run python benchmarks/gateway_overhead.py --requests 500 --concurrency 32 --streams 2000

One run, one machine, the same client and the same upstream for every contender: the
official ``anthropic`` SDK (async) streams a short answer from ``claude-sonnet-4-6``, and
the upstream is the project's fake provider server in its own process, answering at once.

- **direct**: the SDK straight to the fake server's Anthropic endpoint (no translation);
- **ours**: ``dynamic-orchestrator gateway`` (routing on: classification, the ceiling,
  selection, the resilience executor, the metrics record), translating to OpenAI Chat
  Completions on the same fake server;
- **ccr**: claude-code-router (npm ``@musistudio/claude-code-router``) doing the same
  Anthropic-to-OpenAI translation;
- **litellm**: the LiteLLM proxy (``litellm[proxy]``, run with ``uvx`` in its own
  environment so its pins do not touch this workspace's lockfile) doing the same, through
  its ``hosted_vllm/`` provider (plain Chat Completions; its ``openai/`` provider would
  bridge to the Responses API).

Printed per contender: time to the first streamed event (p50, p90) and to the end (p50)
over ``--requests`` sequential streams, the time each adds over direct, and streams per
second with ``--concurrency`` streams in flight (``--streams`` in all), twice: with the
SDK as client (``SDK/s``; on a small machine the Python SDK itself is the bound: it costs
more CPU per stream than the upstream or any gateway, so every contender lands near
direct) and with a lean client, raw HTTP/1.1 on kept-alive connections (``lean/s``: the
gateway is the bound; the throughput target is judged on it). Also the CPU time the
serving process spent per stream (user + system, read from ``/proc`` for the process
listening on the contender's port: less swayed by other work on the machine than the
times; for direct, the fake upstream's own), plus the machine's load average before and
after. A contender that cannot be installed or started here is
reported as skipped, with the reason. Targets (issue 13): ours adds at most 2 ms to the
TTFB p50 and at most 0.5x what ccr adds; our throughput is at least 1.5x ccr's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anthropic
import anyio

MODEL = "claude-sonnet-4-6"
CLIENT_KEY = "sk-bench-client-0123456789"
UPSTREAM_MODEL = "gpt-4o-mini"
NPM_CACHE = Path(
    os.environ.get(
        "DYNAMIC_ORCHESTRATOR_NPM_CACHE", Path.home() / ".cache" / "dynamic-orchestrator" / "npm"
    )
)
UPSTREAM = """
import sys
from dynamic_orchestrator_testing.fake_server import FakeProviderServer
srv = FakeProviderServer()
srv.start()
print(srv.url, flush=True)
sys.stdin.read()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, seconds: float = 90.0) -> None:
    import httpx2

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx2.get(url, timeout=1)
            return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f}s")


@contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None, **kw: Any
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(args, env=env, text=True, **kw)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def listener_pids(url: str) -> list[int]:
    """The processes listening on the URL's port (``ss``; the gateway's workers and their
    supervisor share it), to read their CPU time; empty if unknown."""
    port = url.rsplit(":", 1)[1]
    ss = shutil.which("ss")
    if ss is None:
        return []
    out = subprocess.run([ss, "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return sorted({int(pid) for pid in re.findall(r"pid=(\d+)", out)})


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of these processes so far (Linux ``/proc``), None if unknown."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except (OSError, IndexError):
        return None
    return total / os.sysconf("SC_CLK_TCK") if pids else None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


async def one_stream(client: anthropic.AsyncAnthropic) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    stream = await client.messages.create(
        model=MODEL,
        max_tokens=256,
        stream=True,
        messages=[{"role": "user", "content": "What is 2+2? Answer briefly."}],
    )
    async for _event in stream:
        if not first:
            first = time.perf_counter() - start
    return first * 1000, (time.perf_counter() - start) * 1000


BODY = json.dumps(
    {
        "model": MODEL,
        "max_tokens": 256,
        "stream": True,
        "messages": [{"role": "user", "content": "What is 2+2? Answer briefly."}],
    }
).encode()


async def raw_stream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bool:
    """One streamed call on a kept-alive connection; True when it ended with message_stop."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    ok = lines[0].split(b" ")[1] == b"200"
    fields = dict(line.lower().split(b": ", 1) for line in lines[1:] if b": " in line)
    body = bytearray()
    if fields.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    else:
        body += await reader.readexactly(int(fields.get(b"content-length", b"0")))
    return ok and b"message_stop" in body


async def raw_throughput(base_url: str, concurrency: int, streams: int) -> tuple[float, int]:
    """Streams per second with a lean client (raw HTTP/1.1 on kept-alive connections, no
    SDK): the gateway, not the client, is what bounds it. Returns (streams/s, failures)."""
    host, port = base_url.removeprefix("http://").split(":")
    request = (
        f"POST /v1/messages HTTP/1.1\r\nhost: {host}:{port}\r\n"
        f"content-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
        f"x-api-key: {CLIENT_KEY}\r\ncontent-length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    left = streams
    failures = 0

    async def worker() -> None:
        nonlocal left, failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(5):  # warm-up
                await raw_stream(reader, writer, request)
            while left > 0:
                left -= 1
                if not await raw_stream(reader, writer, request):
                    failures += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return streams / (time.perf_counter() - start), failures


async def measure(base_url: str, requests: int, concurrency: int, streams: int) -> dict[str, float]:
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key=CLIENT_KEY, max_retries=0)
    for _ in range(20):  # warm-up: connections, imports, caches
        await one_stream(client)
    ttfb: list[float] = []
    total: list[float] = []
    for _ in range(requests):
        first, whole = await one_stream(client)
        ttfb.append(first)
        total.append(whole)
    left = streams
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one_stream(client)

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    elapsed = time.perf_counter() - start
    await client.close()
    raw, failures = await raw_throughput(base_url, concurrency, streams)
    return {
        "ttfb_p50": pct(ttfb, 0.5),
        "ttfb_p90": pct(ttfb, 0.9),
        "total_p50": pct(total, 0.5),
        "streams_per_s": streams / elapsed,
        "raw_per_s": raw,
        "raw_failures": failures,
    }


def npm_bin(package: str, binary: str) -> Path | None:
    path = NPM_CACHE / "node_modules" / ".bin" / binary
    if path.exists():
        return path
    npm = shutil.which("npm")
    if npm is None:
        return None
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--prefix", str(NPM_CACHE), "--no-audit", "--no-fund", package],
        capture_output=True, check=False, timeout=600,
    )  # fmt: skip
    return path if path.exists() else None


@contextmanager
def ours(upstream: str, tmp: Path, workers: int = 1) -> Iterator[str]:
    config = tmp / "gateway.yaml"
    config.write_text(
        json.dumps(
            {
                "providers": {
                    "openai": {"base_url": f"{upstream}/v1"},
                    "anthropic": {"enabled": False},
                    "gemini": {"enabled": False},
                },
                "metrics": {"path": str(tmp / "metrics.sqlite")},
            }
        )
    )
    port = free_port()
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench-upstream-0123456789"}
    command = [sys.executable, "-m", "dynamic_orchestrator", "gateway", "--port", str(port)]
    command += ["--workers", str(workers), "--config", str(config)]
    with process(command, env=env, stderr=subprocess.DEVNULL):
        wait_http(f"http://127.0.0.1:{port}/v1/models")
        yield f"http://127.0.0.1:{port}"


@contextmanager
def ccr(upstream: str, tmp: Path) -> Iterator[str]:
    binary = npm_bin("@musistudio/claude-code-router", "ccr")
    if binary is None:
        raise RuntimeError("npm could not install @musistudio/claude-code-router")
    home = tmp / "ccr-home"
    (home / ".claude-code-router").mkdir(parents=True)
    port = free_port()
    settings = {
        "HOST": "127.0.0.1",
        "PORT": port,
        "LOG": False,
        "API_TIMEOUT_MS": 60000,
        "Providers": [
            {
                "name": "fake",
                "api_base_url": f"{upstream}/v1/chat/completions",
                "api_key": "sk-bench-upstream-0123456789",
                "models": [UPSTREAM_MODEL],
            }
        ],
        "Router": {"default": f"fake,{UPSTREAM_MODEL}"},
    }
    (home / ".claude-code-router" / "config.json").write_text(json.dumps(settings))
    env = {**os.environ, "HOME": str(home)}
    with process(
        [str(binary), "start"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ):
        wait_http(f"http://127.0.0.1:{port}/")
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            subprocess.run(
                [str(binary), "stop"], env=env, capture_output=True, check=False, timeout=30
            )


@contextmanager
def litellm(upstream: str, tmp: Path) -> Iterator[str]:
    uvx = shutil.which("uvx")
    if uvx is None:
        raise RuntimeError("uvx is not installed (it runs litellm[proxy] in its own environment)")
    config = tmp / "litellm.yaml"
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": MODEL,
                        "litellm_params": {
                            # hosted_vllm/: a plain Chat Completions endpoint (its openai/
                            # provider bridges /v1/messages to the Responses API instead)
                            "model": f"hosted_vllm/{UPSTREAM_MODEL}",
                            "api_base": f"{upstream}/v1",
                            "api_key": "sk-bench-upstream-0123456789",
                        },
                    }
                ],
                "litellm_settings": {"drop_params": True, "telemetry": False},
                # the proxy refuses to start without one; the client sends this key
                "general_settings": {"master_key": CLIENT_KEY},
            }
        )
    )
    port = free_port()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    command = [uvx, "--from", "litellm[proxy]", "litellm", "--config", str(config)]
    with process(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ):  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/health/liveliness", seconds=240)
        yield f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=300, help="Sequential streams timed.")
    parser.add_argument("--concurrency", type=int, default=32, help="Streams in flight.")
    parser.add_argument("--streams", type=int, default=1500, help="Streams in the throughput run.")
    parser.add_argument("--only", nargs="*", default=["direct", "ours", "ccr", "litellm"])
    parser.add_argument(
        "--workers", type=int, default=1, help="The gateway's worker processes (--workers)."
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: dict[str, dict[str, float]] = {}
    skipped: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory() as name,
        process(
            [sys.executable, "-c", UPSTREAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        ) as upstream_proc,
    ):
        tmp = Path(name)
        assert upstream_proc.stdout is not None
        upstream = upstream_proc.stdout.readline().strip()
        if not re.match(r"^http://127\.0\.0\.1:\d+$", upstream):
            raise SystemExit(f"the fake upstream did not start: {upstream!r}")
        starters = {"ours": partial(ours, workers=args.workers), "ccr": ccr, "litellm": litellm}
        for contender in args.only:
            try:
                with (
                    contextlib.nullcontext(upstream)
                    if contender == "direct"
                    else starters[contender](upstream, tmp)
                ) as url:
                    pids = listener_pids(url)
                    before = cpu_seconds(pids)
                    results[contender] = anyio.run(
                        measure, url, args.requests, args.concurrency, args.streams
                    )
                    after = cpu_seconds(pids)
                    runs = args.requests + 2 * args.streams + 20 + 5 * args.concurrency
                    results[contender]["cpu_ms"] = (
                        (after - before) * 1000 / runs
                        if before is not None and after is not None
                        else float("nan")
                    )
            except Exception as exc:  # a contender that cannot run here is reported, not fatal
                skipped[contender] = f"{type(exc).__name__}: {exc}"
    direct = results.get("direct")
    print(
        f"\n{args.requests} sequential streams each; throughput: {args.streams} streams, "
        f"{args.concurrency} in flight (milliseconds, measured)"
        + (f"; ours in {args.workers} worker processes" if args.workers > 1 else "")
    )
    heads = ("TTFB p50", "TTFB p90", "total p50", "added TTFB", "SDK/s", "lean/s", "CPU ms")
    print(
        f"{'':10} {heads[0]:>9} {heads[1]:>9} {heads[2]:>10} {heads[3]:>11} {heads[4]:>7} "
        f"{heads[5]:>7} {heads[6]:>7}"
    )
    for contender, r in results.items():
        added = (
            f"{r['ttfb_p50'] - direct['ttfb_p50']:+.2f}"
            if direct and contender != "direct"
            else "-"
        )
        print(
            f"{contender:10} {r['ttfb_p50']:9.2f} {r['ttfb_p90']:9.2f} {r['total_p50']:10.2f} "
            f"{added:>11} {r['streams_per_s']:7.1f} {r['raw_per_s']:7.1f} {r['cpu_ms']:7.2f}"
            + (f"  ({r['raw_failures']:.0f} lean streams failed)" if r["raw_failures"] else "")
        )
    for contender, why in skipped.items():
        print(f"{contender:10} skipped: {why}")
    if direct and "ours" in results and "ccr" in results:
        ours_added = results["ours"]["ttfb_p50"] - direct["ttfb_p50"]
        ccr_added = results["ccr"]["ttfb_p50"] - direct["ttfb_p50"]
        ratio = ours_added / ccr_added if ccr_added > 0 else float("nan")
        mine, theirs = results["ours"], results["ccr"]
        speed = mine["raw_per_s"] / theirs["raw_per_s"]
        sdk_speed = mine["streams_per_s"] / theirs["streams_per_s"]
        ttfb_met = ours_added <= 2.0 and ratio <= 0.5
        print(
            f"\nadded TTFB p50: ours {ours_added:+.2f} ms, ccr {ccr_added:+.2f} ms ({ratio:.2f}x); "
            f"target <= 2 ms and <= 0.5x ccr's: {'met' if ttfb_met else 'NOT met'}"
        )
        print(
            f"throughput, lean client: ours {mine['raw_per_s']:.0f}/s, {speed:.2f}x ccr's "
            f"{theirs['raw_per_s']:.0f}/s; target >= 1.5x: {'met' if speed >= 1.5 else 'NOT met'}"
        )
        print(
            f"throughput, SDK client: ours {mine['streams_per_s']:.0f}/s, {sdk_speed:.2f}x ccr's "
            f"{theirs['streams_per_s']:.0f}/s (direct {direct['streams_per_s']:.0f}/s: the "
            "Python SDK client itself bounds these)"
        )
        print(
            f"CPU per stream in the serving process: ours {mine['cpu_ms']:.2f} ms, ccr "
            f"{theirs['cpu_ms']:.2f} ms ({mine['cpu_ms'] / theirs['cpu_ms']:.2f}x)"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
