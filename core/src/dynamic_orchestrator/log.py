"""Logging with structlog, always to stderr (stdout belongs to the MCP stdio transport).

``LOG_LEVEL`` (default ``WARNING``) sets the level. Every event passes through a redaction
step, so a key that slipped into an event's text is masked before it is written.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

_configured = False
_level: int | None = None
ROUTE_STDLIB = False
"""Whether logging, when it configures itself, also routes the standard library's logging
(the provider SDKs log there) through the same redaction. The command line sets it."""


def _redact_event(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    from .errors import redact  # not at import: `--version` loads no contract (nor pydantic)

    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def configure_logging(
    level: str | None = None, *, json: bool | None = None, stdlib: bool | None = None
) -> None:
    """Set up structlog for the process; safe to call more than once.

    :param stdlib: also route the standard library's logging (the provider SDKs log there)
        through the same redaction and renderer to stderr. The command line does this; an
        application embedding the library keeps its own logging setup.
    """
    import structlog  # imported here: start-up paths that never log do not pay for it

    global _configured, _level
    if stdlib is None:
        stdlib = ROUTE_STDLIB
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
    if stdlib:
        _route_stdlib(numeric, renderer)
    _level = numeric
    _configured = True


def enabled(level: int) -> bool:
    """Whether an event at ``level`` would be written: a caller can skip building a costly
    event (the level comes from ``LOG_LEVEL`` until logging is configured)."""
    if _level is not None:
        return level >= _level
    name = (os.environ.get("LOG_LEVEL") or "WARNING").upper()
    return level >= logging.getLevelNamesMapping().get(name, logging.WARNING)


def _route_stdlib(level: int, renderer: Any) -> None:
    import structlog

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redact_event,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("dynamic-orchestrator")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "dynamic-orchestrator"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


class _RouteOnFirstRecord(logging.Handler):
    """Stands in for the standard library's routing until the first record arrives: then
    configures logging (which replaces this handler with the structlog one, redaction
    included) and hands the record on. Until then nothing imports structlog."""

    def emit(self, record: logging.LogRecord) -> None:
        if not _configured:
            configure_logging(stdlib=True)
        root = logging.getLogger()
        if self not in root.handlers:
            root.handle(record)


def route_stdlib_lazily() -> None:
    """Route the standard library's logging (the SDKs log there) through structlog from
    its first record on, at ``LOG_LEVEL``, without importing structlog before then."""
    name = (os.environ.get("LOG_LEVEL") or "WARNING").upper()
    root = logging.getLogger()
    if any(h.get_name() == "dynamic-orchestrator" for h in root.handlers):
        return
    handler = _RouteOnFirstRecord()
    handler.set_name("dynamic-orchestrator")
    root.addHandler(handler)
    root.setLevel(logging.getLevelNamesMapping().get(name, logging.WARNING))


def own_root_logging(before: Iterable[logging.Handler]) -> None:
    """One logging path: root handlers added since ``before`` was taken (the MCP SDK's Rich
    handler, installed when its server is built) are replaced by our redacting handler, so
    no record prints twice, once of them raw. Handlers that were there are left alone."""
    root = logging.getLogger()
    kept = set(before)
    added = [h for h in root.handlers if h not in kept and h.get_name() != "dynamic-orchestrator"]
    for handler in added:
        root.removeHandler(handler)
    if added:
        route_stdlib_lazily()


class _Logger:
    """A component's logger that imports and configures structlog on its first event.

    Modules create their logger at import time; a process that never logs (a command
    that succeeds, a benchmark, a library call) then never imports structlog.
    """

    __slots__ = ("_bound", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._bound: Any = None

    def __getattr__(self, attr: str) -> Any:
        bound = self._bound
        if bound is None:
            import structlog

            if not _configured:
                configure_logging()
            bound = self._bound = structlog.get_logger(component=self._name)
        return getattr(bound, attr)


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name (structlog is imported on first use)."""
    return _Logger(name)
