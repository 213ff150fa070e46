"""Downstream MCP services for Dynamic Orchestrator, and sending each request only the
tools it needs.

- ``register_services``: one :class:`~.connection.McpService` per enabled entry of
  ``mcp_services`` (stdio ``command`` or streamable HTTP ``url``, ``capabilities``).
- ``startup``: connects every service in the background, lists and pins its tools;
  start-up waits at most ``startup_wait`` seconds, and a service that fails is logged and
  retried with backoff.
- ``route_services``: the services chosen by capability from the intent and the tools
  ranked by relevance to the request (:mod:`.routing`), with the reasons.
- ``shutdown``: closes every session and ends every child.

Settings live in ``plugins.mcp_services`` (:class:`~.settings.Settings`); the services
may still be listed in the seed's top-level ``mcp_services``. Each orchestrator's pool of
connections is its plugin state (``host.plugin_state``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator import hookimpl

if TYPE_CHECKING:
    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.contract import Host, PluginSettings
    from dynamic_orchestrator.models import IntentResult, Request, ServiceRoute
    from dynamic_orchestrator.services import Service

    from .connection import McpService, ServiceError
    from .names import qualified_name
    from .pool import ServicePool
    from .routing import route
    from .settings import ServiceConfig, Settings

__all__ = [
    "McpService",
    "ServiceConfig",
    "ServiceError",
    "Settings",
    "plugin_settings",
    "qualified_name",
    "register_services",
    "route",
    "route_services",
    "shutdown",
    "startup",
]

# The client stack (the ``mcp`` SDK, the stemmer) is imported only once a service is
# configured: entry-point loading and a configuration without services stay light.
_LAZY = {
    "McpService": "connection",
    "ServiceError": "connection",
    "qualified_name": "names",
    "route": "routing",
    "ServiceConfig": "settings",
    "Settings": "settings",
}
PLUGIN = "mcp_services"
"""This plugin's name: its settings (``plugins.mcp_services``) and its state."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.mcp_services``: the services, how they connect and how tools are routed."""
    from .settings import SETTINGS

    return SETTINGS


class _Pools:
    """An orchestrator's plugin state: its pool of service connections, once started."""

    pool: ServicePool | None = None


def _mcp_services(services: Sequence[Service]) -> list[McpService]:
    """This plugin's services among ``services`` (none unless one was ever registered)."""
    connection = sys.modules.get(f"{__name__}.connection")
    if connection is None:
        return []
    return [s for s in services if isinstance(s, connection.McpService)]


@hookimpl(trylast=True)
def register_services(register: Callable[[Service], None], config: Config) -> None:
    """One service per enabled ``mcp_services`` entry; nothing connects until start-up."""
    from .settings import load_settings

    settings = load_settings(config)  # checked even with no service: a typo is reported
    enabled = {name: s for name, s in settings.services.items() if s.enabled}
    if not enabled:
        return
    from .connection import McpService
    from .pins import ToolPins

    pins = ToolPins(settings.pin_file)
    for name, service in enabled.items():
        register(McpService(name, service, settings=settings, pins=pins, config=config))


@hookimpl(trylast=True)
def startup(orchestrator: Host) -> Awaitable[None] | None:
    """Connect this plugin's services in the background (bounded wait for their tools)."""
    services = _mcp_services(orchestrator.services)
    if not services:
        return None
    from .pool import ServicePool

    pool = ServicePool(services)
    orchestrator.plugin_state(PLUGIN, _Pools).pool = pool
    return pool.start(wait=services[0].settings.startup_wait)


@hookimpl(trylast=True)
def shutdown(orchestrator: Host) -> Awaitable[None] | None:
    """Close every session and end every child process."""
    state = orchestrator.plugin_state(PLUGIN, _Pools)
    pool, state.pool = state.pool, None
    return None if pool is None else pool.stop()


@hookimpl(trylast=True)
def route_services(
    request: Request, intent: IntentResult, services: list[Service]
) -> ServiceRoute | None:
    """Services by capability, tools by relevance to the request, with scores as reasons."""
    from .routing import route
    from .settings import Settings

    settings = next((s.settings for s in _mcp_services(services)), None) or Settings()
    return route(request, intent, services, settings)
