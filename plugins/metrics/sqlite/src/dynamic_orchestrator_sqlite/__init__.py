"""The default persistent metrics sink: every finished request in an SQLite file.

The file is ``metrics.sqlite3`` in ``platformdirs.user_data_dir("dynamic-orchestrator")``
unless ``plugins.sqlite.path`` (or the seed's ``metrics.path``) names another;
``persist: false`` turns the sink off (:mod:`.settings`).
Records are written off the event loop (:mod:`dynamic_orchestrator_sqlite.writer`) and
``dynamic-orchestrator metrics --period 1h`` reads them back, across restarts and across
processes (:mod:`dynamic_orchestrator_sqlite.store`).

Each orchestrator has its own :class:`SQLiteSinkPlugin` (its plugin state,
``host.plugin_state``), made from that orchestrator's settings at ``startup``; it answers
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
from dynamic_orchestrator.config import APP_NAME, Config
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.models import MetricsSummary, RequestRecord

from .settings import NAME, SETTINGS, SQLiteSettings
from .writer import SQLiteSink

if TYPE_CHECKING:
    import click
    from dynamic_orchestrator import Orchestrator
    from dynamic_orchestrator.contract import Host

__all__ = [
    "SQLiteSettings",
    "SQLiteSink",
    "SQLiteSinkPlugin",
    "default_path",
    "metrics_summary",
    "plugin_settings",
    "record",
    "register_commands",
    "register_http_routes",
    "shutdown",
    "startup",
    "state",
]

FILE_NAME = "metrics.sqlite3"
DASHBOARD_ROUTE = "/dashboard"


def default_path() -> Path:
    """Where the store lives when ``path`` is not set."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / FILE_NAME


def settings_of(config: Config) -> SQLiteSettings:
    """This plugin's settings in ``config``."""
    return config.plugin_settings(NAME, SQLiteSettings)


def store_path(config: SQLiteSettings) -> Path:
    """The store's file under these settings."""
    return Path(config.path).expanduser() if config.path else default_path()


class SQLiteSinkPlugin:
    """One orchestrator's :class:`SQLiteSink` (None when ``persist`` is off)."""

    def __init__(self, config: SQLiteSettings) -> None:
        self.sink = (
            SQLiteSink(
                store_path(config),
                queue_size=config.queue_size,
                retention_days=config.retention_days,
            )
            if config.persist
            else None
        )

    def summary(self, period: str) -> MetricsSummary:
        """The period read from the file (every process's records)."""
        if self.sink is None:
            return MetricsSummary(
                period=period,  # type: ignore[arg-type]
                notes=["persistent metrics are off (plugins.sqlite.persist: false)"],
            )
        return self.sink.summary(period)


def state(host: Host) -> SQLiteSinkPlugin:
    """The host's sink, made from its settings on first use."""
    config = host.config
    return host.plugin_state(NAME, lambda: SQLiteSinkPlugin(settings_of(config)))


@hookimpl(trylast=True)
def record(record: RequestRecord, host: Host | None) -> None:
    """Enqueue a finished request for the writer thread; never blocks."""
    sink = None if host is None else state(host).sink
    if sink is not None:
        sink.add(record)


@hookimpl(trylast=True)
def metrics_summary(period: str, persistent: bool, host: Host | None) -> MetricsSummary | None:
    """The period read from the file (every process's records); None for live windows."""
    if not persistent or host is None:
        return None
    return state(host).summary(period)


def live_breakers(host: Orchestrator | None) -> Callable[[], dict[str, str] | None]:
    """The breaker states of the orchestrator serving the routes, when there is one."""

    def states() -> dict[str, str] | None:
        return None if host is None else host.hooks.circuit_states()

    return states


@hookimpl(trylast=True)
def register_http_routes(
    register: Callable[[str, Any], None], config: Config, host: Orchestrator | None
) -> None:
    """Serve the store's dashboard at ``/dashboard`` on the HTTP transport."""
    from .dashboard import dashboard_app

    settings = settings_of(config)
    if settings.persist:
        register(
            DASHBOARD_ROUTE,
            dashboard_app(
                store_path(settings),
                breakers=live_breakers(host),
                retention_days=settings.retention_days,
            ),
        )


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.sqlite``: whether and where records persist."""
    return SETTINGS


@hookimpl(trylast=True)
def register_commands(register: Callable[[click.Command], None]) -> None:
    """``dynamic-orchestrator dashboard``: the store's dashboard, without the MCP server."""
    from .command import dashboard

    register(dashboard)


@hookimpl(trylast=True)
def startup(orchestrator: Host) -> Awaitable[None] | None:
    """Open this orchestrator's file in a worker thread."""
    sink = state(orchestrator).sink
    return None if sink is None else anyio.to_thread.run_sync(sink.start)


@hookimpl(trylast=True)
def shutdown(orchestrator: Host) -> Awaitable[None] | None:
    """Write what is queued and stop the writer."""
    sink = state(orchestrator).sink
    return None if sink is None else anyio.to_thread.run_sync(sink.close)
