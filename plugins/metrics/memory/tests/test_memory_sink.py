"""The in-memory sink: every field of every window, percentiles within DDSketch's error."""

from __future__ import annotations

import math
import random
import threading
from typing import Any

import dynamic_orchestrator_memory
import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import ModelInfo, PriceTiers
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import PERIOD_SECONDS, RequestRecord
from dynamic_orchestrator_memory import BUCKETS, RELATIVE_ACCURACY, MemorySink
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_testing.sink_cases import KNOWN_RECORDS, NOW, T0, check_summary
from hypothesis import given, settings
from hypothesis import strategies as st


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def _record(timestamp: float, duration_ms: float = 10.0, **fields: Any) -> RequestRecord:
    return RequestRecord(
        timestamp=timestamp, request_id="r", status="completed", duration_ms=duration_ms, **fields
    )


@pytest.mark.parametrize("period", list(PERIOD_SECONDS))
def test_every_field_of_every_window(period: str) -> None:
    sink = MemorySink(clock=Clock(NOW))
    for record in KNOWN_RECORDS:
        sink.add(record)
    check_summary(sink.summary(period), relative_error=RELATIVE_ACCURACY)


def test_records_arriving_out_of_order_count_the_same() -> None:
    sink = MemorySink(clock=Clock(NOW))
    shuffled = KNOWN_RECORDS[:]
    random.Random(7).shuffle(shuffled)
    for record in shuffled:
        sink.add(record)
    for period in PERIOD_SECONDS:
        check_summary(sink.summary(period), relative_error=RELATIVE_ACCURACY)


def test_a_late_record_reaches_a_window_already_queried() -> None:
    clock = Clock(T0 + 0.5)
    sink = MemorySink(clock=clock)
    for offset in (120, 200, 280):
        sink.add(_record(T0 - offset, duration_ms=5.0))
    assert sink.summary("5m").total_requests == 3  # caches the closed buckets and blocks
    sink.add(_record(T0 - 100, duration_ms=7.0))  # lands in a closed bucket...
    sink.add(_record(T0 - 201, duration_ms=7.0))  # ...and one in another cached block
    summary = sink.summary("5m")
    assert summary.total_requests == 5
    assert summary.avg_duration_ms == 5.8


def test_windows_roll_and_forget() -> None:
    clock = Clock(T0 + 0.5)
    sink = MemorySink(clock=clock)
    sink.add(_record(T0))
    clock.now = T0 + 59.5  # the 1m window still holds the bucket of T0
    assert sink.summary("1m").total_requests == 1
    clock.now = T0 + 60.5  # now it is out
    assert sink.summary("1m").total_requests == 0
    assert sink.summary("5m").total_requests == 1
    clock.now = T0 + 86_400.5
    assert all(sink.summary(p).total_requests == 0 for p in PERIOD_SECONDS)
    empty = sink.summary("1d")
    assert (empty.p50_duration_ms, empty.success_rate, empty.avg_cost_usd) == (0.0, 0.0, 0.0)


def test_memory_is_bounded_by_buckets_not_by_requests() -> None:
    clock = Clock(T0)
    sink = MemorySink(clock=clock)
    stamps = [T0 - 3 * 86_400 + i * 300 for i in range(3 * 86_400 // 300)]  # three days
    for i, stamp in enumerate(stamps):
        sink.add(_record(stamp, duration_ms=1.0 + i))
    for window in sink.windows.values():
        live = [b for b in window._ring if b is not None]
        assert len(window._ring) == BUCKETS and len(live) <= BUCKETS
        assert len({b.index for b in live}) == len(live)
    # At T0 (a bucket boundary) the day's window is the 59 closed buckets of 24 minutes.
    oldest = T0 - (BUCKETS - 1) * 1440
    assert sink.summary("1d").total_requests == sum(1 for s in stamps if s >= oldest) == 283


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e11)),  # 1 ns to 3 years
        min_size=1,
        max_size=400,
    )
)
def test_percentiles_are_within_the_stated_relative_error(durations: list[float]) -> None:
    sink = MemorySink(clock=Clock(T0 + 0.5))
    for i, duration in enumerate(durations):
        sink.add(_record(T0 - (i % 50), duration_ms=duration))
    summary = sink.summary("1m")
    for q, got in zip(
        (0.5, 0.95, 0.99),
        (summary.p50_duration_ms, summary.p95_duration_ms, summary.p99_duration_ms),
        strict=True,
    ):
        exact = exact_quantile(durations, q)
        # DDSketch's bound, plus the summary's rounding to 0.001 ms
        assert abs(got - exact) <= RELATIVE_ACCURACY * exact + 0.0005, (q, got, exact)


def test_percentiles_of_a_heavy_tailed_day() -> None:
    rng = random.Random(1)
    clock = Clock(T0 + 0.5)
    sink = MemorySink(clock=clock)
    durations = [rng.lognormvariate(6.0, 1.2) for _ in range(20_000)]
    for i, duration in enumerate(durations):
        sink.add(_record(T0 - (i * 4.3) % 84_000, duration_ms=duration))
    summary = sink.summary("1d")
    assert summary.total_requests == len(durations)
    for q, got in ((0.5, summary.p50_duration_ms), (0.99, summary.p99_duration_ms)):
        exact = exact_quantile(durations, q)
        assert abs(got - exact) <= RELATIVE_ACCURACY * exact + 0.0005


def test_concurrent_writers_lose_nothing() -> None:
    sink = MemorySink(clock=Clock(T0 + 0.5))

    def write() -> None:
        for i in range(2_000):
            sink.add(_record(T0 - i % 30, cost_usd=0.5))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = sink.summary("1m")
    assert summary.total_requests == 8_000
    assert summary.total_cost_usd == 4_000.0


# --- as a plugin ---------------------------------------------------------------------------


def _priced_echo(name: str = "gemini") -> object:
    echo = EchoProvider(name)

    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(echo)

        @hookimpl
        def register_models(self, register: Any) -> None:
            register(
                ModelInfo(
                    name="echo-model",
                    provider=name,
                    tiers=("simple", "moderate", "complex"),
                    input_price=PriceTiers(1.0),
                    output_price=PriceTiers(2.0),
                    context_window=100_000,
                )
            )

    return Plugin()


async def test_get_metrics_counts_what_the_orchestrator_ran(make_orchestrator: Any) -> None:
    config = Config.model_validate(
        {"execution": {t: {"preferred": "echo-model"} for t in ("simple", "moderate", "complex")}}
    )
    orch = await make_orchestrator(config, plugins=(dynamic_orchestrator_memory, _priced_echo()))
    results = [
        await orch.orchestrate("Where is the JWT secret loaded from?"),
        await orch.orchestrate("Write a function that parses ISO dates"),
        await orch.orchestrate("show me the readme", options={"execute": False}),
    ]
    summary = await orch.metrics("1m")
    assert [r.status for r in results] == ["completed", "completed", "delegated"]
    assert summary.total_requests == 3
    assert (summary.successful_requests, summary.delegated_requests) == (3, 1)
    assert summary.estimated.requests == 0 and summary.measured.requests == 2
    assert summary.measured.tokens == sum(
        r.usage.input_tokens + r.usage.output_tokens for r in results[:2]
    )
    assert summary.total_cost_usd == pytest.approx(sum(r.cost_usd or 0 for r in results))
    assert summary.total_saved_usd == pytest.approx(sum(r.saved_usd or 0 for r in results))
    assert summary.unclaimed_requests == 1  # the delegated plan claims nothing
    assert summary.model_distribution["echo-model"] == 3
    assert summary.baseline_model == config.effective_baseline_model
    assert summary.extra["sink"] == "memory"
    assert (await orch.metrics("1m", persistent=True)).total_requests == 0  # not this sink's


async def test_each_plugin_manager_has_its_own_windows() -> None:
    from dynamic_orchestrator import Orchestrator
    from dynamic_orchestrator.plugins import make_plugin_manager

    async def run(n: int) -> Orchestrator:
        pm = make_plugin_manager(load_entrypoints=False)
        pm.register(dynamic_orchestrator_memory, name="memory")
        orch = await Orchestrator(Config(), plugin_manager=pm).initialize()
        for _ in range(n):
            await orch.orchestrate("show me the readme", options={"execute": False})
        return orch

    first, second = await run(2), await run(5)
    try:
        assert (await first.metrics("1m")).total_requests == 2
        assert (await second.metrics("1m")).total_requests == 5
    finally:
        await first.close()
        await second.close()
    assert first.pm.get_plugin(dynamic_orchestrator_memory.ATTACHED_NAME) is None


async def test_orchestrators_on_one_manager_share_its_sink_until_the_last_closes(
    make_orchestrator: Any,
) -> None:
    first = await make_orchestrator(plugins=(dynamic_orchestrator_memory,))
    second = await make_orchestrator()
    await first.orchestrate("show me the readme", options={"execute": False})
    await second.orchestrate("show me the readme", options={"execute": False})
    assert (await first.metrics("1m")).total_requests == 2
    await first.close()
    assert (await second.metrics("1m")).total_requests == 2  # still attached for second
    await second.close()
    assert first.pm.get_plugin(dynamic_orchestrator_memory.ATTACHED_NAME) is None
