"""Metrics sinks under load: memory of the live windows, get_metrics time, SQLite writes/s.

    uv run python benchmarks/metrics_sinks.py                 # 1,000,000 requests
    uv run python benchmarks/metrics_sinks.py --records 200000 --sqlite-records 100000

1. **In-memory sink.** One million synthetic requests, timestamps spread evenly over the
   last 24 hours (so every bucket of every window fills), are recorded one by one through
   the host's ``record`` hook into an orchestrator with the in-memory sink. Printed: the
   growth of what the sink holds (``pympler.asizeof`` of the sink before and after), the
   time of one ``record`` call, and the time of ``get_metrics`` (``orch.metrics``) for
   each period, as of the last request: *warm* (the closed buckets are cached: the usual
   case) and *cold* (the cache rebuilt, as after a bucket tick). The medians are the
   figures to hold against the target; a maximum also holds any pause the machine's
   scheduler imposed (the load average is printed first).
2. **SQLite sink.** Requests are recorded as fast as the writer keeps up with the default
   queue (the producer pauses when the queue is 80% full, so nothing is dropped); printed
   is the sustained rate from the first ``record`` to the last commit.

Every figure is measured on this machine; targets: memory growth < 20 MB, get_metrics
< 5 ms, SQLite >= 20,000 records/s.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import dynamic_orchestrator_memory
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import INTENTS, PERIOD_SECONDS, TIERS, RequestRecord
from dynamic_orchestrator.plugins import make_plugin_manager
from dynamic_orchestrator_sqlite import SQLiteSettings, SQLiteSink
from pympler.asizeof import asizeof

MODELS = ["gemini-2.5-flash-lite", "gpt-5-nano", "gpt-5-mini", "claude-haiku-4-5", "gpt-5.1"]
SERVICES = ["git", "filesystem", "time", "search"]
MB = 1024 * 1024


def synthetic_records(count: int, now: float, seed: int = 0) -> Iterator[RequestRecord]:
    """``count`` plausible finished requests, in time order over the 24 h before ``now``."""
    rng = random.Random(seed)
    defaults = RequestRecord(timestamp=0, request_id="", status="completed", duration_ms=0)
    base = defaults.model_dump()
    templates = []
    for _ in range(1000):
        status = rng.choices(["completed", "delegated", "failed"], [90, 7, 3])[0]
        completed = status == "completed"
        measured = completed and rng.random() < 0.8
        cost = rng.uniform(0.00001, 0.01) if completed else 0.0
        templates.append(
            {
                **base,
                "status": status,
                "intent": rng.choice(INTENTS),
                "complexity": rng.choice(TIERS),
                "model": rng.choice(MODELS),
                "provider": "openai",
                "input_tokens": rng.randint(50, 4000) if completed else 0,
                "output_tokens": rng.randint(20, 2000) if completed else 0,
                "usage_estimated": not measured,
                "cost_usd": cost,
                "baseline_cost_usd": cost * 4,
                "tokens_saved": rng.randint(0, 3000) if completed else 0,
                "saved_usd": cost * 3,
                "saving_claimed": completed,
                "cached": completed and rng.random() < 0.1,
                "services": rng.sample(SERVICES, rng.randint(0, 2)),
                "attempts": 1,
            }
        )
    start = now - 86_400
    step = 86_400 / count
    for i in range(count):
        fields = templates[i % 1000]
        yield RequestRecord.model_construct(
            **{
                **fields,
                "timestamp": start + i * step,
                "request_id": f"r{i}",
                "duration_ms": rng.lognormvariate(6.5, 1.0),  # median ~ 665 ms
            }
        )


async def _orchestrator() -> Orchestrator:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(dynamic_orchestrator_memory, name="memory")
    return await Orchestrator(Config(), plugin_manager=pm).initialize()


async def memory_sink(count: int) -> None:
    orch = await _orchestrator()
    sink = dynamic_orchestrator_memory.sink_of(orch)
    records = synthetic_records(count, time.time())
    first = next(records)  # builds the generator's templates before the baseline
    gc.collect()
    held_before = asizeof(sink)
    spent = 0.0
    for record in itertools.chain([first], records):
        started = time.perf_counter()
        orch.hooks.record(record)
        spent += time.perf_counter() - started
    last = record.timestamp
    sink.clock = lambda: last + 0.001  # query as of the last request, not minutes on
    del first, record
    gc.collect()
    held = asizeof(sink) - held_before
    print(f"in-memory sink: {count:,} requests over the last 24 h, recorded through the host")
    print(
        f"  memory growth              {held / MB:8.2f} MB   (target: under 20 MB; every "
        "object the sink holds, by pympler.asizeof)"
    )
    print(f"  record() through the host  {spent / count * 1e6:8.1f} µs per request (mean)")
    worst = 0.0
    for period in PERIOD_SECONDS:
        window = sink.windows[period]
        warm, cold = [], []
        summary = await orch.metrics(period)
        for _ in range(200):
            t = time.perf_counter()
            await orch.metrics(period)
            warm.append((time.perf_counter() - t) * 1000)
        for _ in range(50):
            window._closed_at = None  # as after a bucket tick: rebuild the closed part
            t = time.perf_counter()
            await orch.metrics(period)
            cold.append((time.perf_counter() - t) * 1000)
        worst = max(worst, statistics.median(cold))
        print(
            f"  get_metrics {period:>2}: {summary.total_requests:>9,} requests  "
            f"warm median {statistics.median(warm):6.3f} ms (max {max(warm):6.3f}); "
            f"cold median {statistics.median(cold):6.3f} ms (max {max(cold):6.3f})"
        )
    await orch.close()
    print(f"  get_metrics, slowest median {worst:7.3f} ms   (target: under 5 ms)")


def sqlite_sink(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "metrics.sqlite3"
        queue_size = SQLiteSettings().queue_size
        sink = SQLiteSink(path, queue_size=queue_size)
        sink.start()
        records = list(synthetic_records(count, time.time(), seed=2))
        high_water = int(queue_size * 0.8)
        started = time.perf_counter()
        enqueue = 0.0
        for record in records:
            while len(sink.pending) >= high_water:
                time.sleep(0.0005)
            t = time.perf_counter()
            sink.add(record)
            enqueue += time.perf_counter() - t
        sink.flush(timeout=600)
        elapsed = time.perf_counter() - started
        t = time.perf_counter()
        summary = sink.summary("1d")
        read_ms = (time.perf_counter() - t) * 1000
        sink.close()
        size = path.stat().st_size
    rate = count / elapsed
    print(f"sqlite sink: {count:,} requests, default queue ({queue_size:,}), WAL, one file")
    print(f"  sustained writes           {rate:8,.0f} records/s   (target: at least 20,000)")
    print(f"  written / dropped          {sink.written:,} / {sink.dropped:,}")
    print(f"  record() (enqueue only)    {enqueue / count * 1e6:8.2f} µs per request (mean)")
    print(
        f"  'metrics --period 1d' read {read_ms:8.0f} ms for {summary.total_requests:,} rows "
        f"({size / MB:.0f} MB file)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--sqlite-records", type=int, default=300_000)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load}, "
        f"Python {platform.python_version()}; every figure below is measured here"
    )
    anyio.run(memory_sink, args.records)
    sqlite_sink(args.sqlite_records)


if __name__ == "__main__":
    main()
