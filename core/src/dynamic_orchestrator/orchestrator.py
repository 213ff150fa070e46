"""The pipeline: a request in, through the stages, a result and a record out.

One request walks one way: :mod:`.intake` accepts it → :mod:`.decide` runs the decision
stages once (classify, score, route, select) → :mod:`.planning` makes the prompt for
every model of the chain (or a delegated plan) → ``execute`` runs the chain
(:mod:`.execution`) → :mod:`.accounting` prices it and computes the saving →
:mod:`.records` builds the record every metrics sink receives. A :class:`Trace` holds
what each stage produced. Once a request is accepted it always ends ``completed``,
``delegated`` or ``failed``: no exception escapes, and it is recorded.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from .accounting import finish
from .catalog import Catalog, build_catalog
from .config import Config, load_config, resolve_plugin_settings
from .contract import (
    CLIENT_PROVIDER,
    AnalysisResult,
    Constraints,
    Execution,
    ExecutionContext,
    IntentInfo,
    MetricsSummary,
    Options,
    OrchestrationResult,
    OrchestratorError,
    ProgressCallback,
    Prompt,
    Provider,
    ProviderCall,
    Request,
    RequestAnalysis,
    RequestError,
    Rewrite,
    Selection,
    Service,
    redact,
)
from .decide import Decision, decide
from .execution import build_call
from .hooks import Hooks, installed_settings
from .intake import client_can_sample, constraints_for, make_request
from .log import get_logger
from .planning import chain_prompts, delegated, failed_plan, model_for, tool_tokens, with_user
from .plugins import PluginManager, load_entry_points, make_plugin_manager
from .records import build_record
from .watchdog import LoopWatchdog, owners

log = get_logger("orchestrator")

PERIODS = ("1m", "5m", "1h", "1d")
AHEAD_TTL = 300.0
"""Seconds a decision made ahead (for a client's model asked before the pipeline) is kept."""
T = TypeVar("T")


@dataclass
class Trace:
    """What each stage produced for one request, in order; what the record is built from."""

    request: Request
    decision: Decision | None = None
    rewrite: Rewrite | None = None
    prompts: dict[str, Prompt] = field(default_factory=dict)
    execution: Execution | None = None
    tool_tokens_sent: int = 0
    stages: list[tuple[str, float, float]] = field(default_factory=list)
    """(stage, start, end) ``perf_counter`` times, for traces."""


def _ahead_key(req: Request, can_sample: bool) -> str:
    return json.dumps(
        [req.text, req.context, req.options.model_dump(mode="json"), can_sample],
        sort_keys=True,
        default=str,
    )


class Orchestrator:
    """The embeddable orchestrator.

    >>> async with Orchestrator() as orch:            # embedded defaults
    ...     result = await orch.orchestrate("Create a REST API for user management")
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        mcp_session: Any = None,
        plugin_manager: PluginManager | None = None,
        plugins: Iterable[object] = (),
    ):
        self.config = config if config is not None else load_config()
        self.mcp_session = mcp_session
        settings = self.config.plugins
        if plugin_manager is None:
            plugin_manager = make_plugin_manager(
                allow=settings.load,
                disable=settings.disable,
                strict=settings.strict,
                plugins=plugins,
                order=settings.order,
            )
        elif plugins:
            load_entry_points(
                plugin_manager,
                disable=settings.disable,
                strict=settings.strict,
                plugins=plugins,
                order=settings.order,
                entry_points=False,
            )
        self.pm = plugin_manager
        self.hooks = Hooks(self.pm, strict=self.config.plugins.strict, host=self)
        # Each plugin's settings, validated by its own model (in-process plugins' first).
        self.config = resolve_plugin_settings(
            self.config, [*self.hooks.plugin_settings(), *installed_settings()]
        )
        self.catalog = Catalog()
        self.providers: dict[str, Provider] = {}
        self.services: list[Service] = []
        self.intents: dict[str, IntentInfo] = dict(self.hooks.intents)
        """The intents ``classify`` may answer with: the defaults and those registered."""
        self._initialized = False
        self._closed = False
        self._plugin_states: dict[str, Any] = {}
        self._deciding = anyio.Lock()
        self.watchdog: LoopWatchdog | None = None
        """Names what blocks the event loop (``plugins.loop_block_warning``)."""
        self._ahead: OrderedDict[str, tuple[float, Decision]] = OrderedDict()

    # --- lifecycle -----------------------------------------------------------------------

    async def initialize(self) -> Orchestrator:
        """Register models, providers and services and start the plugins. Idempotent."""
        if self._initialized:
            return self
        config = self.config
        self.intents = self.hooks.register_intents(config)
        self.providers = {p.name: p for p in self.hooks.register_providers(config)}
        models = self.hooks.register_models(config)
        self.catalog = build_catalog(config, self.providers.values(), models)
        self.services = self.hooks.register_services(config)
        if config.plugins.loop_block_warning > 0:
            names = owners(self.pm.list_name_plugin(), self.providers)
            self.watchdog = LoopWatchdog(names, config.plugins.loop_block_warning)
        for error in await self.hooks.startup(self, config.plugins.startup_timeout):
            log.warning("startup_hook_failed", error=redact(str(error)))
        self._initialized = True
        return self

    async def close(self) -> None:
        """Stop the plugins (flush sinks, close sessions). Idempotent."""
        if self._closed or not self._initialized:
            return
        self._closed = True
        if self.watchdog is not None:
            self.watchdog.stop()
        with anyio.CancelScope(shield=True):
            for error in await self.hooks.shutdown(self, self.config.plugins.startup_timeout):
                log.warning("shutdown_hook_failed", error=redact(str(error)))

    async def _execute(self, ctx: ExecutionContext) -> Execution:
        """The ``execute`` hook within ``plugins.execute_timeout``; past it, a failed
        execution naming the implementations (a plugin's hang is not the client's wait)."""
        timeout = self.config.plugins.execute_timeout
        with anyio.move_on_after(timeout):
            return await self.hooks.execute(ctx)
        names = sorted({impl.plugin_name for impl in self.pm.hook.execute.get_hookimpls()})
        error = (
            f"execute did not finish within {timeout:g}s (plugins.execute_timeout); "
            f"its implementations: {', '.join(names)}"
        )
        log.error("execute_timed_out", request_id=ctx.request.request_id, error=error)
        return Execution(completion=None, attempts=list(ctx.attempts), error=error)

    def plugin_state(self, name: str, factory: Callable[[], T]) -> T:
        """This orchestrator's state object for plugin ``name``, made on first use."""
        if name not in self._plugin_states:
            self._plugin_states[name] = factory()
        state: T = self._plugin_states[name]
        return state

    async def __aenter__(self) -> Orchestrator:
        return await self.initialize()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- input ---------------------------------------------------------------------------

    def make_request(
        self,
        request: Any,
        context: Any = None,
        options: Any = None,
    ) -> Request:
        """Validate raw arguments; a :class:`RequestError` says which field is wrong."""
        return make_request(
            request, context, options, max_chars=self.config.server.max_request_chars
        )

    # --- deciding ------------------------------------------------------------------------

    def _require_initialized(self) -> None:
        if not self._initialized:
            raise OrchestratorError(
                "Orchestrator is not initialized: use 'async with Orchestrator()' "
                "or 'await orch.initialize()'"
            )

    def _constraints(self, request: Request, can_sample: bool) -> Constraints:
        return constraints_for(request, can_sample)

    def _client_can_sample(self, client: Any) -> bool:
        return client_can_sample(client if client is not None else self.mcp_session)

    def decide(
        self,
        request: Request,
        constraints: Constraints,
        *,
        stages: list[tuple[str, float, float]] | None = None,
    ) -> Decision:
        """The decision stages on an accepted request: classify, score, route, select."""
        return decide(
            self.hooks,
            self.config,
            self.catalog,
            self.services,
            request,
            constraints,
            stages=stages,
        )

    def run_analysis(
        self, request: Request, constraints: Constraints
    ) -> tuple[RequestAnalysis, Selection, AnalysisResult]:
        """The decision stages, synchronously: (analysis, selection, analysis result)."""
        decision = self.decide(request, constraints)
        return decision.analysis, decision.selection, decision.result

    async def analyze(
        self, request: str, context: Mapping[str, Any] | None = None, *, client: Any = None
    ) -> AnalysisResult:
        """Analyse a request without running it. Every cost in the result is an estimate.

        :param client: the MCP client connection; when it can sample, the client's own
            model may be the recommendation.
        """
        self._require_initialized()
        req = self.make_request(request, context)
        return self.decide(req, self._constraints(req, self._client_can_sample(client))).result

    def _decide_once(
        self,
        req: Request,
        client: Any,
        *,
        keep: bool,
        stages: list[tuple[str, float, float]] | None = None,
    ) -> Decision:
        """The decision for ``req``; one made ahead for the same request is reused (once).

        The front door may decide ahead of the pipeline (:meth:`plan_client_call`); the
        pipeline then runs on that decision, under its request id, instead of deciding
        again. ``keep`` stores the decision for that.
        """
        can_sample = self._client_can_sample(client)
        key = _ahead_key(req, can_sample)
        now = time.monotonic()
        while self._ahead and next(iter(self._ahead.values()))[0] < now - AHEAD_TTL:
            self._ahead.popitem(last=False)
        found = self._ahead.get(key) if keep else self._ahead.pop(key, None)
        if found is not None:
            return found[1]
        decision = self.decide(req, self._constraints(req, can_sample), stages=stages)
        if keep:
            self._ahead[key] = (now, decision)
            while len(self._ahead) > 256:
                self._ahead.popitem(last=False)
        return decision

    def plan_client_call(self, req: Request, *, client: Any = None) -> ProviderCall | None:
        """The first call the pipeline will make, when it goes to the client's own model.

        For connections on which the server cannot ask the client in the middle of a call
        (MCP 2026-07-28), the front door asks the client's model before the pipeline runs
        (:mod:`dynamic_orchestrator.sampling`). The decision made here is kept, and the
        pipeline runs on it (same request id, no second analysis). None when the client's
        model does not lead the chain, when nothing will be executed, or when a plugin
        rewrites the prompts (which calls a model first).
        """
        self._require_initialized()
        if not req.options.execute:
            return None
        decision = self._decide_once(req, client, keep=True)
        selection = decision.selection
        if not selection.chain or selection.chain[0].provider != CLIENT_PROVIDER:
            return None
        first = selection.chain[0]
        ctx = self._context(
            decision, chain_prompts(self.hooks, self.config, self.catalog, decision), client
        )
        if self.hooks.rewrites(ctx, self):
            return None
        model = model_for(self.catalog, first)
        return build_call(ctx, first, model, ctx.prompt_for(model))

    # --- orchestration -------------------------------------------------------------------

    async def orchestrate(
        self,
        request: str,
        context: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | Options | None = None,
        *,
        client: Any = None,
        progress: ProgressCallback | None = None,
    ) -> OrchestrationResult:
        """Run a request end to end.

        :param client: the MCP client connection (for sampling on the client's model).
        :param progress: ``async (stage, fraction)`` called as stages complete.
        :raises RequestError: when the arguments are invalid (nothing was accepted).
        """
        self._require_initialized()
        req = self.make_request(request, context, options)
        return await self.run(req, client=client, progress=progress)

    async def run(
        self,
        req: Request,
        *,
        client: Any = None,
        progress: ProgressCallback | None = None,
    ) -> OrchestrationResult:
        """Run an accepted request; never raises, always records."""
        start = time.perf_counter()
        client = client if client is not None else self.mcp_session
        trace = Trace(request=req)
        try:
            result = await self._run(trace, client, progress)
        except Exception as exc:  # an accepted request is never lost
            message = (
                redact(str(exc))
                if isinstance(exc, OrchestratorError)
                else (f"internal error: {type(exc).__name__}: {redact(str(exc))}")
            )
            log.error("request_failed", request_id=trace.request.request_id, error=message)
            result = OrchestrationResult(
                status="failed",
                analysis=trace.decision.result if trace.decision else None,
                error=message,
                request_id=trace.request.request_id,
            )
        result.duration_ms = round((time.perf_counter() - start) * 1000, 3)
        self.hooks.record(
            build_record(
                trace.request.request_id,
                result,
                trace.decision.analysis if trace.decision else None,
                baseline_model=self.config.effective_baseline_model,
                tool_tokens_sent=trace.tool_tokens_sent,
                stages=[
                    (name, (began - start) * 1000, (ended - began) * 1000)
                    for name, began, ended in trace.stages
                ],
            )
        )
        return result

    def _context(
        self,
        decision: Decision,
        prompts: dict[str, Prompt],
        client: Any,
        progress: ProgressCallback | None = None,
    ) -> ExecutionContext:
        return ExecutionContext(
            request=decision.request,
            analysis=decision.analysis,
            selection=decision.selection,
            catalog=self.catalog,
            config=self.config,
            prompts=prompts,
            progress=progress,
            client=client,
            max_tokens=decision.request.options.max_tokens,
            services={s.name: s for s in self.services},
        )

    async def _run(
        self, trace: Trace, client: Any, progress: ProgressCallback | None
    ) -> OrchestrationResult:
        async def report(stage: str, fraction: float) -> None:
            if progress is not None:
                try:
                    await progress(stage, fraction)
                except Exception as exc:  # a broken progress channel never fails a request
                    log.debug("progress_failed", error=repr(exc))

        await report("analyzing", 0.1)
        stages = trace.stages
        # Decisions take their turn, one per pass of the event loop: a burst of requests
        # does not run every analysis back to back (seconds of CPU under load) while the
        # calls already in flight wait to read their answers and time out.
        async with self._deciding:
            decision = trace.decision = self._decide_once(
                trace.request, client, keep=False, stages=stages
            )
        trace.request = decision.request
        selection = decision.selection
        await report(f"selected {decision.result.recommended_model}", 0.3)

        if selection.error and not selection.chain:
            return OrchestrationResult(
                status="failed",
                analysis=decision.result,
                error=selection.error,
                request_id=decision.request.request_id,
            )
        if not selection.chain or not decision.request.options.execute:
            began = time.perf_counter()
            result, prompt = delegated(self.hooks, self.config, self.catalog, decision)
            stages.append(("generate_prompt", began, time.perf_counter()))
            trace.tool_tokens_sent = tool_tokens(prompt)
            return result

        began = time.perf_counter()
        trace.prompts = chain_prompts(self.hooks, self.config, self.catalog, decision)
        stages.append(("generate_prompt", began, time.perf_counter()))
        ctx = self._context(decision, trace.prompts, client, report)
        began = time.perf_counter()
        trace.rewrite = await self.hooks.rewrite_prompt(ctx, self)
        if trace.rewrite is not None:
            stages.append(("rewrite_prompt", began, time.perf_counter()))
            trace.prompts = with_user(trace.prompts, trace.rewrite.text)
            ctx = self._context(decision, trace.prompts, client, report)
        began = time.perf_counter()
        execution = trace.execution = await self._execute(ctx)
        stages.append(("execute", began, time.perf_counter()))
        # The tools sent to the last model tried (none when nothing was called: a cache hit).
        tried = execution.attempts[-1].model if execution.attempts else None
        trace.tool_tokens_sent = tool_tokens(trace.prompts.get(tried) if tried else None)
        await report("done", 1.0)
        result = finish(
            self.catalog,
            self.config.effective_baseline_model,
            decision,
            execution,
            trace.rewrite,
        )
        if result.status == "failed":
            # Failed here, but the client may run the plan itself with its own model.
            result.plan = failed_plan(decision, trace.prompts)
        return result

    # --- verdicts ------------------------------------------------------------------------

    def feedback(self, request_id: str, verdict: bool | float, *, source: str = "feedback") -> int:
        """Record a verdict on an earlier request (the client's thumbs up/down: True/False,
        or a score in [0, 1]) beside its outcome; how many plugins stored it (0: none
        keeps outcomes, e.g. the router's ``outcomes`` log is off)."""
        if not request_id or not isinstance(request_id, str):
            raise RequestError("feedback: request_id must be a non-empty string")
        if isinstance(verdict, bool):
            pass
        elif isinstance(verdict, int | float) and 0.0 <= float(verdict) <= 1.0:
            verdict = float(verdict)
        else:
            raise RequestError(
                f"feedback: verdict must be true/false or a score in [0, 1], not {verdict!r}"
            )
        return self.hooks.record_verdict(request_id, verdict, source)

    # --- metrics -------------------------------------------------------------------------

    async def metrics(self, period: str = "5m", *, persistent: bool = False) -> MetricsSummary:
        """Aggregated metrics over a period (``1m``, ``5m``, ``1h``, ``1d``)."""
        if period not in PERIODS:
            raise RequestError(f"period: expected one of {', '.join(PERIODS)}, got {period!r}")
        if persistent:  # a store on disk: read it off the event loop
            summary = await anyio.to_thread.run_sync(self.hooks.metrics_summary, period, True)
        else:
            summary = self.hooks.metrics_summary(period, False)
        if summary is None:
            summary = MetricsSummary(
                period=period,  # type: ignore[arg-type]
                notes=["no metrics sink is installed: nothing was recorded"],
            )
        return summary.model_copy(
            update={
                "circuit_breakers": self.hooks.circuit_states(),
                "baseline_model": self.config.effective_baseline_model,
            }
        )
