"""The SQLite file: one row per finished request, and the summary of a period read from it.

The table's columns are the fields of :class:`~dynamic_orchestrator.models.RequestRecord`
(lists as JSON, booleans as 0/1); a field added to the record later becomes a new column
when the file is next opened. The file is in WAL mode with a busy timeout, so several
processes write and read it at once. Every connection belongs to one thread.

A summary reads the exact sliding window ``timestamp > now - period``. Its sums are the ones
:class:`~dynamic_orchestrator.summary.Totals` adds (the tests hold the two to each other)
and its percentiles are exact: the element ``floor(q * (n - 1))`` of the sorted durations.
"""

from __future__ import annotations

import json
import math
import sqlite3
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dynamic_orchestrator.models import PERIOD_SECONDS, MetricsSummary, RequestRecord
from dynamic_orchestrator.summary import QUANTILES, Totals, summarize
from pydantic import BaseModel

TABLE = "requests"
BUSY_TIMEOUT_MS = 10_000


def _base_type(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``list[str]`` → ``list``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return _base_type(args[0]) if len(args) == 1 else object
    return typing.get_origin(annotation) or annotation


_SQL_TYPES = {bool: "INTEGER", int: "INTEGER", float: "REAL", list: "TEXT", dict: "TEXT"}
_FIELD_TYPES = {name: _base_type(f.annotation) for name, f in RequestRecord.model_fields.items()}
COLUMNS: dict[str, str] = {name: _SQL_TYPES.get(t, "TEXT") for name, t in _FIELD_TYPES.items()}
_JSON_INDEXES = tuple(i for i, t in enumerate(_FIELD_TYPES.values()) if t in (list, dict))


def _json_default(value: Any) -> Any:
    """Models inside a list field (the attempts) as their JSON data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def to_row(record: RequestRecord) -> list[Any]:
    """A record as a row of :data:`COLUMNS` (booleans bind as 0/1 by themselves)."""
    fields = record.__dict__
    row = [fields[name] for name in COLUMNS]
    for index in _JSON_INDEXES:
        row[index] = json.dumps(row[index], default=_json_default)
    return row


def connect(path: Path) -> sqlite3.Connection:
    """Open (and create or migrate) the store; the connection is for this thread only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    _migrate(conn)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns})")
    present = {row[1] for row in conn.execute(f"PRAGMA table_info({TABLE})")}
    for name, kind in COLUMNS.items():
        if name not in present:
            try:
                conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise
    conn.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_ts ON {TABLE} (timestamp, duration_ms)")


_INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"


def insert(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows in one transaction."""
    with _transaction(conn):
        conn.executemany(_INSERT, rows)


def prune(conn: sqlite3.Connection, before: float) -> int:
    """Delete rows older than ``before`` (a Unix time); the number deleted."""
    with _transaction(conn):
        return conn.execute(f"DELETE FROM {TABLE} WHERE timestamp < ?", (before,)).rowcount


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


_COMPLETED_MEASURED = "status = 'completed' AND NOT usage_estimated"
_COMPLETED_ESTIMATED = "status = 'completed' AND usage_estimated"
_TOKENS = "input_tokens + output_tokens"

# (Totals attribute, SQL aggregate): the same figures Totals.add counts.
_SUMS: tuple[tuple[str, str], ...] = (
    ("requests", "count(*)"),
    ("completed", "total(status = 'completed')"),
    ("failed", "total(status = 'failed')"),
    ("delegated", "total(status = 'delegated')"),
    ("cached", "total(cached)"),
    ("duration_ms", "total(duration_ms)"),
    ("tokens", f"total({_TOKENS})"),
    ("tokens_saved", "total(tokens_saved)"),
    ("cost_usd", "total(cost_usd)"),
    ("saved_usd", "total(saved_usd)"),
    ("unclaimed", "total(NOT saving_claimed)"),
    ("unpriced", "total(cost_usd IS NULL)"),
    ("measured_requests", f"total({_COMPLETED_MEASURED})"),
    ("measured_tokens", f"total(CASE WHEN {_COMPLETED_MEASURED} THEN {_TOKENS} END)"),
    ("measured_tokens_saved", f"total(CASE WHEN {_COMPLETED_MEASURED} THEN tokens_saved END)"),
    ("measured_cost_usd", f"total(CASE WHEN {_COMPLETED_MEASURED} THEN cost_usd END)"),
    ("measured_saved_usd", f"total(CASE WHEN {_COMPLETED_MEASURED} THEN saved_usd END)"),
    ("estimated_requests", f"total({_COMPLETED_ESTIMATED})"),
    ("estimated_tokens", f"total(CASE WHEN {_COMPLETED_ESTIMATED} THEN {_TOKENS} END)"),
    ("estimated_tokens_saved", f"total(CASE WHEN {_COMPLETED_ESTIMATED} THEN tokens_saved END)"),
    ("estimated_cost_usd", f"total(CASE WHEN {_COMPLETED_ESTIMATED} THEN cost_usd END)"),
    ("estimated_saved_usd", f"total(CASE WHEN {_COMPLETED_ESTIMATED} THEN saved_usd END)"),
)
_FLOATS = frozenset(name for name, _ in _SUMS if name.endswith(("_usd", "_ms")))


def _counts(conn: sqlite3.Connection, sql: str, since: float) -> dict[str, int]:
    return {str(key): int(count) for key, count in conn.execute(sql, (since,))}


def read_totals(conn: sqlite3.Connection, since: float) -> Totals:
    """The totals of every row newer than ``since``."""
    sql = f"SELECT {', '.join(expr for _, expr in _SUMS)} FROM {TABLE} WHERE timestamp > ?"
    values = conn.execute(sql, (since,)).fetchone()
    totals = Totals()
    for (name, _), value in zip(_SUMS, values, strict=True):
        setattr(totals, name, float(value) if name in _FLOATS else int(value))
    totals.intents = _counts(
        conn,
        f"SELECT intent, count(*) FROM {TABLE} WHERE timestamp > ? AND intent IS NOT NULL "
        "GROUP BY intent",
        since,
    )
    totals.models = _counts(
        conn,
        f"SELECT model, count(*) FROM {TABLE} WHERE timestamp > ? AND model IS NOT NULL "
        "GROUP BY model",
        since,
    )
    totals.services = _counts(
        conn,
        f"SELECT s.value, count(*) FROM {TABLE}, json_each({TABLE}.services) AS s "
        "WHERE timestamp > ? GROUP BY s.value",
        since,
    )
    return totals


def read_percentiles(
    conn: sqlite3.Connection, since: float, quantiles: Iterable[float] = QUANTILES
) -> tuple[float, ...]:
    """Exact duration percentiles of the rows newer than ``since``.

    The durations come off the covering index and are sorted here: quicker than any
    ordering SQLite offers for a range of timestamps.
    """
    durations = sorted(
        value
        for (value,) in conn.execute(
            f"SELECT duration_ms FROM {TABLE} WHERE timestamp > ?", (since,)
        )
    )
    if not durations:
        return tuple(0.0 for _ in quantiles)
    last = len(durations) - 1
    return tuple(float(durations[math.floor(q * last)]) for q in quantiles)


def read_summary(
    conn: sqlite3.Connection,
    period: str,
    now: float,
    *,
    notes: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> MetricsSummary:
    """The summary of the rows newer than ``now - period``.

    The store outlives configurations: when the period's savings were counted against more
    than one baseline model, ``extra.baseline_models`` lists them and a note says so.
    """
    since = now - PERIOD_SECONDS[period]
    notes, extra = list(notes or []), dict(extra or {})
    conn.execute("BEGIN")  # one snapshot for every query below
    try:
        totals = read_totals(conn, since)
        p50, p95, p99 = read_percentiles(conn, since)
        baselines = sorted(
            str(name)
            for (name,) in conn.execute(
                f"SELECT DISTINCT baseline_model FROM {TABLE} "
                "WHERE timestamp > ? AND baseline_model IS NOT NULL",
                (since,),
            )
        )
    finally:
        conn.execute("COMMIT")
    extra["baseline_models"] = baselines
    if len(baselines) > 1:
        notes.append(
            "savings in this period were counted against several baseline models: "
            + ", ".join(baselines)
        )
    return summarize(period, totals, (p50, p95, p99), notes=notes, extra=extra)
