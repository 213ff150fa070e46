"""OpenTelemetry traces for Dynamic Orchestrator (extra ``otel``).

Every finished request becomes one trace, exported by OTLP over HTTP to the endpoint the
standard ``OTEL_EXPORTER_OTLP_*`` variables name (:mod:`.settings`): a span for the
request, a child per stage and, under ``execute``, a child per provider attempt, named and
attributed by the OpenTelemetry GenAI semantic conventions (:mod:`.spans`). The spans are
built from the record after the fact and exported in batches by a child process
(:mod:`.sink`, :mod:`.exporter`): the request path only queues a row of the record's values.

At ``startup`` the plugin attaches one :class:`OtelSinkPlugin` to the orchestrator's
plugin manager when an endpoint is set; without one it does nothing. Prompt and answer
text go into spans only with ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
(:mod:`.content`); keys never do (the record holds none).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import anyio
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import RequestRecord

from .content import ContentCapture
from .settings import Settings

if TYPE_CHECKING:
    from dynamic_orchestrator import Orchestrator

    from .sink import TraceSink
    from .spans import SpanBuilder

__all__ = [
    "ContentCapture",
    "OtelSinkPlugin",
    "Settings",
    "SpanBuilder",
    "TraceSink",
    "shutdown",
    "startup",
]

ATTACHED_NAME = "dynamic_orchestrator_otel.sink"
CONTENT_NAME = "dynamic_orchestrator_otel.content"

log = get_logger("metrics.otel")


def __getattr__(name: str) -> Any:
    """The sink and span builder, imported on first use: with no endpoint set (the usual
    start-up) the sink stays unloaded, and the OTLP encoding and its protobuf are only ever
    loaded by the exporter process."""
    if name == "TraceSink":
        from .sink import TraceSink

        return TraceSink
    if name == "SpanBuilder":
        from .spans import SpanBuilder

        return SpanBuilder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_sink(orchestrator: Orchestrator, settings: Settings) -> TraceSink:
    """A sink whose exporter process posts by OTLP/HTTP as the environment says."""
    from .sink import TraceSink

    known: list[bool] = []

    def breakers() -> bool:
        if not known:  # the breaker plugin attaches at its own start-up: ask once, later
            known.append(bool(orchestrator.hooks.circuit_states()))
        return known[0]

    content = orchestrator.pm.get_plugin(CONTENT_NAME)
    return TraceSink(
        schedule_delay_s=settings.schedule_delay_s,
        max_queue_size=settings.max_queue_size,
        breakers=breakers,
        content=content.pop if isinstance(content, ContentCapture) else None,
    )


class OtelSinkPlugin:
    """The ``record`` hook of one attached :class:`TraceSink`."""

    def __init__(self, sink: TraceSink) -> None:
        self.sink = sink

    @hookimpl(trylast=True)
    def record(self, record: RequestRecord) -> None:
        """Queue a finished request for the exporter process; never blocks."""
        self.sink.add(record)


@hookimpl(trylast=True)
def startup(orchestrator: Orchestrator) -> None:
    """Attach a trace sink when an OTLP endpoint is configured; else do nothing."""
    settings = Settings.from_env()
    if not settings.enabled:  # silent: logging here would import structlog at every start
        return
    pm = orchestrator.pm
    if settings.capture_content:
        pm.attach(CONTENT_NAME, ContentCapture, owner=orchestrator)
    plugin: OtelSinkPlugin = pm.attach(
        ATTACHED_NAME, lambda: OtelSinkPlugin(make_sink(orchestrator, settings)), owner=orchestrator
    )
    plugin.sink.start()


@hookimpl(trylast=True)
def shutdown(orchestrator: Orchestrator) -> Awaitable[None] | None:
    """Export what is queued and stop when the manager's last orchestrator closes."""
    orchestrator.pm.detach(CONTENT_NAME, owner=orchestrator)
    plugin = orchestrator.pm.detach(ATTACHED_NAME, owner=orchestrator)
    if not isinstance(plugin, OtelSinkPlugin):
        return None
    return anyio.to_thread.run_sync(plugin.sink.close)
