"""The dashboard: the SQLite store's history as one page per period, offline.

:func:`dashboard_app` is an ASGI app factory: the HTTP transport mounts it at
``/dashboard`` beside ``/mcp`` (behind the same guard and token), a gateway can mount it
too, and ``dynamic-orchestrator dashboard`` serves it alone for a local store.
``GET`` answers the page (``?period=1h|1d|30d``) or, with ``?format=json``, its figures.
The store is read in a worker thread, one short read-only connection per page.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio

from .figures import PERIODS, Figures, as_json, read_figures
from .page import render

__all__ = ["PERIODS", "DashboardApp", "Figures", "dashboard_app", "read_figures", "render"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _open(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise FileNotFoundError(f"no metrics store at {path}: nothing was recorded there yet")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


class DashboardApp:
    """ASGI app: the dashboard of the store at ``path``.

    :param path: the SQLite file (``metrics.path``).
    :param period: the period shown without ``?period=``.
    :param breakers: returns the live breaker states (model → state), or None when no
        server runs in this process.
    :param retention_days: ``metrics.retention_days``: older records are deleted, which
        a longer period's page says.
    :param clock: the time the periods end at.
    """

    def __init__(
        self,
        path: Path,
        *,
        period: str = "1d",
        breakers: Callable[[], dict[str, str] | None] | None = None,
        retention_days: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if period not in PERIODS:
            raise ValueError(f"period: expected one of {', '.join(PERIODS)}, got {period!r}")
        self.path = path
        self.period = period
        self.breakers = breakers
        self.retention_days = retention_days
        self.clock = clock

    def figures(self, period: str) -> Figures:
        """The figures of a period, read now (blocking: call it off the event loop)."""
        states = self.breakers() if self.breakers is not None else None
        conn = _open(self.path)
        try:
            figures = read_figures(conn, period, self.clock(), breaker_states=states)
        finally:
            conn.close()
        days = self.retention_days
        if days is not None and PERIODS[period][0] > days * 86_400:
            figures.summary.notes.append(
                f"records older than {days:g} days are deleted (metrics.retention_days): "
                f"this {period} page shows {days:g} days at most"
            )
        return figures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _reply(send, 405, "text/plain", "method not allowed: use GET\n")
            return
        from urllib.parse import parse_qs

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        period = query.get("period", [self.period])[0]
        if period not in PERIODS:
            message = f"period: expected one of {', '.join(PERIODS)}, got {period!r}\n"
            await _reply(send, 400, "text/plain", message)
            return
        try:
            figures = await anyio.to_thread.run_sync(self.figures, period)
        except (OSError, sqlite3.Error) as exc:
            await _reply(send, 503, "text/plain", f"metrics store unavailable: {exc}\n")
            return
        if query.get("format", [""])[0] == "json":
            await _reply(send, 200, "application/json", json.dumps(as_json(figures)))
            return
        await _reply(send, 200, "text/html; charset=utf-8", render(figures))


async def _reply(send: Send, status: int, content_type: str, body: str) -> None:
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
                (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def dashboard_app(
    path: Path,
    *,
    period: str = "1d",
    breakers: Callable[[], dict[str, str] | None] | None = None,
    retention_days: float | None = None,
) -> DashboardApp:
    """The dashboard of the store at ``path`` as an ASGI app (mount it anywhere)."""
    return DashboardApp(path, period=period, breakers=breakers, retention_days=retention_days)
