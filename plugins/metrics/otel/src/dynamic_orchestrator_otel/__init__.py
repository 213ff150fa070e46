"""OpenTelemetry traces for Dynamic Orchestrator (extra ``otel``).

Every finished request becomes one trace, exported by OTLP over HTTP to the endpoint the
standard ``OTEL_EXPORTER_OTLP_*`` variables name (:mod:`.settings`): a span for the
request, a child per stage and, under ``execute``, a child per provider attempt, named and
attributed by the OpenTelemetry GenAI semantic conventions (:mod:`.spans`). The spans are
built from the record after the fact and exported in batches by a child process
(:mod:`.sink`, :mod:`.exporter`): the request path only queues a row of the record's values.

At ``startup`` the plugin makes one sink per orchestrator, kept in its plugin state
(``host.plugin_state``), when an endpoint is set; without one it does nothing. Prompt and
answer text go into spans only with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (:mod:`.content`); keys never
do (the record holds none). The hooks that keep them (:class:`ContentHooks`) are
registered at start-up only then, so without the opt-in a request pays for no hook of
this plugin but ``record``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import TYPE_CHECKING, Any

import anyio
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import RequestRecord

from .content import ContentCapture
from .settings import Settings

if TYPE_CHECKING:
    from dynamic_orchestrator import Orchestrator
    from dynamic_orchestrator.contract import ExecutionContext, Host
    from dynamic_orchestrator.models import Execution, Prompt, Request

    from .sink import TraceSink
    from .spans import SpanBuilder

__all__ = [
    "ContentCapture",
    "ContentHooks",
    "OtelState",
    "Settings",
    "SpanBuilder",
    "TraceSink",
    "record",
    "shutdown",
    "startup",
    "state",
]

STATE_NAME = "otel"
CONTENT_PLUGIN = "otel-content"

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


def make_sink(
    orchestrator: Orchestrator, settings: Settings, content: ContentCapture | None = None
) -> TraceSink:
    """A sink whose exporter process posts by OTLP/HTTP as the environment says."""
    from .sink import TraceSink

    known: list[bool] = []

    def breakers() -> bool:
        if not known:  # the breaker plugin starts at its own start-up: ask once, later
            known.append(bool(orchestrator.hooks.circuit_states()))
        return known[0]

    return TraceSink(
        schedule_delay_s=settings.schedule_delay_s,
        max_queue_size=settings.max_queue_size,
        breakers=breakers,
        content=content.pop if content is not None else None,
    )


class OtelState:
    """One orchestrator's trace sink and content capture, when they are switched on."""

    sink: TraceSink | None = None
    content: ContentCapture | None = None


def state(host: Host | None) -> OtelState:
    """The orchestrator's state (empty for a call with no orchestrator behind it)."""
    return OtelState() if host is None else host.plugin_state(STATE_NAME, OtelState)


@hookimpl(trylast=True)
def startup(orchestrator: Orchestrator) -> None:
    """Make this orchestrator's trace sink when an OTLP endpoint is configured; else nothing."""
    settings = Settings.from_env()
    if not settings.enabled:  # silent: logging here would import structlog at every start
        return
    own = state(orchestrator)
    if own.sink is not None:
        return
    if settings.capture_content:
        own.content = ContentCapture()
        if orchestrator.pm.get_plugin(CONTENT_PLUGIN) is None:
            orchestrator.pm.register(ContentHooks(), name=CONTENT_PLUGIN)
    own.sink = make_sink(orchestrator, settings, own.content)
    own.sink.start()


@hookimpl(trylast=True)
def record(record: RequestRecord, host: Host) -> None:
    """Queue a finished request for the exporter process; never blocks."""
    sink = state(host).sink
    if sink is not None:
        sink.add(record)


class ContentHooks:
    """The prompt and the answer of each request, kept for its span (content capture).

    Registered by :func:`startup` once per plugin manager, only when content capture is
    on; each orchestrator keeps its own :class:`ContentCapture` (none when its capture is
    off), so the wrappers do nothing for an orchestrator that did not opt in.
    """

    @hookimpl(wrapper=True)
    def generate_prompt(
        self, request: Request, host: Host
    ) -> Generator[None, Prompt | None, Prompt | None]:
        """Keep the prompt a request sends."""
        prompt = yield
        content = state(host).content
        if prompt is not None and content is not None:
            content.keep_prompt(request.request_id, prompt)
        return prompt

    @hookimpl(wrapper=True)
    def execute(
        self, context: ExecutionContext
    ) -> Generator[None, Awaitable[Execution] | None, Awaitable[Execution] | None]:
        """Keep the execution's answer once it is awaited."""
        pending = yield
        content = state(context.host).content
        if pending is None or content is None:
            return pending
        return content.watch(context.request.request_id, pending)


@hookimpl(trylast=True)
def shutdown(orchestrator: Orchestrator) -> Awaitable[None] | None:
    """Export what is queued and stop this orchestrator's sink."""
    own = state(orchestrator)
    sink, own.sink, own.content = own.sink, None, None
    if sink is None:
        return None
    return anyio.to_thread.run_sync(sink.close)
