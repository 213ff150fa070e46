"""Deciding: the synchronous stages that choose what to run, once per request.

classify → score_complexity → route_services → token estimates (the prompt plugin's
instructions, the intent's expected answer length) → select_model, and the
:class:`~dynamic_orchestrator.contract.AnalysisResult` the caller sees. Every figure here
is an estimate made before any model runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from .contract import (
    AnalysisResult,
    CatalogView,
    Config,
    Constraints,
    Request,
    RequestAnalysis,
    Selection,
    Service,
    ServiceRoute,
)
from .hooks import Hooks
from .savings import baseline_input_tokens
from .tokens import (
    MESSAGE_OVERHEAD,
    estimate_json_tokens,
    estimate_output_tokens,
    estimate_tokens,
)

__all__ = ["Decision", "analysis_result", "decide", "input_tokens"]


@dataclass(frozen=True)
class Decision:
    """What the decision stages concluded about one request."""

    request: Request
    constraints: Constraints
    analysis: RequestAnalysis
    selection: Selection
    result: AnalysisResult
    """What the caller sees of it (``analyze_request``'s structured result)."""


def input_tokens(
    config: Config,
    request: Request,
    route: ServiceRoute,
    system_tokens: int = 0,
    context_tokens: int | None = None,
) -> int:
    """Estimated input tokens of the prompt that will be sent (context cut to its budget).

    :param system_tokens: the prompt plugin's estimate of its instructions
        (the ``system_prompt_tokens`` hook).
    :param context_tokens: ``estimate_json_tokens(request.context)`` when already known.
    """
    if context_tokens is None:
        context_tokens = estimate_json_tokens(request.context)
    context_chars = config.prompt.max_context_chars
    context_tokens = min(context_tokens, (context_chars + 3) // 4)
    return (
        estimate_tokens(request.text)
        + context_tokens
        + system_tokens
        + route.tool_tokens_sent
        + 2 * MESSAGE_OVERHEAD
    )


def decide(
    hooks: Hooks,
    config: Config,
    catalog: CatalogView,
    services: Sequence[Service],
    request: Request,
    constraints: Constraints,
    *,
    stages: list[tuple[str, float, float]] | None = None,
) -> Decision:
    """Run the decision stages on an accepted request.

    :param stages: when given, each stage's (name, start, end) ``perf_counter`` times are
        appended to it (for traces).
    """
    clock = time.perf_counter
    t0 = clock()
    intent = hooks.classify(request)
    t1 = clock()
    complexity = hooks.score_complexity(request, intent)
    t2 = clock()
    route = (
        hooks.route_services(request, intent, list(services)) if services else None
    ) or ServiceRoute()
    t3 = clock()
    system_tokens = hooks.system_prompt_tokens(request, intent, complexity, route)
    context_tokens = estimate_json_tokens(request.context)  # serialised once, used twice
    analysis = RequestAnalysis(
        intent=intent,
        complexity=complexity,
        route=route,
        estimated_input_tokens=input_tokens(config, request, route, system_tokens, context_tokens),
        estimated_output_tokens=estimate_output_tokens(
            hooks.intents.get(intent.intent), complexity.level, constraints.max_tokens
        ),
        baseline_input_tokens=baseline_input_tokens(
            request.text, request.context, route.tool_tokens_available, context_tokens
        ),
    )
    t4 = clock()
    selection = hooks.select_model(request, analysis, catalog, constraints)
    if stages is not None:
        stages.append(("classify", t0, t1))
        stages.append(("score_complexity", t1, t2))
        if services:
            stages.append(("route_services", t2, t3))
        stages.append(("select_model", t4, clock()))
    return Decision(
        request=request,
        constraints=constraints,
        analysis=analysis,
        selection=selection,
        result=analysis_result(config, catalog, analysis, selection),
    )


def analysis_result(
    config: Config, catalog: CatalogView, analysis: RequestAnalysis, selection: Selection
) -> AnalysisResult:
    """The analysis as the caller sees it; every cost in it is an estimate."""
    baseline_name = config.effective_baseline_model
    baseline = catalog.get(baseline_name)
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
