"""{{ cookiecutter.description }}

A service (hook ``register_services``) whose tools run in-process: ``current_time`` and
``days_between``. The default router (the ``mcp_services`` plugin) sends a model only the
tools relevant to each request; when the model calls one, the host's tool loop calls
the service's ``call_tool`` and hands the result back to the model as
untrusted data.

A service that wraps a remote system works the same way: list its tools in
``known_tools`` (synchronous, so keep them listed ahead) and call it in ``call_tool``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import ToolSpec
from dynamic_orchestrator.services import Service
from pydantic import JsonValue

__all__ = [
    "NAME",
    "TOOLS",
    "{{ cookiecutter.class_prefix }}Service",
    "register_services",
]

NAME = "{{ cookiecutter.entry_point }}"

TOOLS = [
    ToolSpec(
        name="current_time",
        description="The current date and time in a time zone (IANA name, default UTC).",
        input_schema={
            "type": "object",
            "properties": {"timezone": {"type": "string", "description": "e.g. Europe/Paris"}},
        },
        service=NAME,
    ),
    ToolSpec(
        name="days_between",
        description="The number of days between two dates (ISO format, YYYY-MM-DD).",
        input_schema={
            "type": "object",
            "properties": {
                "start": {"type": "string", "description": "first date, YYYY-MM-DD"},
                "end": {"type": "string", "description": "second date, YYYY-MM-DD"},
            },
            "required": ["start", "end"],
        },
        service=NAME,
    ),
]


class {{ cookiecutter.class_prefix }}Service:
    """Date and time tools, answered in-process."""

    name = NAME
    capabilities: list[str] = ["read", "search", "analyze"]  # noqa: RUF012
    """The intents it serves; an empty list serves every intent."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock

    def known_tools(self) -> list[ToolSpec]:
        """The tools this service offers."""
        return list(TOOLS)

    async def call_tool(self, name: str, arguments: dict[str, JsonValue], *, timeout: float) -> str:
        """Run one tool; a bad argument is a ValueError whose message the model is shown."""
        if name == "current_time":
            zone = str(arguments.get("timezone") or "UTC")
            try:
                tz = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezone: unknown time zone {zone!r}") from None
            return self._clock().astimezone(tz).isoformat(timespec="seconds")
        if name == "days_between":
            start, end = _date(arguments, "start"), _date(arguments, "end")
            return f"{abs((end - start).days)} days"
        raise ValueError(f"unknown tool {name!r}; this service offers current_time, days_between")


def _date(arguments: dict[str, JsonValue], key: str) -> date:
    value = arguments.get(key)
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{key}: expected a date as YYYY-MM-DD, got {value!r}") from None


@hookimpl
def register_services(register: Callable[[Service], None], config: Config) -> None:
    """Register the service (once per orchestrator)."""
    register({{ cookiecutter.class_prefix }}Service())
