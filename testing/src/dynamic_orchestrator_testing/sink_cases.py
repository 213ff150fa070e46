"""Known records and the summary every metrics sink must give for them, worked out by hand.

A sink's tests feed :data:`KNOWN_RECORDS` with the clock at :data:`NOW` and check each
period with :func:`check_summary`: every field of the ``get_metrics`` contract must match
:data:`EXPECTED` exactly, and the percentiles must be within the sink's stated relative
error of :data:`EXACT_PERCENTILES` (the sorted durations' element ``floor(q * (n - 1))``).

:data:`T0` is a multiple of 86 400 s, so every bucket boundary of every window falls on
it, and no record sits within a second of a window's edge: a sink with exact sliding
windows and one with 1/60-period buckets must agree. Which records each window holds:
``1m`` r1–r3, ``5m`` r1–r5, ``1h`` r1–r6, ``1d`` r1–r7; r8 is older than a day.
"""

from __future__ import annotations

from typing import Any

from dynamic_orchestrator.models import MetricsSummary, RequestRecord

T0 = 999_993_600.0
NOW = T0 + 0.5


def _record(n: int, offset: float, **fields: Any) -> RequestRecord:
    return RequestRecord(timestamp=T0 + offset, request_id=f"known-{n}", **fields)


KNOWN_RECORDS: list[RequestRecord] = [
    _record(
        1, 0, status="completed", intent="read", complexity="simple", model="small-model",
        provider="echo", duration_ms=100.0, input_tokens=100, output_tokens=50,
        usage_estimated=False, cost_usd=0.25, tokens_saved=400, saved_usd=0.5,
        saving_claimed=True, services=["git"],
    ),
    _record(
        2, -30, status="completed", intent="write", complexity="moderate", model="small-model",
        provider="echo", duration_ms=200.0, input_tokens=200, output_tokens=100,
        usage_estimated=True, cost_usd=0.125, tokens_saved=100, saved_usd=0.25,
        saving_claimed=True, cached=True, services=["git", "fs"],
    ),
    _record(
        3, -59, status="failed", intent="analyze", complexity="complex", duration_ms=300.0,
        cost_usd=0.0, error_kind="server",
    ),
    _record(
        4, -61, status="delegated", intent="search", complexity="simple", model="plan-model",
        provider="client", duration_ms=400.0, cost_usd=0.0,
    ),
    _record(
        5, -200, status="completed", intent="read", complexity="complex", model="big-model",
        provider="echo", duration_ms=1000.0, input_tokens=1000, output_tokens=500,
        usage_estimated=False, cost_usd=None, tokens_saved=50, services=["fs"],
    ),
    _record(
        6, -1800, status="completed", intent="manage", complexity="complex", model="big-model",
        provider="echo", duration_ms=2000.0, input_tokens=3000, output_tokens=1000,
        usage_estimated=True, cost_usd=1.0, tokens_saved=-10, saved_usd=-0.5,
        saving_claimed=True,
    ),
    _record(
        7, -40_000, status="failed", intent="write", complexity="moderate",
        model="small-model", duration_ms=5000.0,
    ),
    _record(
        8, -90_000, status="completed", intent="read", complexity="simple",
        model="small-model", duration_ms=50.0, input_tokens=10, output_tokens=10,
        usage_estimated=False, cost_usd=0.5, tokens_saved=5, saved_usd=0.5, saving_claimed=True,
    ),
]  # fmt: skip


def _basis(requests: int, tokens: int, saved: int, cost: float, saved_usd: float) -> dict[str, Any]:
    return {
        "requests": requests,
        "tokens": tokens,
        "tokens_saved": saved,
        "cost_usd": cost,
        "saved_usd": saved_usd,
    }


_MEASURED_1M = _basis(1, 150, 400, 0.25, 0.5)  # r1
_MEASURED = _basis(2, 1650, 450, 0.25, 0.5)  # r1, r5 (unpriced: no cost, no saving)
_ESTIMATED_5M = _basis(1, 300, 100, 0.125, 0.25)  # r2
_ESTIMATED = _basis(2, 4300, 90, 1.125, -0.25)  # r2, r6

EXPECTED: dict[str, dict[str, Any]] = {
    "1m": {
        "total_requests": 3, "successful_requests": 2, "failed_requests": 1,
        "delegated_requests": 0, "success_rate": 0.666667, "avg_duration_ms": 200.0,
        "total_tokens": 450, "avg_tokens": 150.0, "total_tokens_saved": 500,
        "total_cost_usd": 0.375, "avg_cost_usd": 0.125, "total_saved_usd": 0.75,
        "requests_per_minute": 3.0,
        "intent_distribution": {"read": 1, "write": 1, "analyze": 1},
        "model_distribution": {"small-model": 2},
        "service_usage": {"git": 2, "fs": 1},
        "cache_hit_rate": 0.5,
        "measured": _MEASURED_1M, "estimated": _ESTIMATED_5M,
        "unclaimed_requests": 1, "unpriced_requests": 0,
    },
    "5m": {
        "total_requests": 5, "successful_requests": 4, "failed_requests": 1,
        "delegated_requests": 1, "success_rate": 0.8, "avg_duration_ms": 400.0,
        "total_tokens": 1950, "avg_tokens": 390.0, "total_tokens_saved": 550,
        "total_cost_usd": 0.375, "avg_cost_usd": 0.09375, "total_saved_usd": 0.75,
        "requests_per_minute": 1.0,
        "intent_distribution": {"read": 2, "write": 1, "analyze": 1, "search": 1},
        "model_distribution": {"small-model": 2, "big-model": 1, "plan-model": 1},
        "service_usage": {"git": 2, "fs": 2},
        "cache_hit_rate": 0.333333,
        "measured": _MEASURED, "estimated": _ESTIMATED_5M,
        "unclaimed_requests": 3, "unpriced_requests": 1,
    },
    "1h": {
        "total_requests": 6, "successful_requests": 5, "failed_requests": 1,
        "delegated_requests": 1, "success_rate": 0.833333, "avg_duration_ms": 666.667,
        "total_tokens": 5950, "avg_tokens": 991.667, "total_tokens_saved": 540,
        "total_cost_usd": 1.375, "avg_cost_usd": 0.275, "total_saved_usd": 0.25,
        "requests_per_minute": 0.1,
        "intent_distribution": {"read": 2, "write": 1, "analyze": 1, "search": 1, "manage": 1},
        "model_distribution": {"small-model": 2, "big-model": 2, "plan-model": 1},
        "service_usage": {"git": 2, "fs": 2},
        "cache_hit_rate": 0.25,
        "measured": _MEASURED, "estimated": _ESTIMATED,
        "unclaimed_requests": 3, "unpriced_requests": 1,
    },
    "1d": {
        "total_requests": 7, "successful_requests": 5, "failed_requests": 2,
        "delegated_requests": 1, "success_rate": 0.714286, "avg_duration_ms": 1285.714,
        "total_tokens": 5950, "avg_tokens": 850.0, "total_tokens_saved": 540,
        "total_cost_usd": 1.375, "avg_cost_usd": 0.22916667, "total_saved_usd": 0.25,
        "requests_per_minute": 0.004861,
        "intent_distribution": {"read": 2, "write": 2, "analyze": 1, "search": 1, "manage": 1},
        "model_distribution": {"small-model": 3, "big-model": 2, "plan-model": 1},
        "service_usage": {"git": 2, "fs": 2},
        "cache_hit_rate": 0.25,
        "measured": _MEASURED, "estimated": _ESTIMATED,
        "unclaimed_requests": 4, "unpriced_requests": 1,
    },
}  # fmt: skip

# p50, p95, p99 of each window's durations, exactly.
EXACT_PERCENTILES: dict[str, tuple[float, float, float]] = {
    "1m": (200.0, 200.0, 200.0),  # [100, 200, 300]
    "5m": (300.0, 400.0, 400.0),  # [100, 200, 300, 400, 1000]
    "1h": (300.0, 1000.0, 1000.0),  # [100, 200, 300, 400, 1000, 2000]
    "1d": (400.0, 2000.0, 2000.0),  # [100, 200, 300, 400, 1000, 2000, 5000]
}

# Filled by the host (circuit_breakers, baseline_model) or free-form per sink.
NOT_FROM_SINKS = frozenset({"period", "circuit_breakers", "baseline_model", "notes", "extra"})
PERCENTILE_FIELDS = ("p50_duration_ms", "p95_duration_ms", "p99_duration_ms")


def check_summary(summary: MetricsSummary, relative_error: float = 0.0) -> None:
    """Assert that ``summary`` is the expected one for its period, field by field.

    :param relative_error: the sink's percentile guarantee (0 for exact percentiles).
    """
    period = summary.period
    data = summary.model_dump(mode="json")
    expected = EXPECTED[period]
    covered = set(expected) | set(PERCENTILE_FIELDS) | NOT_FROM_SINKS
    assert covered == set(MetricsSummary.model_fields), (
        f"fields without an expected value: {set(MetricsSummary.model_fields) - covered}"
    )
    for name, value in expected.items():
        assert data[name] == value, f"{period} {name}: got {data[name]!r}, expected {value!r}"
    for name, exact in zip(PERCENTILE_FIELDS, EXACT_PERCENTILES[period], strict=True):
        got = data[name]
        assert abs(got - exact) <= relative_error * exact, (
            f"{period} {name}: got {got}, exact {exact}, allowed relative error {relative_error}"
        )
