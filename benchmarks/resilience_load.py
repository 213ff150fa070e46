"""Resilience under real fault patterns: official SDK, real HTTP, the installed plugins.

    uv run python benchmarks/resilience_load.py                      # every pattern
    uv run python benchmarks/resilience_load.py --pattern paced burst
    uv run python benchmarks/resilience_load.py --pattern paced --breaker legacy   # window 20/5
    uv run python benchmarks/resilience_load.py --breaker time   # the last 30 s, from 50 calls

Each pattern sends ``--requests`` (1,000) ``orchestrate`` calls through one
:class:`~dynamic_orchestrator.Orchestrator` with every installed plugin (the breaker plugin
among them) to the fake provider server (:mod:`dynamic_orchestrator_testing.fake_server`),
which the official ``openai`` SDK reaches over HTTP on 127.0.0.1. The chain is
``gpt-4o-mini`` then ``gpt-5-nano``; retries are immediate (``retry.initial_wait: 0``).
Faults are a seeded random queue per model: each call fails with probability
``--fault-rate`` (30%), drawn from 500, 503, 529 (overloaded) and 429 without Retry-After.

Patterns:

- ``paced``: ``--rate`` requests per second (40), 30% faults on both models;
- ``burst``: every request at once, 30% faults on both models;
- ``dead-primary``: ``gpt-4o-mini`` answers 500 to every call, ``gpt-5-nano`` has 30%
  faults, paced at 50/s; the dead model's calls are counted;
- ``redis``: the burst with Redis (``--redis``, the machine's, under a unique key prefix)
  and a daily budget: the shared budget must equal what the answers say was spent, and
  the process must never fall back to local state;
- ``redis-restart``: paced with a ``redis-server`` of its own on a free port, killed a
  third of the way in and started again at two thirds: nothing may be lost.

Before the timed requests the orchestrator is warmed as ``serve`` warms it (SDK clients
built, one analysis run, no provider call). Printed per pattern (measured in this run):
completed / failed / **lost** (accepted but never answered: must be 0), provider calls per
model, breaker states at the end, how many times shared state went local, the Redis
calls answered by local state (and how many of them timed out while the event loop was
late, which does not put the process on local state), and the machine's load average,
which says how busy the shared machine was while it ran. Exit status 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import anyio
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.providers import warm_providers
from dynamic_orchestrator_testing import fake_server as fs

PRIMARY, FALLBACK = "gpt-4o-mini", "gpt-5-nano"
PATTERNS = ("paced", "burst", "dead-primary", "redis", "redis-restart")
BREAKERS: dict[str, dict[str, Any]] = {
    "default": {},
    "legacy": {"window_size": 20, "minimum_calls": 5, "consecutive_failures": 0},
    "time": {"window_type": "time", "window_duration": 30},
    "off": {"enabled": False},
}


@dataclass
class Outcome:
    pattern: str
    completed: int = 0
    failed: int = 0
    lost: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    states: dict[str, str] = field(default_factory=dict)
    went_local: int = 0
    local_calls: int = 0
    late_loop_timeouts: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def faults(rng: random.Random, n: int, rate: float) -> list[fs.Fault]:
    """``n`` scripted steps: each a fault with probability ``rate``, else an answer."""
    kinds = [
        lambda: fs.server_error(500),
        lambda: fs.server_error(503),
        fs.overloaded,
        fs.rate_limit,
    ]
    return [rng.choice(kinds)() if rng.random() < rate else fs.reply("ok") for _ in range(n)]


def _serve(conn: Connection) -> None:
    """The child process: a fake provider server driven over ``conn``."""
    with fs.FakeProviderServer() as srv:
        conn.send(srv.openai_base_url)
        while True:
            method, args, kwargs = conn.recv()
            if method == "stop":
                return
            if method == "calls":
                conn.send(Counter(r.model for r in srv.requests))
                continue
            getattr(srv, method)(*args, **kwargs)
            conn.send(None)


class ProviderProcess:
    """The fake provider server in a process of its own, as a real provider is.

    In the benchmark's process, its thread would contend for the GIL with the
    orchestrator's event loop: under a burst the loop then stalls for seconds, calls time
    out on the client side without the provider being slow, and the breaker counts the
    harness's stalls as provider faults.
    """

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self._proc.start()
        self.openai_base_url: str = self._conn.recv()

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self._conn.send((method, args, kwargs))
        return self._conn.recv()

    def reset(self) -> None:
        self._call("reset")

    def set_latency(self, seconds: float) -> None:
        self._call("set_latency", seconds)

    def script(self, provider: str, *steps: fs.Fault, model: str | None = None) -> None:
        self._call("script", provider, *steps, model=model)

    def calls(self) -> Counter[str]:
        """Requests the server received, per model."""
        result: Counter[str] = self._call("calls")
        return result

    def close(self) -> None:
        self._conn.send(("stop", (), {}))
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()


def make_config(srv: ProviderProcess, args: argparse.Namespace, **extra: Any) -> Any:
    tier = {"preferred": PRIMARY, "fallback": [FALLBACK]}
    data: dict[str, Any] = {
        "use_claude_code": False,
        "providers": {
            "openai": {
                "base_url": srv.openai_base_url,
                "timeout": 10,
                "max_concurrent": args.max_concurrent,
            }
        },
        "execution": {"simple": tier, "moderate": tier, "complex": tier},
        "retry": {"attempts": 3, "initial_wait": 0, "max_wait": 0, "max_retry_after": 1},
        "circuit_breaker": BREAKERS[args.breaker],
        "metrics": {"persist": False},
    }
    data.update(extra)
    return parse_config(data, "benchmark")


def redis_spent(url: str, prefix: str) -> float:
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        keys = list(client.scan_iter(f"{prefix}budget:*"))
        total = sum(float(client.get(k) or 0) for k in keys)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        return total
    finally:
        client.close()


async def run_pattern(
    pattern: str, srv: ProviderProcess, args: argparse.Namespace, redis_url: str | None
) -> Outcome:
    out = Outcome(pattern)
    srv.reset()
    srv.set_latency(args.latency)
    rng = random.Random(args.seed)
    n = args.requests
    budget_prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    if pattern == "dead-primary":
        srv.script("openai", *[fs.server_error(500)] * (n * 4), model=PRIMARY)
    else:
        srv.script("openai", *faults(rng, n * 4, args.fault_rate), model=PRIMARY)
    srv.script("openai", *faults(rng, n * 4, args.fault_rate), model=FALLBACK)
    extra: dict[str, Any] = {}
    own: subprocess.Popen[bytes] | None = None
    port = 0
    if pattern in ("redis", "redis-restart"):
        if pattern == "redis-restart":
            port, own = start_redis()
            redis_url = f"redis://127.0.0.1:{port}/0"
        extra["redis"] = {"url": redis_url, "key_prefix": budget_prefix}
        extra["budget"] = {"period": "1d", "limit_usd": 1_000_000}
    rate = args.rate if pattern != "dead-primary" else args.dead_rate
    paced = pattern in ("paced", "dead-primary", "redis-restart")
    config = make_config(srv, args, **extra)
    results: dict[int, Any] = {}
    escaped: list[str] = []
    try:
        async with Orchestrator(config) as orch:
            from dynamic_orchestrator_breaker import state as resilience

            state = resilience(orch)
            # As `serve` does at start-up: SDK clients built, the analysis stages loaded,
            # so the timed requests do not queue behind first-call imports.
            await warm_providers(orch.providers)
            await orch.analyze("Warm up: summarise the change log of module 0")

            async def one(i: int) -> None:
                try:
                    results[i] = await orch.orchestrate(
                        f"Request {i}: summarise the change log of module {i % 97}"
                    )
                except Exception as exc:  # an accepted request must never raise
                    escaped.append(f"{type(exc).__name__}: {exc}")

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for i in range(n):
                    if paced:
                        await anyio.sleep(max(0.0, started + i / rate - time.perf_counter()))
                    if own is not None and i == n // 3:
                        own.kill()
                        own.wait()
                        out.notes.append(f"redis-server killed at request {i}")
                    if pattern == "redis-restart" and i == 2 * n // 3:
                        port, own = start_redis(port)
                        out.notes.append(f"redis-server restarted at request {i}")
                    group.start_soon(one, i)
            out.seconds = time.perf_counter() - started
            out.states = (await orch.metrics("5m")).circuit_breakers
            if state is not None:
                out.went_local = getattr(state.shared, "degradations", 0)
                out.local_calls = getattr(state.shared, "local_calls", 0)
                out.late_loop_timeouts = getattr(state.shared, "late_loop_timeouts", 0)
    finally:
        if own is not None:
            own.kill()
            own.wait()
    statuses = Counter(r.status for r in results.values())
    out.completed, out.failed = statuses["completed"], statuses["failed"]
    out.lost = n - len(results)
    out.calls = srv.calls()
    for error in Counter(escaped).most_common(3):
        out.notes.append(f"escaped: {error}")
    tries = Counter(
        _kind_of(a.error or "")
        for r in results.values()
        for a in (r.attempts or [])
        if a.outcome == "error"
    )
    out.notes.append(f"failed tries: {dict(tries.most_common())}")
    reasons = Counter((r.error or "")[:100] for r in results.values() if r.status == "failed")
    for reason, count in reasons.most_common(3):
        out.notes.append(f"failed x{count}: {reason}")
    if pattern == "redis" and redis_url:
        spent = sum((r.cost_usd or 0.0) for r in results.values())
        shared = redis_spent(redis_url, budget_prefix)
        ratio = shared / spent if spent else float("nan")
        out.notes.append(f"budget: answers spent ${spent:.6f}, Redis holds ${shared:.6f}")
        out.notes.append(f"budget ratio shared/spent {ratio:.4f}")
        if not 0.99 <= ratio <= 1.01:
            out.misses.append(f"shared budget {ratio:.4f}x of spend (target within 1%)")
        if out.went_local:
            out.misses.append(f"went local {out.went_local} time(s) while Redis was healthy")
    if out.lost:
        out.misses.append(f"{out.lost} lost")
    complete = out.completed / n
    if pattern in ("paced", "burst", "dead-primary") and complete < 0.97:
        out.misses.append(f"{complete:.1%} complete (target 97%)")
    if pattern == "dead-primary":
        per_1000 = out.calls[PRIMARY] * 1000 / n
        if per_1000 > 50:
            out.misses.append(f"dead model called {per_1000:.0f} times per 1,000 (target 50)")
    return out


def _kind_of(error: str) -> str:
    """A failed try's kind, as the fault it was: an injected HTTP status, or a timeout."""
    if "timed out" in error:
        return "client timeout"
    for status in ("500", "503", "529", "429"):
        if f"HTTP {status}" in error:
            return f"HTTP {status}"
    return error[:40]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int = 0) -> tuple[int, subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH (needed by the redis-restart pattern)")
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port, proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit(f"redis-server did not start on port {port}")


def report(out: Outcome, n: int) -> None:
    print(f"[{out.pattern}] {n} requests in {out.seconds:.1f} s")
    print(f"  completed {out.completed}, failed {out.failed}, lost {out.lost}")
    print(f"  provider calls: {dict(out.calls)}")
    print(f"  breakers at the end: {out.states}")
    print(f"  shared state went local: {out.went_local} time(s)")
    if out.local_calls or out.late_loop_timeouts:
        print(
            f"  Redis calls answered by local state: {out.local_calls}, of which "
            f"{out.late_loop_timeouts} timed out while the event loop was late"
        )
    for note in out.notes:
        print(f"  {note}")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for miss in out.misses:
        print(f"  MISSED: {miss}")


async def main(args: argparse.Namespace) -> int:
    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-real-key")
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="do-bench-")
    print(
        f"{os.cpu_count()} CPUs; breaker settings: {args.breaker}; {args.fault_rate:.0%} "
        f"faults; provider latency {args.latency * 1000:g} ms\n"
    )
    missed = 0
    srv = await anyio.to_thread.run_sync(ProviderProcess)
    try:
        for pattern in args.pattern:
            out = await run_pattern(pattern, srv, args, args.redis)
            report(out, args.requests)
            missed += len(out.misses)
            print()
    finally:
        srv.close()
    return 1 if missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pattern", nargs="+", choices=PATTERNS, default=list(PATTERNS))
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--rate", type=float, default=40.0, help="Requests/s when paced.")
    parser.add_argument("--dead-rate", type=float, default=50.0, help="Requests/s, dead primary.")
    parser.add_argument("--latency", type=float, default=0.02, help="Provider seconds per call.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-concurrent", type=int, default=25, help="providers.openai.max_concurrent."
    )
    parser.add_argument("--breaker", choices=tuple(BREAKERS), default="default")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    raise SystemExit(anyio.run(main, parser.parse_args()))
