"""The default persistent metrics sink: every finished request in an SQLite file.

The file is ``metrics.sqlite3`` in ``platformdirs.user_data_dir("dynamic-orchestrator")``
unless ``metrics.path`` names another; ``metrics.persist: false`` turns the sink off.
Records are written off the event loop (:mod:`dynamic_orchestrator_sqlite.writer`) and
``dynamic-orchestrator metrics --period 1h`` reads them back, across restarts and across
processes (:mod:`dynamic_orchestrator_sqlite.store`).

At ``startup`` the plugin attaches one :class:`SQLiteSinkPlugin` to the orchestrator's
plugin manager, configured from the first orchestrator's ``metrics`` section; it answers
``metrics_summary`` with ``persistent=True``.

The store's dashboard (:mod:`dynamic_orchestrator_sqlite.dashboard`) is served at
``/dashboard`` on the HTTP transport (``register_http_routes``), with the live breaker
states of the server's orchestrator, and alone by ``dynamic-orchestrator dashboard``
(:mod:`dynamic_orchestrator_sqlite.command`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import platformdirs
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import APP_NAME, Config, MetricsConfig
from dynamic_orchestrator.models import MetricsSummary, RequestRecord

from .writer import SQLiteSink

if TYPE_CHECKING:
    import click
    from dynamic_orchestrator import Orchestrator

__all__ = [
    "SQLiteSink",
    "SQLiteSinkPlugin",
    "default_path",
    "register_commands",
    "register_http_routes",
    "shutdown",
    "startup",
]

ATTACHED_NAME = "dynamic_orchestrator_sqlite.sink"
FILE_NAME = "metrics.sqlite3"
DASHBOARD_ROUTE = "/dashboard"

# The running orchestrators by their configuration, for the dashboard's breaker states.
_LIVE: dict[int, Orchestrator] = {}


def default_path() -> Path:
    """Where the store lives when ``metrics.path`` is not set."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / FILE_NAME


def store_path(config: MetricsConfig) -> Path:
    """The store's file for a ``metrics`` section."""
    return Path(config.path).expanduser() if config.path else default_path()


class SQLiteSinkPlugin:
    """The hooks of one attached :class:`SQLiteSink` (None when ``metrics.persist`` is off)."""

    def __init__(self, config: MetricsConfig) -> None:
        self.sink = (
            SQLiteSink(
                store_path(config),
                queue_size=config.queue_size,
                retention_days=config.retention_days,
            )
            if config.persist
            else None
        )

    @hookimpl(trylast=True)
    def record(self, record: RequestRecord) -> None:
        """Enqueue a finished request for the writer thread; never blocks."""
        if self.sink is not None:
            self.sink.add(record)

    @hookimpl(trylast=True)
    def metrics_summary(self, period: str, persistent: bool) -> MetricsSummary | None:
        """The period read from the file (every process's records); None for live windows."""
        if not persistent:
            return None
        if self.sink is None:
            return MetricsSummary(
                period=period,  # type: ignore[arg-type]
                notes=["persistent metrics are off (metrics.persist: false)"],
            )
        return self.sink.summary(period)


def live_breakers(config: Config) -> Callable[[], dict[str, str] | None]:
    """The breaker states of the orchestrator running with ``config``, when one is."""

    def states() -> dict[str, str] | None:
        orchestrator = _LIVE.get(id(config))
        return None if orchestrator is None else orchestrator.hooks.circuit_states()

    return states


@hookimpl(trylast=True)
def register_http_routes(register: Callable[[str, Any], None], config: Config) -> None:
    """Serve the store's dashboard at ``/dashboard`` on the HTTP transport."""
    from .dashboard import dashboard_app

    if config.metrics.persist:
        register(
            DASHBOARD_ROUTE,
            dashboard_app(
                store_path(config.metrics),
                breakers=live_breakers(config),
                retention_days=config.metrics.retention_days,
            ),
        )


@hookimpl(trylast=True)
def register_commands(register: Callable[[click.Command], None]) -> None:
    """``dynamic-orchestrator dashboard``: the store's dashboard, without the MCP server."""
    from .command import dashboard

    register(dashboard)


@hookimpl(trylast=True)
def startup(orchestrator: Orchestrator) -> Awaitable[None] | None:
    """Attach this manager's sink and open its file in a worker thread."""
    _LIVE[id(orchestrator.config)] = orchestrator
    plugin: SQLiteSinkPlugin = orchestrator.pm.attach(
        ATTACHED_NAME, lambda: SQLiteSinkPlugin(orchestrator.config.metrics), owner=orchestrator
    )
    if plugin.sink is None:
        return None
    return anyio.to_thread.run_sync(plugin.sink.start)


@hookimpl(trylast=True)
def shutdown(orchestrator: Orchestrator) -> Awaitable[None] | None:
    """Write what is queued and stop the writer when the manager's last orchestrator closes."""
    if _LIVE.get(id(orchestrator.config)) is orchestrator:
        del _LIVE[id(orchestrator.config)]
    plugin = orchestrator.pm.detach(ATTACHED_NAME, owner=orchestrator)
    if not isinstance(plugin, SQLiteSinkPlugin) or plugin.sink is None:
        return None
    return anyio.to_thread.run_sync(plugin.sink.close)
