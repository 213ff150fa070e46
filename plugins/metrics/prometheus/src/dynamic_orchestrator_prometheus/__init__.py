"""Prometheus metrics for Dynamic Orchestrator (extra ``prometheus``).

At ``startup`` the plugin attaches one :class:`PrometheusSinkPlugin` to the orchestrator's
plugin manager: a :class:`~dynamic_orchestrator_prometheus.sink.PrometheusSink` with its
own registry, whose label values are limited to the models, providers and services that
orchestrator registered. It is scraped at ``/metrics`` on the HTTP transport
(``register_http_routes``) and, when ``metrics.prometheus_port`` is set, on that port of
``metrics.prometheus_host`` (for stdio deployments). What each metric means:
:mod:`dynamic_orchestrator_prometheus.sink`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import CLIENT_PROVIDER
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import RequestRecord

from .http import LIVE, MetricsEndpoint, PortServer, serve_port
from .sink import PrometheusSink

if TYPE_CHECKING:
    from dynamic_orchestrator import Orchestrator

__all__ = [
    "MetricsEndpoint",
    "PrometheusSink",
    "PrometheusSinkPlugin",
    "register_http_routes",
    "shutdown",
    "startup",
]

ATTACHED_NAME = "dynamic_orchestrator_prometheus.sink"
ROUTE = "/metrics"

log = get_logger("metrics.prometheus")


class PrometheusSinkPlugin:
    """The hooks of one attached sink, and its own port when configured."""

    def __init__(self, orchestrator: Orchestrator) -> None:
        self.config = orchestrator.config
        self.sink = PrometheusSink(
            models=orchestrator.catalog.models,
            providers=[*orchestrator.providers, CLIENT_PROVIDER],
            services=[service.name for service in orchestrator.services],
        )
        self.server: PortServer | None = None
        self.error: str | None = None
        host, port = self.config.metrics.prometheus_host, self.config.metrics.prometheus_port
        if port is not None:
            try:
                self.server = serve_port(self.sink, host, port)
            except OSError as exc:
                self.error = f"cannot serve Prometheus metrics on {host}:{port}: {exc}"
                log.warning("prometheus_port_unavailable", error=self.error)
        LIVE.add(self.config, self.sink)

    def close(self) -> None:
        """Stop serving."""
        LIVE.remove(self.sink)
        if self.server is not None:
            self.server.close()
            self.server = None

    @hookimpl(trylast=True)
    def record(self, record: RequestRecord) -> None:
        """Count a finished request (a few counter increments, no I/O)."""
        self.sink.add(record)


@hookimpl(trylast=True)
def register_http_routes(register: Callable[[str, Any], None], config: Config) -> None:
    """Serve ``/metrics`` on the HTTP transport, from the sink started with ``config``."""
    register(ROUTE, MetricsEndpoint(config))


@hookimpl(trylast=True)
def startup(orchestrator: Orchestrator) -> None:
    """Attach this manager's sink; open ``metrics.prometheus_port`` when set."""
    orchestrator.pm.attach(
        ATTACHED_NAME, lambda: PrometheusSinkPlugin(orchestrator), owner=orchestrator
    )


@hookimpl(trylast=True)
def shutdown(orchestrator: Orchestrator) -> None:
    """Stop serving when the manager's last orchestrator closes."""
    plugin = orchestrator.pm.detach(ATTACHED_NAME, owner=orchestrator)
    if isinstance(plugin, PrometheusSinkPlugin):
        plugin.close()
