"""The record of a finished request, as every metrics sink receives it (no request text)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .contract import CLIENT_PROVIDER, OrchestrationResult, RequestAnalysis, RequestRecord

__all__ = ["build_record"]


def build_record(
    request_id: str,
    result: OrchestrationResult,
    analysis: RequestAnalysis | None,
    *,
    baseline_model: str,
    tool_tokens_sent: int,
    stages: Sequence[tuple[str, float, float]] = (),
) -> RequestRecord:
    """What happened to one request: intent, tier, model, tokens, cost, savings, latency.

    :param stages: (stage, start ms after the request began, duration ms), for traces.
    """
    baseline_tokens = analysis.baseline_input_tokens if analysis else 0
    completed = result.status == "completed"
    claimed = completed and result.provider != CLIENT_PROVIDER
    return RequestRecord(
        timestamp=time.time(),
        request_id=request_id,
        status=result.status,
        intent=analysis.intent.intent if analysis else None,
        complexity=analysis.complexity.level if analysis else None,
        model=result.model,
        provider=result.provider,
        duration_ms=result.duration_ms,
        input_tokens=result.usage.input_tokens if completed else 0,
        output_tokens=result.usage.output_tokens if completed else 0,
        usage_estimated=result.usage.estimated,
        cost_usd=result.cost_usd,
        baseline_model=baseline_model,
        baseline_input_tokens=baseline_tokens,
        baseline_cost_usd=result.baseline_cost_usd,
        tokens_saved=(baseline_tokens - result.usage.input_tokens) if claimed else 0,
        saved_usd=result.saved_usd or 0.0,
        saving_claimed=claimed
        and result.cost_usd is not None
        and result.baseline_cost_usd is not None,
        cached=result.cached,
        services=list(analysis.route.services) if analysis else [],
        tool_tokens_sent=tool_tokens_sent,
        tool_tokens_available=analysis.route.tool_tokens_available if analysis else 0,
        attempts=len(result.attempts),
        error_kind=next((a.error_kind for a in reversed(result.attempts) if a.error_kind), None)
        if result.status == "failed"
        else None,
        tier=result.analysis.tier if result.analysis else None,
        intent_confidence=analysis.intent.confidence if analysis else None,
        complexity_score=analysis.complexity.score if analysis else None,
        savings_basis=result.savings_basis,
        error=result.error,
        attempt_log=result.attempts,
        stages=list(stages),
    )
