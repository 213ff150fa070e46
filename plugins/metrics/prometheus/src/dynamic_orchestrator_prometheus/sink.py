"""Prometheus metrics of finished requests, in a registry of their own.

Names follow the Prometheus conventions (``dynamic_orchestrator_`` prefix, base units,
``_total`` counters). Label values come only from closed sets: the statuses, intents and
tiers of the contract, and the model, provider and service names this orchestrator
registered; any other value (a model name a provider made up, say) becomes ``other``.
So a label never carries request text or a secret, and series stay few.

========================================================  =========  ============================
metric                                                    type       labels
========================================================  =========  ============================
``dynamic_orchestrator_requests_total``                   counter    status, intent, tier, model
``dynamic_orchestrator_request_duration_seconds``         histogram  status
``dynamic_orchestrator_tokens_total``                     counter    direction, basis, model
``dynamic_orchestrator_cost_usd_total``                   counter    basis, model
``dynamic_orchestrator_saved_usd``                        gauge      basis
``dynamic_orchestrator_tokens_saved``                     gauge      basis
``dynamic_orchestrator_unclaimed_requests_total``         counter
``dynamic_orchestrator_unpriced_requests_total``          counter
``dynamic_orchestrator_cache_hits_total``                 counter    model
``dynamic_orchestrator_service_requests_total``           counter    service
========================================================  =========  ============================

``basis`` is ``measured`` (the provider reported the usage) or ``estimated``; tokens and
cost are counted for completed requests. Savings are defined in
:mod:`dynamic_orchestrator.savings`; they are signed (a request dearer than the baseline
saves a negative amount), so they are gauges: the running sum since the process started.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dynamic_orchestrator.models import RequestRecord
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "dynamic_orchestrator"
OTHER = "other"
NONE = "none"
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
    120.0,
    300.0,
)


class PrometheusSink:
    """Counters, gauges and a latency histogram fed by ``record``. Thread-safe."""

    def __init__(
        self,
        *,
        models: Iterable[str] = (),
        providers: Iterable[str] = (),
        services: Iterable[str] = (),
    ) -> None:
        self.models = frozenset(models)
        self.providers = frozenset(providers)
        self.services = frozenset(services)
        self.registry = CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Finished requests.",
            ["status", "intent", "tier", "model"],
            registry=r,
        )
        self.duration = Histogram(
            f"{PREFIX}_request_duration",
            "Time from accepting a request to its result.",
            ["status"],
            unit="seconds",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            f"{PREFIX}_tokens",
            "Tokens of completed requests, by direction and by whether the provider "
            "reported them (measured) or they were estimated.",
            ["direction", "basis", "model"],
            registry=r,
        )
        self.cost = Counter(
            f"{PREFIX}_cost",
            "Cost of completed requests with a known price.",
            ["basis", "model"],
            unit="usd",
            registry=r,
        )
        self.saved = Gauge(
            f"{PREFIX}_saved",
            "Running sum of claimed savings against the baseline model (signed; the "
            "baseline is an estimate, basis is the actual cost's).",
            ["basis"],
            unit="usd",
            registry=r,
        )
        self.tokens_saved = Gauge(
            f"{PREFIX}_tokens_saved",
            "Running sum of input tokens saved against the unoptimized request (signed).",
            ["basis"],
            registry=r,
        )
        self.unclaimed = Counter(
            f"{PREFIX}_unclaimed_requests",
            "Requests claiming no dollar saving (failed, delegated, client's model, unpriced).",
            registry=r,
        )
        self.unpriced = Counter(
            f"{PREFIX}_unpriced_requests", "Requests whose cost is unknown here.", registry=r
        )
        self.cache_hits = Counter(
            f"{PREFIX}_cache_hits", "Requests answered from the cache.", ["model"], registry=r
        )
        self.service_requests = Counter(
            f"{PREFIX}_service_requests",
            "Requests routed to each downstream service.",
            ["service"],
            registry=r,
        )

    def _child(self, metric: Any, *labels: str) -> Any:
        """The metric's child for these label values, looked up once (``labels()`` checks
        and locks on every call; the label sets here are few and bounded)."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def _model(self, name: str | None) -> str:
        if name is None:
            return NONE
        return name if name in self.models else OTHER

    def add(self, record: RequestRecord) -> None:
        """Count one finished request."""
        status = record.status
        model = self._model(record.model)
        intent, level = record.intent or NONE, record.complexity or NONE
        self._child(self.requests, status, intent, level, model).inc()
        self._child(self.duration, status).observe(record.duration_ms / 1000)
        if status == "completed":
            basis = "estimated" if record.usage_estimated else "measured"
            self._child(self.tokens, "input", basis, model).inc(record.input_tokens)
            self._child(self.tokens, "output", basis, model).inc(record.output_tokens)
            if record.cost_usd is not None:
                self._child(self.cost, basis, model).inc(record.cost_usd)
            self._child(self.tokens_saved, basis).inc(record.tokens_saved)
            if record.saving_claimed:
                self._child(self.saved, basis).inc(record.saved_usd)
        if not record.saving_claimed:
            self.unclaimed.inc()
        if record.cost_usd is None:
            self.unpriced.inc()
        if record.cached:
            self._child(self.cache_hits, model).inc()
        for service in record.services:
            label = service if service in self.services else OTHER
            self._child(self.service_requests, label).inc()
