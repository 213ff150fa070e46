"""Time of one routing decision: ``Orchestrator.analyze`` in process, default plugins.

    uv run python benchmarks/analyze_latency.py [--requests 20000]

Builds varied requests from the labelled sets (prefixes, suffixes, casing, context of
several sizes), runs each through ``analyze`` (validation, classify, score, route, select,
the analysis result) and prints p50/p90/p99/max microseconds per decision and the peak
traced memory of a second pass, and the mean CPU time per decision (steadier than wall
time on a busy machine), with the machine's load average before and after. Targets: p50 at
most 100 µs and p99 at most 300 µs, also on a loaded machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import time
import tracemalloc
from pathlib import Path

import anyio
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import Config

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "requests" / "train"
PREFIXES = ["", "", "please ", "Could you ", "hey, ", "I need you to ", "Quick one: ", "team: "]
SUFFIXES = ["", "", " asap", " thanks!", "?", " (see the ticket)", " — keep it short", "."]
CONTEXTS: list[dict[str, object]] = [
    {},
    {"framework": "FastAPI"},
    {"file": "src/app/handlers.py", "language": "python"},
    {"error": "KeyError: 'user_id' at line 42", "service": "billing"},
    {"source": "def f(x):\n    return x * 2\n" * 40, "ci": "green"},
]


def build_requests(count: int, seed: int = 7) -> list[tuple[str, dict[str, object]]]:
    base = [
        json.loads(line)["request"]
        for path in sorted(DATA.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = rng.choice(PREFIXES) + rng.choice(base) + rng.choice(SUFFIXES)
        if rng.random() < 0.1:
            text = text.lower()
        if rng.random() < 0.05:
            text = " ".join([text] * rng.randint(2, 5))
        out.append((text, rng.choice(CONTEXTS)))
    return out


async def measure(count: int) -> None:
    requests = build_requests(count)
    load_before = os.getloadavg()
    async with Orchestrator(Config()) as orch:
        for text, context in requests[:200]:  # warm caches and lazy loads
            await orch.analyze(text, context)
        gc.collect()
        timings = []
        cpu_start = time.process_time()
        for text, context in requests:
            start = time.perf_counter_ns()
            await orch.analyze(text, context)
            timings.append((time.perf_counter_ns() - start) / 1000)
        cpu_per_decision = (time.process_time() - cpu_start) / count * 1e6
        tracemalloc.start()
        for text, context in requests:
            await orch.analyze(text, context)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    timings.sort()
    q = statistics.quantiles(timings, n=100)
    print(f"analyze: {count} varied requests, default plugins, in process")
    print(f"  load average before: {' '.join(f'{x:.2f}' for x in load_before)}")
    print(f"  p50 {q[49]:8.1f} µs   (target <= 100 µs: {'met' if q[49] <= 100 else 'NOT met'})")
    print(f"  p90 {q[89]:8.1f} µs")
    print(f"  p99 {q[98]:8.1f} µs   (target <= 300 µs: {'met' if q[98] <= 300 else 'NOT met'})")
    print(f"  max {timings[-1]:8.1f} µs")
    print(f"  CPU time per decision (mean): {cpu_per_decision:.1f} µs")
    print(f"  peak traced memory during {count} decisions: {peak / 1e6:.2f} MB")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    anyio.run(measure, args.requests)


if __name__ == "__main__":
    main()
