"""The pipeline: a request in, through the stages, a result and a record out.

``analyze`` runs the decision stages (classify, score, route, select). ``orchestrate``
adds the prompt, execution (or a delegated plan) and the record sent to every metrics
sink. Once a request is accepted (its arguments validated), it always ends as
``completed``, ``delegated`` or ``failed``: no exception escapes, and it is recorded.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio
from pydantic import ValidationError

from .catalog import CLIENT_PROVIDER, Catalog, ModelInfo, build_catalog, measured_cost
from .config import Config, load_config
from .errors import OrchestratorError, ProviderError, RequestError, redact
from .execution import ExecutionContext, ProgressCallback, build_call, call_model
from .hooks import Hooks
from .log import get_logger
from .models import (
    AnalysisResult,
    Candidate,
    Completion,
    Constraints,
    Execution,
    MetricsSummary,
    Options,
    OrchestrationResult,
    Plan,
    Prompt,
    Request,
    RequestAnalysis,
    RequestRecord,
    Selection,
    ServiceRoute,
    ToolSpec,
    Usage,
)
from .plugins import PluginManager, make_plugin_manager
from .providers import Provider, ProviderCall
from .savings import account, baseline_input_tokens
from .services import Service
from .tokens import (
    MESSAGE_OVERHEAD,
    estimate_json_tokens,
    estimate_output_tokens,
    estimate_tokens,
    estimate_tool_tokens,
)

log = get_logger("orchestrator")

PERIODS = ("1m", "5m", "1h", "1d")
T = TypeVar("T")


class _RequestIds:
    """Unique request ids, cheaply: 128 random bits per id from a generator seeded once
    from the operating system (``uuid.uuid4`` reads ``os.urandom`` for every id, which
    costs more than a whole routing decision on some machines). Ids need to be unique
    across processes (they meet in the shared metrics store), not unguessable."""

    def __init__(self) -> None:
        self._random = random.Random()  # seeded from os.urandom
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return f"{self._random.getrandbits(128):032x}"


_request_ids = _RequestIds()


def _tool_tokens(tools: list[ToolSpec]) -> int:
    """Estimated tokens of the tool definitions a prompt or plan actually carries."""
    return sum(estimate_tool_tokens(t) for t in tools)


def _field_errors(exc: ValidationError, prefix: str) -> str:
    parts = []
    for item in exc.errors():
        loc = ".".join(str(p) for p in item["loc"])
        where = f"{prefix}.{loc}" if loc else prefix
        message = "unknown option" if item["type"] == "extra_forbidden" else item["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


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
    ):
        self.config = config if config is not None else load_config()
        self.mcp_session = mcp_session
        self.pm = plugin_manager or make_plugin_manager(
            allow=self.config.plugins.load,
            disable=self.config.plugins.disable,
            strict=self.config.plugins.strict,
        )
        self.hooks = Hooks(self.pm, strict=self.config.plugins.strict)
        self.catalog = Catalog()
        self.providers: dict[str, Provider] = {}
        self.services: list[Service] = []
        self._initialized = False
        self._closed = False
        self._plugin_states: dict[str, Any] = {}
        self._rewrites: OrderedDict[tuple[str, str], tuple[str, int, int, float | None]] = (
            OrderedDict()
        )

    # --- lifecycle -----------------------------------------------------------------------

    async def initialize(self) -> Orchestrator:
        """Register models, providers and services and start the plugins. Idempotent."""
        if self._initialized:
            return self
        config = self.config
        self.providers = {p.name: p for p in self.hooks.register_providers(config)}
        models = self.hooks.register_models(config)
        self.catalog = build_catalog(config, self.providers.values(), models)
        self.services = self.hooks.register_services(config)
        for error in await self.hooks.startup(self):
            log.warning("startup_hook_failed", error=redact(str(error)))
        self._initialized = True
        return self

    async def close(self) -> None:
        """Stop the plugins (flush sinks, close sessions). Idempotent."""
        if self._closed or not self._initialized:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            for error in await self.hooks.shutdown(self):
                log.warning("shutdown_hook_failed", error=redact(str(error)))

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
        if not isinstance(request, str):
            raise RequestError(f"request: expected a string, got {type(request).__name__}")
        text = request.strip()
        if not text:
            raise RequestError("request: must not be empty")
        limit = self.config.server.max_request_chars
        if len(text) > limit:
            raise RequestError(f"request: {len(text)} characters, more than the limit of {limit}")
        if context is None:
            context = {}
        if not isinstance(context, Mapping):
            raise RequestError(f"context: expected an object, got {type(context).__name__}")
        if options is None:
            options = {}
        if isinstance(options, Options):
            parsed_options = options
        elif isinstance(options, Mapping):
            try:
                parsed_options = Options.model_validate(dict(options))
            except ValidationError as exc:
                raise RequestError(_field_errors(exc, "options")) from None
        else:
            raise RequestError(f"options: expected an object, got {type(options).__name__}")
        try:
            return Request(
                text=text,
                context=dict(context),
                options=parsed_options,
                request_id=_request_ids.next(),
            )
        except ValidationError as exc:
            raise RequestError(_field_errors(exc, "")) from None

    # --- analysis ------------------------------------------------------------------------

    def _require_initialized(self) -> None:
        if not self._initialized:
            raise OrchestratorError(
                "Orchestrator is not initialized: use 'async with Orchestrator()' "
                "or 'await orch.initialize()'"
            )

    def _constraints(self, request: Request, client_can_sample: bool) -> Constraints:
        options = request.options
        return Constraints(
            max_cost=options.max_cost,
            preferred_models=list(options.preferred_models),
            model=options.model,
            max_tokens=options.max_tokens,
            client_can_sample=client_can_sample,
        )

    def _estimate_input_tokens(self, request: Request, route: ServiceRoute) -> int:
        context_chars = self.config.prompt.max_context_chars
        context_tokens = min(estimate_json_tokens(request.context), (context_chars + 3) // 4)
        system = 40  # the compact per-intent instructions
        return (
            estimate_tokens(request.text)
            + context_tokens
            + system
            + route.tool_tokens_sent
            + 2 * MESSAGE_OVERHEAD
        )

    def run_analysis(
        self,
        request: Request,
        constraints: Constraints,
        *,
        stages: list[tuple[str, float, float]] | None = None,
    ) -> tuple[RequestAnalysis, Selection, AnalysisResult]:
        """The decision stages, synchronously: classify, score, route, select.

        :param stages: when given, each stage's (name, start, end) ``perf_counter`` times
            are appended to it.
        """
        hooks = self.hooks
        clock = time.perf_counter
        t0 = clock()
        intent = hooks.classify(request)
        t1 = clock()
        complexity = hooks.score_complexity(request, intent)
        t2 = clock()
        route = (
            hooks.route_services(request, intent, self.services) if self.services else None
        ) or ServiceRoute()
        t3 = clock()
        analysis = RequestAnalysis(
            intent=intent,
            complexity=complexity,
            route=route,
            estimated_input_tokens=self._estimate_input_tokens(request, route),
            estimated_output_tokens=estimate_output_tokens(
                intent.intent, complexity.level, constraints.max_tokens
            ),
            baseline_input_tokens=baseline_input_tokens(
                request.text, request.context, route.tool_tokens_available
            ),
        )
        t4 = clock()
        selection = hooks.select_model(request, analysis, self.catalog, constraints)
        if stages is not None:
            stages.append(("classify", t0, t1))
            stages.append(("score_complexity", t1, t2))
            if self.services:
                stages.append(("route_services", t2, t3))
            stages.append(("select_model", t4, clock()))
        return analysis, selection, self._analysis_result(analysis, selection)

    def _analysis_result(self, analysis: RequestAnalysis, selection: Selection) -> AnalysisResult:
        baseline_name = self.config.effective_baseline_model
        baseline = self.catalog.get(baseline_name)
        out_tokens = analysis.estimated_output_tokens
        baseline_cost = (
            baseline.estimate_cost(analysis.baseline_input_tokens, out_tokens) if baseline else None
        )
        primary = selection.chain[0] if selection.chain else None
        reasons = [
            f"intent {analysis.intent.intent}: " + "; ".join(analysis.intent.reasons),
            f"complexity {analysis.complexity.level}: " + "; ".join(analysis.complexity.reasons),
            *analysis.route.reasons,
            *selection.reasons,
        ]
        if selection.error:
            reasons.append(selection.error)
        return AnalysisResult(
            intent=analysis.intent.intent,
            intent_confidence=round(analysis.intent.confidence, 4),
            complexity=analysis.complexity.level,
            complexity_score=round(analysis.complexity.score, 4),
            tier=selection.tier,
            recommended_model=primary.model if primary else selection.delegate_to,
            recommended_provider=primary.provider if primary else None,
            fallback_models=[c.model for c in selection.chain[1:]],
            estimated_input_tokens=analysis.estimated_input_tokens,
            estimated_output_tokens=out_tokens,
            estimated_cost_usd=(
                None
                if primary is None or primary.estimated_cost_usd is None
                else round(primary.estimated_cost_usd, 8)
            ),
            baseline_model=baseline_name,
            baseline_cost_usd=None if baseline_cost is None else round(baseline_cost, 8),
            services=list(analysis.route.services),
            tools=[t.name for t in analysis.route.tools],
            reasons=[r for r in reasons if r],
        )

    async def analyze(
        self, request: str, context: Mapping[str, Any] | None = None, *, client: Any = None
    ) -> AnalysisResult:
        """Analyse a request without running it. Every cost in the result is an estimate.

        :param client: the MCP client connection; when it can sample, the client's own
            model may be the recommendation.
        """
        self._require_initialized()
        req = self.make_request(request, context)
        constraints = self._constraints(req, self._client_can_sample(client))
        _, _, result = self.run_analysis(req, constraints)
        return result

    def plan_client_call(self, req: Request, *, client: Any = None) -> ProviderCall | None:
        """The first call the pipeline will make, when it goes to the client's own model.

        For connections on which the server cannot ask the client in the middle of a call
        (MCP 2026-07-28), the front door asks the client's model before the pipeline runs
        (:mod:`dynamic_orchestrator.sampling`). The decision stages are synchronous and
        deterministic, so the same request gives the same call the pipeline will build.
        None when the client's model does not lead the chain, when nothing will be
        executed, or when prompt rewriting (which calls a model first) is on.
        """
        self._require_initialized()
        if not req.options.execute or self.config.prompt.rewrite:
            return None
        constraints = self._constraints(req, self._client_can_sample(client))
        analysis, selection, _ = self.run_analysis(req, constraints)
        if not selection.chain or selection.chain[0].provider != CLIENT_PROVIDER:
            return None
        first = selection.chain[0]
        model = self.catalog.get(first.model) or ModelInfo(
            name=first.model, provider=first.provider
        )
        ctx = ExecutionContext(
            request=req,
            analysis=analysis,
            selection=selection,
            catalog=self.catalog,
            config=self.config,
            prompt_for=lambda m: self.hooks.generate_prompt(req, analysis, m, self.config),
            client=client,
            max_tokens=req.options.max_tokens,
        )
        return build_call(ctx, first, model, ctx.prompt_for(model))

    # --- orchestration -------------------------------------------------------------------

    def _client_can_sample(self, client: Any) -> bool:
        client = client if client is not None else self.mcp_session
        if client is None:
            return False
        can_sample = getattr(client, "can_sample", None)
        if callable(can_sample):
            return bool(can_sample())
        return bool(can_sample)

    def _plan_model(self, selection: Selection) -> ModelInfo:
        name = selection.delegate_to or self.config.claude_code_models[selection.tier][0]
        return self.catalog.get(name) or ModelInfo(name=name, provider=CLIENT_PROVIDER)

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
        state: dict[str, Any] = {
            "analysis": None,
            "selection": None,
            "result_analysis": None,
            "stages": [],
        }
        try:
            result = await self._run(req, client, progress, state)
        except Exception as exc:  # an accepted request is never lost
            message = (
                redact(str(exc))
                if isinstance(exc, OrchestratorError)
                else (f"internal error: {type(exc).__name__}: {redact(str(exc))}")
            )
            log.error("request_failed", request_id=req.request_id, error=message)
            result = OrchestrationResult(
                status="failed",
                analysis=state["result_analysis"],
                error=message,
                request_id=req.request_id,
            )
        result.duration_ms = round((time.perf_counter() - start) * 1000, 3)
        self._record(req, result, state, start)
        return result

    async def _run(
        self,
        req: Request,
        client: Any,
        progress: ProgressCallback | None,
        state: dict[str, Any],
    ) -> OrchestrationResult:
        async def report(stage: str, fraction: float) -> None:
            if progress is not None:
                try:
                    await progress(stage, fraction)
                except Exception as exc:  # a broken progress channel never fails a request
                    log.debug("progress_failed", error=repr(exc))

        constraints = self._constraints(req, self._client_can_sample(client))
        await report("analyzing", 0.1)
        stages: list[tuple[str, float, float]] = state["stages"]
        analysis, selection, result_analysis = self.run_analysis(req, constraints, stages=stages)
        state.update(analysis=analysis, selection=selection, result_analysis=result_analysis)
        await report(f"selected {result_analysis.recommended_model}", 0.3)

        if selection.error and not selection.chain:
            return OrchestrationResult(
                status="failed",
                analysis=result_analysis,
                error=selection.error,
                request_id=req.request_id,
            )
        if not selection.chain or not req.options.execute:
            began = time.perf_counter()
            delegated = self._delegated(req, analysis, selection, result_analysis)
            stages.append(("generate_prompt", began, time.perf_counter()))
            state["tool_tokens_sent"] = _tool_tokens(delegated.plan.tools if delegated.plan else [])
            return delegated

        rewrite = await self._maybe_rewrite(req, analysis, selection, client)

        def prompt_for(model: ModelInfo) -> Prompt:
            began = time.perf_counter()
            prompt = self.hooks.generate_prompt(req, analysis, model, self.config)
            stages.append(("generate_prompt", began, time.perf_counter()))
            state["tool_tokens_sent"] = _tool_tokens(prompt.tools)
            if rewrite is not None:
                prompt = prompt.model_copy(update={"user": rewrite[0]})
            return prompt

        ctx = ExecutionContext(
            request=req,
            analysis=analysis,
            selection=selection,
            catalog=self.catalog,
            config=self.config,
            prompt_for=prompt_for,
            progress=report,
            client=client,
            max_tokens=req.options.max_tokens,
            services={s.name: s for s in self.services},
        )
        began = time.perf_counter()
        execution = await self.hooks.execute(ctx)
        stages.append(("execute", began, time.perf_counter()))
        await report("done", 1.0)
        return self._finish(req, analysis, result_analysis, execution, rewrite)

    def _delegated(
        self,
        req: Request,
        analysis: RequestAnalysis,
        selection: Selection,
        result_analysis: AnalysisResult,
    ) -> OrchestrationResult:
        model = (
            self._plan_model(selection)
            if not selection.chain
            else (
                self.catalog.get(selection.chain[0].model)
                or ModelInfo(name=selection.chain[0].model, provider=selection.chain[0].provider)
            )
        )
        prompt = self.hooks.generate_prompt(req, analysis, model, self.config)
        plan = Plan(
            model=model.name,
            tier=selection.tier,
            system=prompt.system,
            prompt=prompt.user,
            tools=list(prompt.tools),
            max_tokens=req.options.max_tokens or prompt.max_tokens,
        )
        return OrchestrationResult(
            status="delegated",
            plan=plan,
            analysis=result_analysis,
            model=model.name,
            provider=CLIENT_PROVIDER,
            usage=Usage(
                input_tokens=estimate_tokens(prompt.system) + estimate_tokens(prompt.user),
                output_tokens=0,
                estimated=True,
            ),
            cost_usd=0.0,
            baseline_cost_usd=None,
            saved_usd=0.0,
            savings_basis="nothing ran here: the client runs the plan; no saving claimed",
            request_id=req.request_id,
        )

    def _finish(
        self,
        req: Request,
        analysis: RequestAnalysis,
        result_analysis: AnalysisResult,
        execution: Execution,
        rewrite: tuple[str, int, int, float | None] | None,
    ) -> OrchestrationResult:
        completion = execution.completion
        if completion is None:
            # Nothing kept, but money may still have gone: the rewrite call, tool-loop rounds
            # of a model that then failed. A failed request records what was really spent.
            spent = execution.extra_cost_usd + ((rewrite[3] or 0.0) if rewrite else 0.0)
            return OrchestrationResult(
                status="failed",
                analysis=result_analysis,
                attempts=execution.attempts,
                cost_usd=round(spent, 8),
                error=execution.error or "every model in the chain failed",
                request_id=req.request_id,
            )
        extra_in = rewrite[1] if rewrite else 0
        extra_out = rewrite[2] if rewrite else 0
        extra_cost = (rewrite[3] or 0.0) if rewrite else 0.0
        input_tokens = completion.input_tokens + extra_in
        output_tokens = completion.output_tokens + extra_out
        cost = completion.cost_usd
        if cost is None and completion.provider != CLIENT_PROVIDER and not execution.cached:
            answered = self.catalog.get(completion.model)
            if answered is None and execution.attempts:
                answered = self.catalog.get(execution.attempts[-1].model)
            cost = measured_cost(answered, completion.input_tokens, completion.output_tokens)
        if execution.cached:
            cost = 0.0
        elif cost is not None:
            cost += extra_cost + execution.extra_cost_usd
        savings = account(
            self.catalog,
            self.config.effective_baseline_model,
            baseline_tokens=analysis.baseline_input_tokens,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            usage_measured=not completion.usage_estimated,
            claim=completion.provider != CLIENT_PROVIDER,
        )
        return OrchestrationResult(
            status="completed",
            output=completion.text,
            analysis=result_analysis,
            model=completion.model,
            provider=completion.provider,
            attempts=execution.attempts,
            usage=Usage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                estimated=completion.usage_estimated,
            ),
            cost_usd=savings.cost_usd,
            baseline_cost_usd=savings.baseline_cost_usd,
            saved_usd=savings.saved_usd,
            savings_basis=(
                "cache hit: no tokens spent; " + savings.basis
                if execution.cached
                else savings.basis
            ),
            cached=execution.cached,
            request_id=req.request_id,
        )

    # --- prompt rewriting (optional) -------------------------------------------------------

    async def _maybe_rewrite(
        self, req: Request, analysis: RequestAnalysis, selection: Selection, client: Any
    ) -> tuple[str, int, int, float | None] | None:
        """With ``prompt.rewrite``, a cheap model rewrites the user message; cached.

        Returns (text, input tokens, output tokens, cost) of the rewriting call, which
        count in the request's totals; None when off or when no cheap model is usable.
        """
        settings = self.config.prompt
        if not settings.rewrite:
            return None
        name = settings.rewrite_model or next(
            (m for m in self.config.execution["simple"].models if self.catalog.usable(m)), None
        )
        model = self.catalog.get(name) if name else None
        if model is None or not self.catalog.usable(model.name) or model.provider is None:
            return None
        base = self.hooks.generate_prompt(req, analysis, model, self.config)
        key = (model.name, base.user)
        if key in self._rewrites:
            self._rewrites.move_to_end(key)
            text, *_ = self._rewrites[key]
            return (text, 0, 0, 0.0)
        instruction = Prompt(
            system=(
                "Rewrite the user's request as a compact, complete instruction for another "
                "model. Keep every fact, name, number and constraint. Output only the rewrite."
            ),
            user=base.user,
            max_tokens=max(64, analysis.estimated_input_tokens),
        )
        candidate = Candidate(model=model.name, provider=model.provider)
        ctx = ExecutionContext(
            request=req,
            analysis=analysis,
            selection=selection,
            catalog=self.catalog,
            config=self.config,
            prompt_for=lambda _m: instruction,
            client=client,
        )
        try:
            completion: Completion = await call_model(
                ctx, candidate, build_call(ctx, candidate, model, instruction)
            )
        except ProviderError as exc:
            log.info("prompt_rewrite_failed", error=str(exc))
            return None
        text = (completion.text or "").strip() or base.user
        cost = completion.cost_usd
        if cost is None:
            cost = measured_cost(model, completion.input_tokens, completion.output_tokens)
        entry = (text, completion.input_tokens, completion.output_tokens, cost)
        self._rewrites[key] = entry
        if len(self._rewrites) > 256:
            self._rewrites.popitem(last=False)
        return entry

    # --- metrics -------------------------------------------------------------------------

    def _record(
        self, req: Request, result: OrchestrationResult, state: dict[str, Any], start: float
    ) -> None:
        analysis: RequestAnalysis | None = state.get("analysis")
        selection: Selection | None = state.get("selection")
        baseline_tokens = analysis.baseline_input_tokens if analysis else 0
        claimed = result.status == "completed" and result.provider != CLIENT_PROVIDER
        record = RequestRecord(
            timestamp=time.time(),
            request_id=req.request_id,
            status=result.status,
            intent=analysis.intent.intent if analysis else None,
            complexity=analysis.complexity.level if analysis else None,
            model=result.model,
            provider=result.provider,
            duration_ms=result.duration_ms,
            input_tokens=result.usage.input_tokens if result.status == "completed" else 0,
            output_tokens=result.usage.output_tokens if result.status == "completed" else 0,
            usage_estimated=result.usage.estimated,
            cost_usd=result.cost_usd,
            baseline_model=self.config.effective_baseline_model,
            baseline_input_tokens=baseline_tokens,
            baseline_cost_usd=result.baseline_cost_usd,
            tokens_saved=(baseline_tokens - result.usage.input_tokens) if claimed else 0,
            saved_usd=result.saved_usd or 0.0,
            saving_claimed=claimed
            and result.cost_usd is not None
            and result.baseline_cost_usd is not None,
            cached=result.cached,
            services=list(analysis.route.services) if analysis else [],
            tool_tokens_sent=state.get("tool_tokens_sent", 0),
            tool_tokens_available=analysis.route.tool_tokens_available if analysis else 0,
            attempts=len(result.attempts),
            error_kind=next((a.error_kind for a in reversed(result.attempts) if a.error_kind), None)
            if result.status == "failed"
            else None,
            tier=selection.tier if selection else None,
            intent_confidence=analysis.intent.confidence if analysis else None,
            complexity_score=analysis.complexity.score if analysis else None,
            savings_basis=result.savings_basis,
            error=result.error,
            attempt_log=result.attempts,
            stages=[
                (name, (began - start) * 1000, (ended - began) * 1000)
                for name, began, ended in state["stages"]
            ],
        )
        self.hooks.record(record)

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
