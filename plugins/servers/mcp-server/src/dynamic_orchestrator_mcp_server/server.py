"""The MCP server: ``analyze_request``, ``orchestrate`` and ``get_metrics`` on the official SDK.

A thin front door onto :class:`~dynamic_orchestrator.Orchestrator`: each tool calls
``analyze``, ``run`` or ``metrics`` and returns its pydantic result, whose
``model_dump(mode="json")`` is the tool's ``structuredContent`` (with the same JSON as
text). A failed orchestration is an ``isError`` result that still carries the structured
result (attempts, errors); bad arguments, an unknown tool, an oversized request and a
crashing plugin are ``isError`` results with a message that says what was wrong.

Start-up: the orchestrator (plugin loading, the price catalog) is built in the background
once the first ``tools/list`` is answered, or on the first tool call, whichever comes
first, so a client's first answer does not wait for it.

Sampling on the client's model (:mod:`dynamic_orchestrator.sampling`): on 2026-07-28
connections the request for the client's model is predicted and asked before the
pipeline runs, through the SDK's resolver form (``Resolve`` returning ``Sample``); the SDK
runs the tool body once, after the answer arrives, so a request is executed and recorded
once. On older connections the provider asks mid-call, when the chain reaches it.

This module deliberately has no ``from __future__ import annotations``: the SDK reads the
tool signatures at registration, and the request-length limit in them comes from config.
"""

import logging
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from dynamic_orchestrator import finite_json
from dynamic_orchestrator.catalog import CLIENT_PROVIDER
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import OrchestratorError, RequestError, redact
from dynamic_orchestrator.models import AnalysisResult, MetricsSummary, Options, OrchestrationResult
from dynamic_orchestrator.sampling import SamplingProvider
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer, Resolve, Sample
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    CreateMessageRequestParams,
    CreateMessageResult,
    TextContent,
    ToolAnnotations,
)
from pydantic import Field

from .sampling import McpClientConnection, declares_sampling, is_modern
from .stdio_transport import serve_stdio

if TYPE_CHECKING:
    from dynamic_orchestrator.orchestrator import Orchestrator


def _log() -> Any:
    from dynamic_orchestrator.log import (
        get_logger,  # structlog is imported on first use, after start-up
    )

    return get_logger("server")


SERVER_NAME = "dynamic-orchestrator"

INSTRUCTIONS = """\
Dynamic Orchestrator routes a request to the cheapest model that is good enough.

- analyze_request: read-only analysis (intent, complexity, the model it would use and its \
fallbacks, estimated tokens and cost against a baseline). Every cost is an estimate.
- orchestrate: runs the request. status "completed" carries the model's output; \
"failed" says why (isError). status "delegated" means nothing could run here (no \
provider key, and this client offers no sampling): nothing ran, nothing was spent or saved.
- get_metrics: requests, latency, tokens, cost and savings over a recent period.

When orchestrate returns status "delegated", run the plan yourself with your own model: \
use plan.system as the system instructions and plan.prompt as the user message, prefer a \
model like plan.model (the plan.tier tier), offer only plan.tools, and keep the answer \
within plan.max_tokens when it is set. Then answer the user from that run. Its cost is \
yours; this server does not count it as a saving.
"""

ANALYZE_DESCRIPTION = (
    "Analyse a request without running it: intent, complexity, the model it would go to and "
    "its fallbacks, estimated tokens and cost against the baseline model. Every cost is an "
    "estimate."
)
ORCHESTRATE_DESCRIPTION = (
    "Run a request on the cheapest model that is good enough: analyse it, choose the model, "
    "write a compact prompt, execute with fallback. status 'completed' carries the output; "
    "'delegated' carries a plan for you to run on your own model (nothing ran here); "
    "'failed' says why. Progress is reported through the stages. Optional feedback: your "
    "verdict on an earlier answer (its request_id, and up or down), recorded beside it."
)
METRICS_DESCRIPTION = (
    "Requests, success rate, latency percentiles, tokens, cost and savings (against the "
    "baseline model) over the last minute, 5 minutes, hour or day, from this server's live "
    "window."
)

ANALYZE_ANNOTATIONS = ToolAnnotations(
    title="Analyze a request",
    read_only_hint=True,
    destructive_hint=False,
    idempotent_hint=True,
    open_world_hint=False,
)
ORCHESTRATE_ANNOTATIONS = ToolAnnotations(
    title="Orchestrate a request",
    read_only_hint=False,
    destructive_hint=False,
    idempotent_hint=False,
    open_world_hint=True,
)
METRICS_ANNOTATIONS = ToolAnnotations(
    title="Get metrics",
    read_only_hint=True,
    destructive_hint=False,
    idempotent_hint=True,
    open_world_hint=False,
)

ContextArg = Annotated[
    dict[str, Any],
    Field(description="Facts that matter for the request (files, framework, ...), as an object."),
]
OptionsArg = Annotated[
    Options,
    Field(
        description="preferred_models (list), max_cost (USD, hard ceiling), model (force one), "
        "execute (false: return the plan only), max_tokens (output cap)."
    ),
]
# Defaults of the tool arguments; the SDK validates (and so copies) them on every call.
NO_CONTEXT: dict[str, Any] = {}
NO_OPTIONS = Options()
FeedbackArg = Annotated[
    dict[str, str | bool | float] | None,
    Field(
        description="Optional: your verdict on an earlier answer, "
        '{"request_id": "...", "verdict": "up" | "down" (or true/false, or a score in [0, 1])}; '
        "recorded beside that request's outcome to label it."
    ),
]
_VERDICT_WORDS = {"up": True, "down": False}


def record_feedback(orchestrator: "Orchestrator", feedback: dict[str, Any]) -> int:
    """Pass the ``feedback`` argument to :meth:`Orchestrator.feedback`."""
    unknown = sorted(set(feedback) - {"request_id", "verdict"})
    if unknown:
        raise RequestError(f"feedback: unknown key(s) {', '.join(unknown)}")
    verdict = feedback.get("verdict")
    if isinstance(verdict, str):
        if verdict.lower() not in _VERDICT_WORDS:
            raise RequestError(f"feedback.verdict: expected up or down, got {verdict!r}")
        verdict = _VERDICT_WORDS[verdict.lower()]
    request_id = feedback.get("request_id")
    if not isinstance(request_id, str) or verdict is None:
        raise RequestError("feedback: needs request_id (a string) and verdict")
    return orchestrator.feedback(request_id, verdict)


PeriodArg = Annotated[
    Literal["1m", "5m", "1h", "1d"], Field(description="The window to summarise.")
]


# --- the orchestrator of a running server ------------------------------------------------


class ServerState:
    """What the tools share: the configuration and the orchestrator, built once, lazily.

    :param config: the loaded configuration.
    :param orchestrator: an orchestrator to use (built, or built and initialized); None
        builds one from ``config``.
    :param owned: close the orchestrator when the server stops (default: when built here).
    """

    def __init__(
        self,
        config: Config,
        orchestrator: "Orchestrator | None" = None,
        *,
        owned: bool | None = None,
    ):
        self.config = config
        self._orchestrator = orchestrator
        self._ready = False
        self._owned = orchestrator is None if owned is None else owned
        self._lock = anyio.Lock()
        self._task_group: anyio.abc.TaskGroup | None = None
        self._warming = False

    def _construct(self) -> "Orchestrator":
        """Load the plugins and the prices of the configured models (CPU: run in a thread)."""
        from dynamic_orchestrator.catalog import lookup_prices
        from dynamic_orchestrator.orchestrator import Orchestrator

        orchestrator = self._orchestrator or Orchestrator(self.config)
        names = {m for tier in self.config.execution.values() for m in tier.models}
        names.update(m for models in self.config.claude_code_models.values() for m in models)
        names.add(self.config.effective_baseline_model)
        for name in sorted(names):
            lookup_prices(name)
        return orchestrator

    async def orchestrator(self) -> "Orchestrator":
        """The initialized orchestrator, built on first use.

        :raises OrchestratorError: when it cannot start (a plugin failed in strict mode...).
        """
        if self._ready and self._orchestrator is not None:
            return self._orchestrator
        async with self._lock:
            if not self._ready:
                orchestrator = await anyio.to_thread.run_sync(self._construct)
                self._orchestrator = orchestrator
                await orchestrator.initialize()
                self._ready = True
        assert self._orchestrator is not None
        return self._orchestrator

    def warm_up(self) -> None:
        """Start building the orchestrator in the background (once)."""
        if self._warming or self._ready or self._task_group is None:
            return
        self._warming = True
        self._task_group.start_soon(self._warm)

    async def _warm(self) -> None:
        try:
            orchestrator = await self.orchestrator()
            # Build the provider SDK clients now, so the first request does not pay for
            # importing an SDK.
            from dynamic_orchestrator.providers import warm_providers

            await warm_providers(
                orchestrator.providers, orchestrator.config.plugins.startup_timeout
            )
        except Exception as exc:  # the first tool call reports it
            _log().warning("orchestrator_warm_up_failed", error=redact(str(exc)))

    async def close(self) -> None:
        """Close the orchestrator if this server owns it."""
        if self._owned and self._ready and self._orchestrator is not None:
            await self._orchestrator.close()


def _lifespan(
    config: Config, orchestrator: "Orchestrator | None", owned: bool | None, eager: bool
) -> Callable[[MCPServer[ServerState]], Any]:
    @asynccontextmanager
    async def lifespan(server: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        state = ServerState(config, orchestrator, owned=owned)
        try:
            async with anyio.create_task_group() as task_group:
                state._task_group = task_group
                if eager:
                    state.warm_up()
                try:
                    yield state
                finally:
                    task_group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await state.close()

    return lifespan


async def _warm_after_tools_list(
    ctx: ServerRequestContext[ServerState, Any],
    call_next: Callable[[ServerRequestContext[ServerState, Any]], Awaitable[Any]],
) -> Any:
    """Middleware: once a client has its tool list, build the orchestrator in the background."""
    result = await call_next(ctx)
    if ctx.method == "tools/list":
        state = ctx.lifespan_context
        if isinstance(state, ServerState):
            state.warm_up()
    return result


async def _no_prompts(
    ctx: ServerRequestContext[ServerState, Any],
    call_next: Callable[[ServerRequestContext[ServerState, Any]], Awaitable[Any]],
) -> Any:
    """Middleware: this server has no prompts, so asking for one is a bad argument
    (JSON-RPC -32602 naming it), not an internal error logged with a traceback."""
    if ctx.method == "prompts/get":
        name = (ctx.params or {}).get("name")
        raise MCPError(INVALID_PARAMS, f"Unknown prompt: {name!r} (this server has no prompts)")
    return await call_next(ctx)


_ARGUMENT_ERRORS = re.compile(
    r"^Error executing tool (?P<tool>\S+): \d+ validation errors? for \S+\n(?P<body>.*)\Z", re.S
)
_INPUT_VALUE = re.compile(r"input_value=(?P<value>.*), input_type=\w+\]$")


def clear_argument_errors(text: str) -> str:
    """The SDK's text for arguments that fail validation (pydantic's report, with its
    documentation URLs), as one line per tool: ``tool: arguments: where: what (got value)``.
    Any other text is returned as it is."""
    match = _ARGUMENT_ERRORS.match(text)
    if match is None:
        return text
    problems: list[str] = []
    where = ""
    for line in match["body"].splitlines():
        if not line.startswith(" "):
            where = line.strip()
        elif line.startswith("  ") and not line.startswith("    "):
            message, _, meta = line.strip().partition(" [type=")
            value = _INPUT_VALUE.search(meta)
            got = f" (got {value['value']})" if value else ""
            problems.append(f"{where}: {message}{got}" if where else f"{message}{got}")
    if not problems:
        return text
    return f"{match['tool']}: invalid arguments: " + "; ".join(problems)


async def _clear_tool_argument_errors(
    ctx: ServerRequestContext[ServerState, Any],
    call_next: Callable[[ServerRequestContext[ServerState, Any]], Awaitable[Any]],
) -> Any:
    """Middleware: argument errors of a tool call as plain text (no pydantic report)."""
    result = await call_next(ctx)
    if ctx.method != "tools/call":
        return result
    if isinstance(result, CallToolResult) and result.is_error:
        for block in result.content:
            if isinstance(block, TextContent):
                block.text = clear_argument_errors(block.text)
    elif isinstance(result, dict) and result.get("isError"):  # already in wire form
        for item in result.get("content") or []:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                item["text"] = clear_argument_errors(item["text"])
    return result


def _advertise_tools_only(server: "MCPServer[ServerState]") -> None:
    """Advertise only the capabilities the server has: tools (and logging), not the empty
    prompts and resources the SDK's server answers for. Their list methods still answer
    (empty), for clients that list without looking at the capabilities."""
    lowlevel = server._lowlevel_server  # the SDK derives capabilities there
    derive = lowlevel.get_capabilities

    def capabilities(*args: Any, **kwargs: Any) -> Any:
        return derive(*args, **kwargs).model_copy(update={"prompts": None, "resources": None})

    lowlevel.get_capabilities = capabilities  # type: ignore[method-assign]


async def _orchestrator_for(ctx: Context[ServerState, Any]) -> "Orchestrator":
    state: ServerState = ctx.request_context.lifespan_context
    try:
        return await state.orchestrator()
    except Exception as exc:
        raise ToolError(f"the orchestrator could not start: {redact(str(exc))}") from None


def _tool_error(exc: Exception) -> ToolError:
    if isinstance(exc, OrchestratorError):
        return ToolError(redact(str(exc)))
    _log().error("tool_failed", error=redact(repr(exc)))
    return ToolError(f"internal error: {type(exc).__name__}: {redact(str(exc))}")


# --- sampling ahead of the pipeline (2026-07-28) ---------------------------------------------


async def client_request_ahead(
    request: str, context: dict[str, Any], options: Options, ctx: Context[ServerState, Any]
) -> CreateMessageRequestParams | None:
    """Resolver: the request the pipeline will send to the client's model, when asked ahead.

    Only on connections that cannot carry a request mid-call (2026-07-28) and whose client
    declared sampling. Deterministic, since the SDK runs it again on every round.
    """
    if not is_modern(ctx.protocol_version) or not declares_sampling(ctx):
        return None
    try:
        orchestrator = await _orchestrator_for(ctx)
        req = orchestrator.make_request(request, context, options)
        call = orchestrator.plan_client_call(req, client=McpClientConnection(ctx, planning=True))
        if call is None:
            return None
        provider = orchestrator.catalog.providers.get(CLIENT_PROVIDER)
        if not isinstance(provider, SamplingProvider):
            return None
        return provider.sampling_request(call)
    except Exception as exc:  # the pipeline reports the problem when the body runs
        _log().debug("client_request_ahead_failed", error=redact(repr(exc)))
        return None


def client_sample_ahead(
    params: Annotated[CreateMessageRequestParams | None, Resolve(client_request_ahead)],
) -> Sample | None:
    """Resolver: ask the client's model ahead (the SDK sends it, as the protocol wants)."""
    if params is None:
        return None
    return Sample(
        params.messages,
        max_tokens=params.max_tokens,
        system_prompt=params.system_prompt,
        temperature=params.temperature,
        stop_sequences=params.stop_sequences,
        metadata=params.metadata,
        model_preferences=params.model_preferences,
    )


# --- progress ----------------------------------------------------------------------------------


class _Progress:
    """Forward pipeline stages as MCP progress notifications (0-100, always increasing)."""

    def __init__(self, ctx: Context[ServerState, Any]):
        self.ctx = ctx
        self.last = 0.0

    async def __call__(self, stage: str, fraction: float) -> None:
        value = round(min(max(fraction, 0.0), 1.0) * 100, 1)
        if value <= self.last:
            value = round(self.last + 0.1, 1)
        self.last = value
        await self.ctx.report_progress(value, 100, stage)

    async def finish(self, status: str) -> None:
        if self.last < 100:
            try:
                await self(status, 1.0)
            except Exception as exc:
                _log().debug("progress_failed", error=repr(exc))


def _orchestration_result(result: OrchestrationResult) -> CallToolResult:
    data = result.model_dump(mode="json")
    text = finite_json.dumps(data)
    if result.status == "failed":
        return CallToolResult(
            content=[
                TextContent(type="text", text=f"orchestrate failed: {result.error}"),
                TextContent(type="text", text=text),
            ],
            structured_content=data,
            is_error=True,
        )
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


# --- the server --------------------------------------------------------------------------------


def _log_level() -> Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]:
    level = (os.environ.get("LOG_LEVEL") or "WARNING").upper()
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        return level  # type: ignore[return-value]
    return "WARNING"


def build_server(
    config: Config | None = None,
    *,
    orchestrator: "Orchestrator | None" = None,
    owned: bool | None = None,
    eager: bool = False,
) -> MCPServer[ServerState]:
    """The MCP server with its three tools.

    :param config: the configuration (default: the lookup order).
    :param orchestrator: use this orchestrator instead of building one.
    :param owned: close ``orchestrator`` when the server stops (default: only if built here).
    :param eager: build the orchestrator as soon as the server starts, not after the
        first ``tools/list``.
    """
    if config is None:
        from dynamic_orchestrator.config import load_config

        config = orchestrator.config if orchestrator is not None else load_config()
    from dynamic_orchestrator import __version__
    from dynamic_orchestrator.log import own_root_logging

    before = list(logging.getLogger().handlers)
    server: MCPServer[ServerState] = MCPServer(
        SERVER_NAME,
        title="Dynamic Orchestrator",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=_lifespan(config, orchestrator, owned, eager),
        middleware=[_warm_after_tools_list, _no_prompts, _clear_tool_argument_errors],
        log_level=_log_level(),
    )
    own_root_logging(before)  # the SDK's Rich handler out: every record redacted, once
    _advertise_tools_only(server)
    RequestArg = Annotated[
        str,
        Field(
            description="The request, as you would send it to a model.",
            max_length=config.server.max_request_chars,
        ),
    ]

    @server.tool(
        name="analyze_request",
        title=ANALYZE_ANNOTATIONS.title,
        description=ANALYZE_DESCRIPTION,
        annotations=ANALYZE_ANNOTATIONS,
    )
    async def analyze_request(
        request: RequestArg, ctx: Context[ServerState, Any], context: ContextArg = NO_CONTEXT
    ) -> AnalysisResult:
        """The ``analyze_request`` tool (see ANALYZE_DESCRIPTION)."""
        orchestrator = await _orchestrator_for(ctx)
        try:
            client = McpClientConnection(ctx, planning=True)
            return await orchestrator.analyze(request, context, client=client)
        except Exception as exc:
            raise _tool_error(exc) from None

    @server.tool(
        name="orchestrate",
        title=ORCHESTRATE_ANNOTATIONS.title,
        description=ORCHESTRATE_DESCRIPTION,
        annotations=ORCHESTRATE_ANNOTATIONS,
    )
    async def orchestrate(
        request: RequestArg,
        ctx: Context[ServerState, Any],
        ahead_request: Annotated[CreateMessageRequestParams | None, Resolve(client_request_ahead)],
        ahead_answer: Annotated[CreateMessageResult | None, Resolve(client_sample_ahead)],
        context: ContextArg = NO_CONTEXT,
        options: OptionsArg = NO_OPTIONS,
        feedback: FeedbackArg = None,
    ) -> Annotated[CallToolResult, OrchestrationResult]:
        """The ``orchestrate`` tool (see ORCHESTRATE_DESCRIPTION)."""
        orchestrator = await _orchestrator_for(ctx)
        if feedback:
            try:
                record_feedback(orchestrator, feedback)
            except RequestError as exc:
                raise ToolError(str(exc)) from None
        ahead = (
            (ahead_request, ahead_answer)
            if ahead_request is not None and ahead_answer is not None
            else None
        )
        client = McpClientConnection(ctx, ahead)
        try:
            req = orchestrator.make_request(request, context, options)
        except RequestError as exc:
            raise ToolError(str(exc)) from None
        progress = _Progress(ctx)
        result = await orchestrator.run(req, client=client, progress=progress)
        await progress.finish(result.status)
        return _orchestration_result(result)

    @server.tool(
        name="get_metrics",
        title=METRICS_ANNOTATIONS.title,
        description=METRICS_DESCRIPTION,
        annotations=METRICS_ANNOTATIONS,
    )
    async def get_metrics(
        ctx: Context[ServerState, Any], period: PeriodArg = "5m"
    ) -> MetricsSummary:
        """The ``get_metrics`` tool (see METRICS_DESCRIPTION)."""
        orchestrator = await _orchestrator_for(ctx)
        try:
            return await orchestrator.metrics(period)
        except Exception as exc:
            raise _tool_error(exc) from None

    return server


TERMINAL_HINT = """\
dynamic-orchestrator serve: an MCP server speaking JSON-RPC on stdin and stdout, waiting for
an MCP client; there is nothing to type here. Let a client start it, for example:
  claude mcp add dynamic-orchestrator -- dynamic-orchestrator serve
or serve streamable HTTP instead: dynamic-orchestrator serve --transport http
Ctrl-C stops it."""


def _stop_on_interrupt(signum: int, frame: object) -> None:
    """First Ctrl-C on a terminal: stop at once. The SDK reads a terminal's stdin in a
    worker thread that no cancellation reaches, so the process exits without waiting on it."""
    sys.stderr.write("\nstopped\n")
    sys.stderr.flush()
    os._exit(130)


def run_stdio(config: Config) -> None:
    """Serve over stdio until the client closes stdin.

    On a terminal (a person, not a client, started it) it says so on stderr and stops on
    the first Ctrl-C.
    """
    server = build_server(config)
    if sys.stdin.isatty():
        signal.signal(signal.SIGINT, _stop_on_interrupt)  # before the hint invites a Ctrl-C
        print(TERMINAL_HINT, file=sys.stderr, flush=True)
    anyio.run(serve_stdio, server)
