"""The dashboard's figures, read from the SQLite store for one period.

The period's summary is the store's own (:func:`dynamic_orchestrator_sqlite.store.read_totals`
and :func:`~dynamic_orchestrator_sqlite.store.read_percentiles` through
:func:`dynamic_orchestrator.summary.summarize`), so every figure equals what
``dynamic-orchestrator metrics --json`` prints for the same period. ``30d`` is the
dashboard's own period (beyond ``get_metrics``'s); its summary is computed the same way,
with the request rate over 30 days. Beside the summary: requests, cost and saving per
time bucket, the breaker refusals seen in the requests' attempts, and the last failures.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from dynamic_orchestrator.models import MetricsSummary
from dynamic_orchestrator.summary import summarize

from .. import store

# period → (seconds, bucket seconds, label of a bucket)
PERIODS: dict[str, tuple[int, int, str]] = {
    "1h": (3_600, 60, "minute"),
    "1d": (86_400, 1_800, "30 minutes"),
    "30d": (30 * 86_400, 86_400, "day"),
}


@dataclass(frozen=True)
class Bucket:
    """One slice of the period: requests, failures, cost and saving in it."""

    start: float
    requests: int
    failed: int
    cost_usd: float
    saved_usd: float


@dataclass(frozen=True)
class Refusal:
    """The last time a model's breaker refused a call, and why."""

    model: str
    timestamp: float
    reason: str
    refusals: int


@dataclass(frozen=True)
class Failure:
    """A failed request: when, what it was, which models were tried, why it failed."""

    timestamp: float
    request_id: str
    intent: str | None
    tier: str | None
    error_kind: str | None
    error: str | None
    models: list[str]


@dataclass
class Figures:
    """Everything one dashboard page shows."""

    period: str
    now: float
    summary: MetricsSummary
    buckets: list[Bucket]
    bucket_label: str
    refusals: list[Refusal]
    failures: list[Failure]
    errors_by_model: dict[str, int] = field(default_factory=dict)
    breaker_states: dict[str, str] | None = None
    """Live breaker states when the page is served by a running server; else None."""


def read_summary(conn: sqlite3.Connection, period: str, now: float) -> MetricsSummary:
    """The period's summary, as ``metrics --json`` computes it (``30d`` included)."""
    if period != "30d":
        return store.read_summary(conn, period, now, extra={"sink": "sqlite"})
    seconds = PERIODS[period][0]
    since = now - seconds
    conn.execute("BEGIN")
    try:
        totals = store.read_totals(conn, since)
        p50, p95, p99 = store.read_percentiles(conn, since)
        baselines = sorted(
            str(name)
            for (name,) in conn.execute(
                f"SELECT DISTINCT baseline_model FROM {store.TABLE} "
                "WHERE timestamp > ? AND baseline_model IS NOT NULL",
                (since,),
            )
        )
    finally:
        conn.execute("COMMIT")
    extra = {"sink": "sqlite", "baseline_models": baselines}
    summary = summarize("1d", totals, (p50, p95, p99), extra=extra)
    # summarize knows get_metrics's periods only: restate the rate over 30 days.
    rate = round(totals.requests * 60 / seconds, 6) if seconds else 0.0
    return summary.model_copy(update={"period": period, "requests_per_minute": rate})


def read_buckets(conn: sqlite3.Connection, period: str, now: float) -> list[Bucket]:
    """Every bucket of the period, oldest first, empty ones included."""
    seconds, width, _ = PERIODS[period]
    since = now - seconds
    count = seconds // width
    rows = conn.execute(
        f"SELECT CAST((timestamp - ?) / ? AS INTEGER) AS b, count(*), "
        "total(status = 'failed'), total(cost_usd), total(saved_usd) "
        f"FROM {store.TABLE} WHERE timestamp > ? GROUP BY b",
        (since, width, since),
    )
    found = {int(b): (int(n), int(f), float(c), float(s)) for b, n, f, c, s in rows}
    out = []
    for index in range(count):
        n, f, c, s = found.get(index, (0, 0, 0.0, 0.0))
        out.append(Bucket(since + index * width, n, f, c, s))
    return out


_ATTEMPTS = f"{store.TABLE}, json_each({store.TABLE}.attempt_log) AS a"


def read_refusals(conn: sqlite3.Connection, since: float) -> list[Refusal]:
    """Per model, the breaker's last refusal in the period and how many there were."""
    rows = conn.execute(
        "SELECT json_extract(a.value, '$.model') AS model, max(timestamp), count(*) "
        f"FROM {_ATTEMPTS} WHERE timestamp > ? "
        "AND json_extract(a.value, '$.outcome') = 'skipped' "
        "AND json_extract(a.value, '$.error') LIKE '%circuit %' GROUP BY model",
        (since,),
    ).fetchall()
    out = []
    for model, last, count in rows:
        (error,) = conn.execute(
            f"SELECT json_extract(a.value, '$.error') FROM {_ATTEMPTS} "
            "WHERE timestamp = ? AND json_extract(a.value, '$.model') = ? "
            "AND json_extract(a.value, '$.error') LIKE '%circuit %' LIMIT 1",
            (last, model),
        ).fetchone()
        text = str(error or "")
        reason = text[text.index("circuit ") :] if "circuit " in text else text
        out.append(Refusal(str(model), float(last), reason, int(count)))
    return sorted(out, key=lambda r: -r.timestamp)


def read_errors_by_model(conn: sqlite3.Connection, since: float) -> dict[str, int]:
    """Failed calls per model in the period (attempts with outcome ``error``)."""
    rows = conn.execute(
        "SELECT json_extract(a.value, '$.model'), count(*) "
        f"FROM {_ATTEMPTS} WHERE timestamp > ? "
        "AND json_extract(a.value, '$.outcome') = 'error' GROUP BY 1 ORDER BY 2 DESC",
        (since,),
    )
    return {str(model): int(count) for model, count in rows}


def read_failures(conn: sqlite3.Connection, since: float, limit: int = 10) -> list[Failure]:
    """The period's last failed requests, newest first."""
    rows = conn.execute(
        "SELECT timestamp, request_id, intent, tier, error_kind, error, attempt_log "
        f"FROM {store.TABLE} WHERE timestamp > ? AND status = 'failed' "
        "ORDER BY timestamp DESC LIMIT ?",
        (since, limit),
    )
    out = []
    for timestamp, request_id, intent, tier, kind, error, attempts in rows:
        models: list[str] = []
        for attempt in json.loads(attempts or "[]"):
            if isinstance(attempt, dict) and attempt.get("model") not in models:
                models.append(str(attempt.get("model")))
        out.append(Failure(float(timestamp), request_id, intent, tier, kind, error, models))
    return out


def read_figures(
    conn: sqlite3.Connection,
    period: str,
    now: float,
    *,
    breaker_states: dict[str, str] | None = None,
) -> Figures:
    """Every figure of the page for ``period`` (``1h``, ``1d`` or ``30d``) ending ``now``."""
    if period not in PERIODS:
        raise ValueError(f"period: expected one of {', '.join(PERIODS)}, got {period!r}")
    since = now - PERIODS[period][0]
    summary = read_summary(conn, period, now)
    return Figures(
        period=period,
        now=now,
        summary=summary,
        buckets=read_buckets(conn, period, now),
        bucket_label=PERIODS[period][2],
        refusals=read_refusals(conn, since),
        failures=read_failures(conn, since),
        errors_by_model=read_errors_by_model(conn, since),
        breaker_states=breaker_states,
    )


def as_json(figures: Figures) -> dict[str, Any]:
    """The figures as JSON data (the page's ``?format=json``)."""
    return {
        "period": figures.period,
        "now": figures.now,
        "summary": figures.summary.model_dump(mode="json"),
        "bucket": figures.bucket_label,
        "buckets": [b.__dict__ for b in figures.buckets],
        "breaker_refusals": [r.__dict__ for r in figures.refusals],
        "breaker_states": figures.breaker_states,
        "errors_by_model": figures.errors_by_model,
        "failures": [f.__dict__ for f in figures.failures],
    }
