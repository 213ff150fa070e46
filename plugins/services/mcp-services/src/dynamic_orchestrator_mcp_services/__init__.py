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

Settings live in ``plugins.settings.mcp_services`` (:class:`~.settings.Settings`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import IntentResult, Request, ServiceRoute
from dynamic_orchestrator.services import Service

from .connection import McpService, ServiceError, qualified_name
from .pins import ToolPins
from .pool import ServicePool
from .routing import route
from .settings import Settings, load_settings

if TYPE_CHECKING:
    from dynamic_orchestrator import Orchestrator

__all__ = [
    "McpService",
    "ServiceError",
    "Settings",
    "qualified_name",
    "register_services",
    "route",
    "route_services",
    "shutdown",
    "startup",
]

_pools: WeakKeyDictionary[object, ServicePool] = WeakKeyDictionary()


@hookimpl(trylast=True)
def register_services(register: Callable[[Service], None], config: Config) -> None:
    """One service per enabled ``mcp_services`` entry; nothing connects until start-up."""
    settings = load_settings(config)
    pins = ToolPins(settings.pin_file)
    for name, service in config.mcp_services.items():
        if service.enabled:
            register(McpService(name, service, settings=settings, pins=pins, config=config))


@hookimpl(trylast=True)
def startup(orchestrator: Orchestrator) -> Awaitable[None] | None:
    """Connect this plugin's services in the background (bounded wait for their tools)."""
    services = [s for s in orchestrator.services if isinstance(s, McpService)]
    if not services:
        return None
    pool = ServicePool(services)
    _pools[orchestrator] = pool
    return pool.start(wait=services[0].settings.startup_wait)


@hookimpl(trylast=True)
def shutdown(orchestrator: Orchestrator) -> Awaitable[None] | None:
    """Close every session and end every child process."""
    pool = _pools.pop(orchestrator, None)
    return None if pool is None else pool.stop()


@hookimpl(trylast=True)
def route_services(
    request: Request, intent: IntentResult, services: list[Service]
) -> ServiceRoute | None:
    """Services by capability, tools by relevance to the request, with scores as reasons."""
    settings = next((s.settings for s in services if isinstance(s, McpService)), None) or Settings()
    return route(request, intent, services, settings)
