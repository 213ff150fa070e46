"""Logging with structlog, always to stderr (stdout belongs to the MCP stdio transport).

``LOG_LEVEL`` (default ``WARNING``) sets the level. Every event passes through a redaction
step, so a key that slipped into an event's text is masked before it is written.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from .errors import redact

_configured = False


def _redact_event(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def configure_logging(level: str | None = None, *, json: bool | None = None) -> None:
    """Set up structlog for the process; safe to call more than once."""
    global _configured
    name = (level or os.environ.get("LOG_LEVEL") or "WARNING").upper()
    numeric = logging.getLevelNamesMapping().get(name, logging.WARNING)
    use_json = json if json is not None else not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name."""
    if not _configured:
        configure_logging()
    return structlog.get_logger(component=name)
