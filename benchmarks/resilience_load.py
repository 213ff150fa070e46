"""Resilience under load: concurrent requests with injected faults, none lost.

    uv run python benchmarks/resilience_load.py                 # 1,000 requests, 30% faults
    uv run python benchmarks/resilience_load.py --requests 5000 --fault-rate 0.3

Every request is started at once (``--requests`` concurrent ``orchestrate`` calls on one
event loop) through the installed plugins, the breaker plugin among them, on an
in-process provider that answers after ``--latency`` seconds and fails a random
``--fault-rate`` of its calls (a seeded mix: 5xx-like transient errors, timeouts-like
transient errors, 429 without Retry-After, 529 overloaded). The chain is three models of
that provider; retries are immediate (``retry.initial_wait: 0``) so that every second of
a request is either the provider's or the orchestrator's own. The breakers judge a
failure rate over 100 calls (at least 50 seen, threshold 50%): with the core's default
window (20 calls, 5 seen), 30% random faults open a breaker now and then, by chance.

Printed (all measured in this run, on this machine):

- completed, failed and **lost** (accepted but never answered: must be 0);
- the provider's calls and faults, each attempt's outcome, the breakers' final states;
- **added latency per request** at p50/p99: a request's end-to-end time minus the
  provider's own latency for the calls it made (``--latency`` each). At this concurrency
  on one event loop, most of it is queueing: every request's analysis is synchronous CPU
  work, so a burst of 1,000 waits for the analyses started before it. So also printed:
  the process CPU time per request (the orchestrator's intrinsic cost), and the added
  latency of requests made one at a time (no queueing: wall time minus the time measured
  inside the provider);
- beside it, the same number of concurrent calls made on the provider directly (one try
  each, same fault rate), end to end p50/p99, as the baseline.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import platform
import random
import tempfile
import time
from collections import Counter
from typing import Any

import anyio
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import ChatMessage, Completion
from dynamic_orchestrator.plugins import make_plugin_manager
from dynamic_orchestrator.progress import track
from dynamic_orchestrator.providers import ProviderCall

MODELS = ["svc-a", "svc-b", "svc-c"]
provider_time: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "provider_time", default=None
)


class FaultyProvider:
    """Answers after ``latency`` seconds; fails ``fault_rate`` of its calls (seeded)."""

    name = "faulty"

    def __init__(self, latency: float, fault_rate: float, seed: int = 7) -> None:
        self.latency = latency
        self.fault_rate = fault_rate
        self.rng = random.Random(seed)
        self.calls = 0
        self.faults: Counter[str] = Counter()

    def unavailable_reason(self, model: ModelInfo, *, client_can_sample: bool = False) -> None:
        return None

    async def complete(self, call: ProviderCall) -> Completion:
        self.calls += 1
        start = time.perf_counter()
        try:
            await anyio.sleep(self.latency)
            if self.rng.random() < self.fault_rate:
                kind, status = self.rng.choice(
                    [
                        (ErrorKind.TRANSIENT, 500),
                        (ErrorKind.TRANSIENT, 503),
                        (ErrorKind.RATE_LIMITED, 429),
                        (ErrorKind.TRANSIENT, 529),
                    ]
                )
                self.faults[f"{kind.value} {status}"] += 1
                raise ProviderError(kind, "injected fault", status_code=status)
            return Completion(
                text="ok", model=call.model.name, provider=self.name, input_tokens=20,
                output_tokens=5,
            )  # fmt: skip
        finally:
            spent = provider_time.get()
            if spent is not None:
                spent.append(time.perf_counter() - start)


class ProviderPlugin:
    def __init__(self, provider: FaultyProvider) -> None:
        self.provider = provider

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(self.provider)


def config(data_dir: str) -> Any:
    tier = {"preferred": MODELS[0], "fallback": MODELS[1:]}
    return parse_config(
        {
            "use_claude_code": False,
            "execution": {"simple": tier, "moderate": tier, "complex": tier},
            "baseline_model": MODELS[0],
            "models": {
                m: {"provider": "faulty", "input_price_per_mtok": 1, "output_price_per_mtok": 4}
                for m in MODELS
            },
            "retry": {"attempts": 3, "initial_wait": 0, "max_wait": 0},
            # A failure rate over 100 calls (at least 50 seen): 30% random faults are a
            # degraded provider, not a dead one, and should not open the breaker.
            "circuit_breaker": {"window_size": 100, "minimum_calls": 50},
            "metrics": {"persist": True, "path": os.path.join(data_dir, "metrics.sqlite3")},
        },
        "benchmark",
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


async def direct(provider: FaultyProvider, n: int) -> tuple[list[float], int]:
    """n concurrent single calls on the provider itself: (latencies in ms, failures)."""
    model = ModelInfo(name=MODELS[0], provider="faulty")
    call = ProviderCall(model=model, system="s", messages=[ChatMessage(role="user", content="x")])
    latencies: list[float] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        start = time.perf_counter()
        try:
            await provider.complete(call)
        except ProviderError:
            failures += 1
        latencies.append((time.perf_counter() - start) * 1000)

    async with anyio.create_task_group() as group:
        for _ in range(n):
            group.start_soon(one)
    return latencies, failures


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(
        f"{args.requests} concurrent requests, {args.fault_rate:.0%} injected faults, "
        f"provider latency {args.latency * 1000:g} ms\n"
    )
    base = FaultyProvider(args.latency, args.fault_rate, seed=11)
    await direct(base, 50)  # warm-up
    base_cpu = time.process_time()
    base_lat, base_failed = await direct(base, args.requests)
    base_cpu = time.process_time() - base_cpu

    provider = FaultyProvider(args.latency, args.fault_rate)
    with tempfile.TemporaryDirectory() as data_dir:
        pm = make_plugin_manager()
        pm.register(ProviderPlugin(provider))
        async with Orchestrator(config(data_dir), plugin_manager=pm) as orch:
            for i in range(50):  # warm-up, not counted
                await orch.orchestrate(f"warm-up request number {i}: list the files")
            provider.calls = 0
            provider.faults.clear()
            sequential: list[float] = []
            for i in track(range(args.sequential), "sequential requests"):
                spent: list[float] = []
                provider_time.set(spent)
                start = time.perf_counter()
                await orch.orchestrate(f"One at a time {i}: summarise module {i % 97}")
                sequential.append((time.perf_counter() - start - sum(spent)) * 1000)
            provider_time.set(None)
            provider.calls = 0
            provider.faults.clear()
            results: dict[int, Any] = {}
            added: list[float] = []
            wall: list[float] = []
            escaped: list[BaseException] = []

            async def one(i: int) -> None:
                calls: list[float] = []
                provider_time.set(calls)
                start = time.perf_counter()
                try:
                    results[i] = await orch.orchestrate(
                        f"Request {i}: summarise the change log of module {i % 97}"
                    )
                except BaseException as exc:  # an accepted request must never raise
                    escaped.append(exc)
                    raise
                elapsed = time.perf_counter() - start
                wall.append(elapsed * 1000)
                added.append((elapsed - len(calls) * args.latency) * 1000)

            cpu = time.process_time()
            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for i in range(args.requests):
                    group.start_soon(one, i)
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu
            states = (await orch.metrics("5m")).circuit_breakers

    statuses = Counter(r.status for r in results.values())
    attempts = Counter(a.outcome for r in results.values() for a in r.attempts)
    lost = args.requests - len(results)
    print("orchestrated (breaker plugin, 3-model chain, 3 tries per model, window 100/50):")
    print(f"  completed {statuses['completed']}, failed {statuses['failed']}, lost {lost}")
    print(f"  exceptions escaped: {len(escaped)}")
    print(f"  provider calls {provider.calls}, faults injected {sum(provider.faults.values())}")
    print(f"    {dict(provider.faults)}")
    print(f"  attempts by outcome: {dict(attempts)}")
    print(f"  breakers at the end: {states}")
    print(f"  all done in {total:.2f} s ({args.requests / total:.0f} requests/s)")
    for result in results.values():
        if result.status == "failed":
            print(f"  failed: {result.error}")
    print(f"  end to end per request: p50 {pct(wall, 0.5):.2f} ms, p99 {pct(wall, 0.99):.2f} ms")
    print(
        f"  ADDED LATENCY per request (end to end - the provider's {args.latency * 1000:g} ms "
        f"per call made): p50 {pct(added, 0.5):.2f} ms, p99 {pct(added, 0.99):.2f} ms"
    )
    print(f"  process CPU time per request: {cpu / args.requests * 1000:.3f} ms")
    print(
        f"  one at a time ({args.sequential} requests, same faults): added latency "
        f"p50 {pct(sequential, 0.5):.3f} ms, p99 {pct(sequential, 0.99):.3f} ms"
    )
    print("\nbaseline: the provider called directly, one try each, same concurrency:")
    print(f"  failed {base_failed} of {args.requests} (no retry, no fallback)")
    print(
        f"  end to end per call: p50 {pct(base_lat, 0.5):.2f} ms, p99 {pct(base_lat, 0.99):.2f} ms"
    )
    print(f"  process CPU time per call: {base_cpu / args.requests * 1000:.3f} ms")
    if lost:
        raise SystemExit(f"LOST {lost} requests")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--latency", type=float, default=0.02, help="Provider seconds per call.")
    parser.add_argument("--sequential", type=int, default=300, help="Requests one at a time.")
    anyio.run(main, parser.parse_args())
