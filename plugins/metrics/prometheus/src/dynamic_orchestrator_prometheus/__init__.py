"""Prometheus metrics for Dynamic Orchestrator (extra ``prometheus``).

At ``startup`` each orchestrator gets its own :class:`PrometheusSinkPlugin` (its plugin
state, ``host.plugin_state``): a
:class:`~dynamic_orchestrator_prometheus.sink.PrometheusSink` with its own registry, whose
label values are limited to the models, providers and services that orchestrator
registered. It is scraped at ``/metrics`` on the HTTP transport
(``register_http_routes``) and, when ``plugins.prometheus.port`` (the seed's
``metrics.prometheus_port``) is set, on that port of ``host`` (for stdio deployments).
What each metric means: :mod:`dynamic_orchestrator_prometheus.sink`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import CLIENT_PROVIDER
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import RequestRecord

from .http import LIVE, MetricsEndpoint, PortServer, serve_port
from .settings import NAME, SETTINGS, PrometheusSettings

if TYPE_CHECKING:
    from dynamic_orchestrator.contract import Host

    from .sink import PrometheusSink

__all__ = [
    "MetricsEndpoint",
    "PrometheusSettings",
    "PrometheusSink",
    "PrometheusSinkPlugin",
    "plugin_settings",
    "record",
    "register_http_routes",
    "shutdown",
    "startup",
    "state",
]


def __getattr__(name: str) -> Any:
    if name == "PrometheusSink":  # prometheus_client comes with it: imported on first use
        from .sink import PrometheusSink

        return PrometheusSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ROUTE = "/metrics"

log = get_logger("metrics.prometheus")


class PrometheusSinkPlugin:
    """One orchestrator's sink, and its own port when configured."""

    def __init__(self, orchestrator: Host) -> None:
        self.config = orchestrator.config
        self._labels = {
            "models": list(orchestrator.catalog.models),
            "providers": [*orchestrator.providers, CLIENT_PROVIDER],
            "services": [service.name for service in orchestrator.services],
        }
        self._sink: PrometheusSink | None = None
        self._lock = threading.Lock()
        self.server: PortServer | None = None
        self.error: str | None = None
        settings = self.config.plugin_settings(NAME, PrometheusSettings)
        host, port = settings.host, settings.port
        if port is not None:
            try:
                self.server = serve_port(self.sink, host, port)
            except OSError as exc:
                self.error = f"cannot serve Prometheus metrics on {host}:{port}: {exc}"
                log.warning("prometheus_port_unavailable", error=self.error)
        LIVE.add(self.config, self.get_sink)

    @property
    def sink(self) -> PrometheusSink:
        """The sink, built (and ``prometheus_client`` imported) on first use: a process
        that records nothing and is never scraped does not pay for it."""
        sink = self._sink
        if sink is None:
            with self._lock:
                if self._sink is None:
                    from .sink import PrometheusSink

                    self._sink = PrometheusSink(**self._labels)
                sink = self._sink
        return sink

    def get_sink(self) -> PrometheusSink:
        """The sink (for the live list, which calls it when a scrape comes)."""
        return self.sink

    def close(self) -> None:
        """Stop serving."""
        LIVE.remove(self.get_sink)
        if self.server is not None:
            self.server.close()
            self.server = None


def state(host: Host) -> PrometheusSinkPlugin:
    """The host's sink, made on first use (labels from its catalog, its own settings)."""
    return host.plugin_state(NAME, lambda: PrometheusSinkPlugin(host))


@hookimpl(trylast=True)
def record(record: RequestRecord, host: Host | None) -> None:
    """Count a finished request (a few counter increments, no I/O)."""
    if host is not None:
        state(host).sink.add(record)


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.prometheus``: a port of its own besides ``/metrics``."""
    return SETTINGS


@hookimpl(trylast=True)
def register_http_routes(
    register: Callable[[str, Any], None], config: Config, host: Host | None
) -> None:
    """Serve ``/metrics`` on the HTTP transport, from the sink of the serving orchestrator."""
    register(ROUTE, MetricsEndpoint(host.config if host is not None else config))


@hookimpl(trylast=True)
def startup(orchestrator: Host) -> None:
    """This orchestrator's sink; open ``port`` when set."""
    state(orchestrator)


@hookimpl(trylast=True)
def shutdown(orchestrator: Host) -> None:
    """Stop serving."""
    state(orchestrator).close()
