"""From recorded requests to a :class:`~dynamic_orchestrator.models.MetricsSummary`, once.

Every metrics sink adds records into :class:`Totals` (or sums the same figures in its own
store, held to this class in tests) and calls :func:`summarize`, so each figure that a
field description of ``MetricsSummary`` defines (``success_rate``, ``avg_cost_usd``,
``cache_hit_rate``, the ``measured`` and ``estimated`` split, ...) is computed here and
nowhere else. What a saving is: :mod:`dynamic_orchestrator.savings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import PERIOD_SECONDS, BasisTotals, MetricsSummary, RequestRecord

QUANTILES = (0.5, 0.95, 0.99)


@dataclass(slots=True)
class Totals:
    """Additive totals of a set of records: add records, merge sets, summarise."""

    requests: int = 0
    completed: int = 0
    failed: int = 0
    delegated: int = 0
    cached: int = 0
    duration_ms: float = 0.0
    tokens: int = 0
    tokens_saved: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    unclaimed: int = 0
    unpriced: int = 0
    measured_requests: int = 0
    measured_tokens: int = 0
    measured_tokens_saved: int = 0
    measured_cost_usd: float = 0.0
    measured_saved_usd: float = 0.0
    estimated_requests: int = 0
    estimated_tokens: int = 0
    estimated_tokens_saved: int = 0
    estimated_cost_usd: float = 0.0
    estimated_saved_usd: float = 0.0
    intents: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)

    def add(self, record: RequestRecord) -> None:
        """Count one record."""
        self.requests += 1
        status = record.status
        tokens = record.input_tokens + record.output_tokens
        cost = record.cost_usd
        self.duration_ms += record.duration_ms
        self.tokens += tokens
        self.tokens_saved += record.tokens_saved
        self.saved_usd += record.saved_usd
        if cost is None:
            self.unpriced += 1
        else:
            self.cost_usd += cost
        if not record.saving_claimed:
            self.unclaimed += 1
        if record.cached:
            self.cached += 1
        if status == "completed":
            self.completed += 1
            if record.usage_estimated:
                self.estimated_requests += 1
                self.estimated_tokens += tokens
                self.estimated_tokens_saved += record.tokens_saved
                self.estimated_cost_usd += cost or 0.0
                self.estimated_saved_usd += record.saved_usd
            else:
                self.measured_requests += 1
                self.measured_tokens += tokens
                self.measured_tokens_saved += record.tokens_saved
                self.measured_cost_usd += cost or 0.0
                self.measured_saved_usd += record.saved_usd
        elif status == "failed":
            self.failed += 1
        else:
            self.delegated += 1
        if record.intent is not None:
            self.intents[record.intent] = self.intents.get(record.intent, 0) + 1
        if record.model is not None:
            self.models[record.model] = self.models.get(record.model, 0) + 1
        for service in record.services:
            self.services[service] = self.services.get(service, 0) + 1

    def merge(self, other: Totals) -> None:
        """Add another set's totals to this one."""
        self.requests += other.requests
        self.completed += other.completed
        self.failed += other.failed
        self.delegated += other.delegated
        self.cached += other.cached
        self.duration_ms += other.duration_ms
        self.tokens += other.tokens
        self.tokens_saved += other.tokens_saved
        self.cost_usd += other.cost_usd
        self.saved_usd += other.saved_usd
        self.unclaimed += other.unclaimed
        self.unpriced += other.unpriced
        self.measured_requests += other.measured_requests
        self.measured_tokens += other.measured_tokens
        self.measured_tokens_saved += other.measured_tokens_saved
        self.measured_cost_usd += other.measured_cost_usd
        self.measured_saved_usd += other.measured_saved_usd
        self.estimated_requests += other.estimated_requests
        self.estimated_tokens += other.estimated_tokens
        self.estimated_tokens_saved += other.estimated_tokens_saved
        self.estimated_cost_usd += other.estimated_cost_usd
        self.estimated_saved_usd += other.estimated_saved_usd
        for mine, theirs in (
            (self.intents, other.intents),
            (self.models, other.models),
            (self.services, other.services),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count

    def copy(self) -> Totals:
        """An independent copy."""
        out = Totals()
        out.merge(self)
        return out


def _ratio(numerator: float, denominator: float, digits: int) -> float:
    return round(numerator / denominator, digits) if denominator else 0.0


def _usd(value: float) -> float:
    return round(value, 8) + 0.0  # + 0.0 turns -0.0 into 0.0


def summarize(
    period: str,
    totals: Totals,
    percentiles: tuple[float, float, float] = (0.0, 0.0, 0.0),
    *,
    notes: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> MetricsSummary:
    """The summary of a period from its totals and its p50/p95/p99 durations (ms).

    :param period: ``1m``, ``5m``, ``1h`` or ``1d``.
    :param percentiles: the durations at :data:`QUANTILES`, from the sink's own store.
    """
    t = totals
    successful = t.requests - t.failed
    p50, p95, p99 = percentiles
    return MetricsSummary(
        period=period,  # type: ignore[arg-type]
        total_requests=t.requests,
        successful_requests=successful,
        failed_requests=t.failed,
        delegated_requests=t.delegated,
        success_rate=_ratio(successful, t.requests, 6),
        avg_duration_ms=_ratio(t.duration_ms, t.requests, 3),
        p50_duration_ms=round(p50, 3),
        p95_duration_ms=round(p95, 3),
        p99_duration_ms=round(p99, 3),
        total_tokens=t.tokens,
        avg_tokens=_ratio(t.tokens, t.requests, 3),
        total_tokens_saved=t.tokens_saved,
        total_cost_usd=_usd(t.cost_usd),
        avg_cost_usd=_usd(t.cost_usd / (t.requests - t.unpriced))
        if t.requests > t.unpriced
        else 0.0,
        total_saved_usd=_usd(t.saved_usd),
        requests_per_minute=_ratio(t.requests * 60, PERIOD_SECONDS[period], 6),
        intent_distribution=dict(sorted(t.intents.items())),
        model_distribution=dict(sorted(t.models.items(), key=lambda kv: (-kv[1], kv[0]))),
        service_usage=dict(sorted(t.services.items(), key=lambda kv: (-kv[1], kv[0]))),
        cache_hit_rate=_ratio(t.cached, t.completed, 6),
        measured=BasisTotals(
            requests=t.measured_requests,
            tokens=t.measured_tokens,
            tokens_saved=t.measured_tokens_saved,
            cost_usd=_usd(t.measured_cost_usd),
            saved_usd=_usd(t.measured_saved_usd),
        ),
        estimated=BasisTotals(
            requests=t.estimated_requests,
            tokens=t.estimated_tokens,
            tokens_saved=t.estimated_tokens_saved,
            cost_usd=_usd(t.estimated_cost_usd),
            saved_usd=_usd(t.estimated_saved_usd),
        ),
        unclaimed_requests=t.unclaimed,
        unpriced_requests=t.unpriced,
        notes=list(notes or []),
        extra=dict(extra or {}),
    )
