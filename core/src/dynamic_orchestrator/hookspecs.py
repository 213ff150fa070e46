"""The hooks of Dynamic Orchestrator: markers and specifications only.

A plugin is any object or module with functions named after these hooks and marked
with :data:`hookimpl`. Plugins are found through the ``dynamic_orchestrator`` entry-point
group; see :mod:`dynamic_orchestrator.plugins`.

Per-request stages run in this order: :func:`classify`, :func:`score_complexity`,
:func:`route_services`, :func:`system_prompt_tokens`, :func:`select_model`,
:func:`generate_prompt`, :func:`rewrite_prompt`, :func:`execute`, :func:`record`. The
decision hooks (all but ``rewrite_prompt``, ``execute`` and ``record``) are synchronous
and CPU-only: an ``async def`` implementation of a first-result hook is refused when the
plugin is registered, because pluggy would take the un-awaited coroutine as a result.
Asynchronous work goes through :func:`execute`, which returns an awaitable, or through
objects registered with the registration hooks, whose methods may be ``async``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

from .contract import PROJECT

if TYPE_CHECKING:
    import click

    from .contract import (
        CatalogView,
        Completion,
        ComplexityResult,
        Config,
        Constraints,
        Execution,
        ExecutionContext,
        Host,
        IntentInfo,
        IntentResult,
        MetricsSummary,
        ModelCall,
        ModelInfo,
        PluginSettings,
        Prompt,
        Provider,
        Request,
        RequestAnalysis,
        RequestRecord,
        Rewrite,
        Selection,
        Service,
        ServiceRoute,
    )

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration hooks: called once at start-up -------------------------------------


@hookspec
def register_models(register: Callable[[ModelInfo], None], config: Config) -> None:
    """Add models to the catalog.

    :param register: call once per :class:`~dynamic_orchestrator.contract.ModelInfo`;
        registering a name twice is an error that names both plugins.
    :param config: the loaded configuration.
    """


@hookspec
def register_providers(register: Callable[[Provider], None], config: Config) -> None:
    """Add providers that can run a model call.

    :param register: call once per :class:`~dynamic_orchestrator.contract.Provider`;
        the provider's ``name`` must be unique.
    :param config: the loaded configuration (``providers.<name>`` holds each provider's
        ``base_url``, ``api_key_env`` and extra ``models``).
    """


@hookspec
def register_intents(register: Callable[[IntentInfo], None], config: Config) -> None:
    """Add intents to the vocabulary ``classify`` may answer with.

    The design's five (``read``, ``write``, ``search``, ``analyze``, ``manage``) are always
    known; a classifier that answers with another intent registers it here, or the request
    fails with an error naming the intent. Registering one of the five again gives it the
    registrant's output-token estimates (the default classifier does so).

    :param register: call once per :class:`~dynamic_orchestrator.contract.IntentInfo`;
        the first plugin to register a name keeps it.
    :param config: the loaded configuration.
    """


@hookspec
def register_services(register: Callable[[Service], None], config: Config) -> None:
    """Add downstream services (MCP servers) that requests can be routed to.

    :param register: call once per :class:`~dynamic_orchestrator.contract.Service`.
    :param config: the loaded configuration (``mcp_services`` holds the registry).
    """


@hookspec
def plugin_settings() -> PluginSettings | None:
    """Declare this plugin's settings: ``plugins.<name>``, checked by a pydantic model.

    The host validates the section (and the older keys listed in ``aliases``) with the
    model when the configuration loads, so ``config check`` reports a bad key by its path
    and the configuration reference lists every key. Read them back with
    ``config.plugin_settings(name, Model)``; the host resolved them, so no plugin re-reads
    the file or keeps them in a global.

    :return: a :class:`~dynamic_orchestrator.contract.PluginSettings`, or None.
    """


@hookspec
def register_commands(register: Callable[[click.Command], None]) -> None:
    """Add sub-commands to the ``dynamic-orchestrator`` command line.

    Finding a command this way loads every plugin's commands. A distribution can also name
    a command in the entry-point group ``dynamic_orchestrator.commands``
    (``serve = "pkg.commands:serve"``), so that running it imports that module alone (the
    MCP server's ``serve`` does, for its start-up).

    :param register: call once per :class:`click.Command`; a name already taken is an
        error.
    """


@hookspec
def register_http_routes(
    register: Callable[[str, Any], None], config: Config, host: Host | None
) -> None:
    """Add HTTP endpoints beside ``/mcp`` on the streamable HTTP transport.

    :param register: call ``register(path, asgi_app)`` once per path (``/metrics``, say);
        a path already taken is an error that names both plugins.
    :param config: the loaded configuration.
    :param host: the orchestrator the server runs (None when routes are built without
        one): where a route finds its plugin's state.
    """


# --- lifecycle -------------------------------------------------------------------------


@hookspec
def startup(orchestrator: Host) -> Awaitable[None] | None:
    """Called once when an :class:`~dynamic_orchestrator.Orchestrator` starts.

    May return an awaitable (open connections, start writer threads). Every
    implementation is called.

    :param orchestrator: the starting host: its config, catalog, providers, services and
        per-plugin state (:meth:`~dynamic_orchestrator.contract.Host.plugin_state`).
    :return: None, or an awaitable the host awaits.
    """


@hookspec
def shutdown(orchestrator: Host) -> Awaitable[None] | None:
    """Called once when an :class:`~dynamic_orchestrator.Orchestrator` closes.

    May return an awaitable (flush buffers, close sessions). Every implementation is
    called, even if another one failed.

    :param orchestrator: the closing orchestrator.
    :return: None, or an awaitable the host awaits.
    """


# --- per-request stages ------------------------------------------------------------------


@hookspec(firstresult=True)
def classify(request: Request, host: Host) -> IntentResult | None:
    """Classify the intent of a request.

    Stops at the first non-None result.

    :param request: the validated request (text, context, options).
    :param host: the orchestrator asking, for the plugin's settings and its state
        (``host.plugin_state``); an implementation that needs neither leaves it out of its
        parameters and pluggy does not pass it.
    :return: the intent (``read``, ``write``, ``search``, ``analyze``, ``manage``, or one
        a plugin registered with :func:`register_intents`) with a confidence in [0, 1] and
        the reasons for it, or None to let another plugin decide.
    """


@hookspec(firstresult=True)
def score_complexity(request: Request, intent: IntentResult, host: Host) -> ComplexityResult | None:
    """Score how hard a request is.

    Stops at the first non-None result.

    :param request: the validated request.
    :param intent: the result of :func:`classify`.
    :param host: the orchestrator asking, for the plugin's settings and its state
        (``host.plugin_state``); an implementation that needs neither leaves it out of its
        parameters and pluggy does not pass it.
    :return: ``simple``, ``moderate`` or ``complex`` with a score in [0, 1] and reasons,
        or None.
    """


@hookspec(firstresult=True)
def route_services(
    request: Request, intent: IntentResult, services: list[Service]
) -> ServiceRoute | None:
    """Choose the downstream services and tools a request needs.

    Stops at the first non-None result. Only called when services are registered.

    :param request: the validated request.
    :param intent: the result of :func:`classify`.
    :param services: every registered service.
    :return: the routed services and the tools to send the model, or None.
    """


@hookspec(firstresult=True)
def system_prompt_tokens(
    request: Request, intent: IntentResult, complexity: ComplexityResult, route: ServiceRoute
) -> int | None:
    """Estimate the tokens of the instructions :func:`generate_prompt` will write.

    Stops at the first non-None result. Called once per request, before a model is chosen,
    so that the input-token estimate (and the cost each model is chosen on) counts the
    system message the prompt plugin adds; the request, its context and its tools are
    counted by the host. A prompt plugin implements it beside ``generate_prompt``; without
    one the instructions count as no tokens.

    :param request: the validated request.
    :param intent: the result of :func:`classify`.
    :param complexity: the result of :func:`score_complexity`.
    :param route: the services and tools routed (empty when none).
    :return: the estimated tokens of the system message, or None.
    """


@hookspec(firstresult=True)
def select_model(
    request: Request,
    analysis: RequestAnalysis,
    catalog: CatalogView,
    constraints: Constraints,
    host: Host,
) -> Selection | None:
    """Choose the models to try, in order.

    Stops at the first non-None result.

    :param request: the validated request.
    :param analysis: intent, complexity, routed services and token estimates.
    :param catalog: every known model with its provider, tier, prices and whether it is
        usable now (:meth:`~dynamic_orchestrator.contract.CatalogView.usable`).
    :param constraints: ``max_cost``, ``preferred_models``, a forced ``model`` and
        whether the client can sample.
    :param host: the orchestrator asking, for the plugin's settings and its state
        (``host.plugin_state``); an implementation that needs neither leaves it out of its
        parameters and pluggy does not pass it.
    :return: a :class:`~dynamic_orchestrator.contract.Selection`: the primary model then
        its fallbacks, each with its estimated cost, none of which may exceed
        ``max_cost``; an empty chain with a reason when nothing fits; or None.
    """


@hookspec(firstresult=True)
def generate_prompt(
    request: Request, analysis: RequestAnalysis, model: ModelInfo, config: Config, host: Host
) -> Prompt | None:
    """Write the messages actually sent to a model.

    Stops at the first non-None result. Called once per model tried, so a prompt may be
    shaped for the model that receives it.

    :param request: the validated request.
    :param analysis: intent, complexity, routed services and tools.
    :param model: the model that will receive the prompt.
    :param config: the configuration (``prompt.max_context_chars`` is the context budget).
    :param host: the orchestrator asking, for the plugin's settings and its state
        (``host.plugin_state``); an implementation that needs neither leaves it out of its
        parameters and pluggy does not pass it.
    :return: the system and user messages and the tools to send, or None.
    """


@hookspec(firstresult=True)
def rewrite_prompt(
    context: ExecutionContext, orchestrator: Host
) -> Awaitable[Rewrite | None] | None:
    """Rewrite the user message before the chain runs (a cheap model makes it compact).

    Stops at the first non-None result. Called once per executed request, after
    :func:`generate_prompt` made the prompt of every model of the chain
    (``context.prompts``) and before :func:`execute`; the text returned replaces the user
    message of each. Return an awaitable, not an ``async def`` hook, or None to leave the
    prompts as they are (rewriting off, no model for it, the call failed). A rewriting call
    goes through the host's own call (``dynamic_orchestrator.execution.call_model``) on a
    context of its own, so its attempt is not one of the chain's; its tokens and cost, in
    the :class:`~dynamic_orchestrator.contract.Rewrite`, count in the request's totals.
    The ``compact`` plugin implements it, on with ``plugins.compact.rewrite``. The host
    may also call it only to learn whether a rewrite would happen, and close the awaitable
    unawaited: do the work inside the awaitable, not before returning it.

    :param context: the request, its analysis, the chain and its prompts.
    :param orchestrator: the host, for the plugin's state (a cache of rewrites, say).
    :return: an awaitable of a :class:`~dynamic_orchestrator.contract.Rewrite` (or of
        None: nothing rewritten after all), or None.
    """


@hookspec(firstresult=True)
def execute(context: ExecutionContext) -> Awaitable[Execution] | None:
    """Run a request on the planned chain of models.

    Stops at the first non-None result. Return an awaitable (a coroutine from a plain
    function that calls an ``async def``), not an ``async def`` hook. The host's own
    implementation (``trylast``) walks the chain: each model in order, its prompt from
    ``context.prompts``, retries of transient errors, fallback as the error taxonomy says,
    the tools the model calls; every try of a model goes through :func:`call_model`.

    Plugins add behaviour around the whole run with a wrapper, ``@hookimpl(wrapper=True)``:
    ``inner = yield`` gives the inner awaitable, and the wrapper returns a new one (an
    ``async def`` helper's coroutine) that awaits ``inner``, or answers without it (a
    cache hit; then close ``inner``). The resilience plugin's cache and budget do so.

    :param context: the request, its analysis, the chain and one prompt per model, the
        providers and where to report progress
        (:class:`~dynamic_orchestrator.contract.ExecutionContext`).
    :return: an awaitable :class:`~dynamic_orchestrator.contract.Execution` listing every
        attempt, or None.
    """


@hookspec(firstresult=True)
def call_model(model_call: ModelCall) -> Awaitable[Completion] | None:
    """Make one try of one model.

    Stops at the first non-None result. The host's implementation (``trylast``) calls the
    provider with its timeout and lists the attempt in ``context.attempts``. Plugins wrap
    it with ``@hookimpl(wrapper=True)``: ``inner = yield``, then return a coroutine that
    may refuse (raise :class:`~dynamic_orchestrator.contract.ProviderError` of kind
    ``unavailable`` and close ``inner``), may replace ``model_call.call`` before awaiting
    ``inner``, and sees the outcome (the breaker and the budget do so). Retries are the
    host's: each retry is a new ``call_model`` call, through every wrapper again.

    :param model_call: the request's context, the candidate and the provider call.
    :return: an awaitable :class:`~dynamic_orchestrator.contract.Completion`, or None.
    """


@hookspec
def record(record: RequestRecord, host: Host) -> None:
    """Receive each finished request, for metrics.

    Every implementation is called. Implementations must return quickly (queue slow work);
    an exception is logged and counted, and never fails the request.

    :param record: what happened: intent, tier, model, tokens, cost, savings, latency.
    :param host: the orchestrator that ran it (its
        :meth:`~dynamic_orchestrator.contract.Host.plugin_state` holds a sink's figures).
    """


@hookspec
def record_verdict(request_id: str, verdict: bool | float, source: str, host: Host) -> bool | None:
    """Receive a verdict on an earlier request, to label its outcome.

    Every implementation is called. ``verdict`` is true/false (the client's thumbs up or
    down) or a score in [0, 1]; ``source`` says where it came from (``feedback``: the
    client, through :meth:`Orchestrator.feedback` or the ``orchestrate`` tool's
    ``feedback`` argument). Implementations must return quickly (queue slow work) and
    return True when they stored the verdict; an exception is logged and never fails the
    request that carried the verdict.

    :param request_id: the ``request_id`` of the result the verdict is about.
    :param verdict: true/false or a score in [0, 1].
    :param source: where the verdict came from.
    :param host: the orchestrator asking, for the plugin's settings and its state
        (``host.plugin_state``); an implementation that needs neither leaves it out of its
        parameters and pluggy does not pass it.
    :return: True when this implementation stored the verdict, else False or None.
    """


@hookspec(firstresult=True)
def metrics_summary(period: str, persistent: bool, host: Host) -> MetricsSummary | None:
    """Summarise recorded requests over a period, for ``get_metrics``.

    Stops at the first non-None result.

    :param period: one of ``1m``, ``5m``, ``1h``, ``1d``.
    :param persistent: True to read the persistent store (across restarts and
        processes), False for this process's live windows.
    :param host: the orchestrator asking.
    :return: a :class:`~dynamic_orchestrator.contract.MetricsSummary` (its
        ``circuit_breakers`` field is filled by the host), or None.
    """


@hookspec(firstresult=True)
def circuit_states(host: Host) -> dict[str, str] | None:
    """Report the circuit-breaker state of each model.

    Stops at the first non-None result.

    :param host: the orchestrator asking (its breakers are in its plugin state).
    :return: a mapping of model name to ``closed``, ``open`` or ``half_open``, or None
        when no breaker is installed.
    """
