"""Services: downstream MCP servers whose tools a request may need (contract).

A services plugin registers :class:`Service` objects through ``register_services`` and
routes each request to the few it needs through ``route_services``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pydantic import JsonValue

    from ._models import ToolSpec


@runtime_checkable
class Service(Protocol):
    """What ``register_services`` registers."""

    name: str
    capabilities: list[str]

    def known_tools(self) -> list[ToolSpec]:
        """The tools last listed from this service (empty until it was first listed)."""
        ...

    async def call_tool(self, name: str, arguments: dict[str, JsonValue], *, timeout: float) -> str:
        """Call one tool and return its result as text (untrusted data)."""
        ...
