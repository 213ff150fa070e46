"""Accounting: what a finished execution cost and saved, as pure functions.

A completion is priced in one place (:func:`~dynamic_orchestrator.pricing.completion_cost`)
and a saving is computed in one place (:func:`~dynamic_orchestrator.savings.account`);
this module adds up the request's calls (the rewriting call, tool rounds of models that
then failed) and shapes the result.
"""

from __future__ import annotations

from .contract import (
    CLIENT_PROVIDER,
    CatalogView,
    Execution,
    OrchestrationResult,
    Rewrite,
    Usage,
    redact_known,
)
from .decide import Decision
from .pricing import completion_cost
from .savings import account

__all__ = ["finish"]


def finish(
    catalog: CatalogView,
    baseline_model: str,
    decision: Decision,
    execution: Execution,
    rewrite: Rewrite | None = None,
) -> OrchestrationResult:
    """The result of an executed request: completed with its cost and saving, or failed."""
    request_id = decision.request.request_id
    rewrite_cost = (rewrite.cost_usd or 0.0) if rewrite else 0.0
    completion = execution.completion
    if completion is None:
        # Nothing kept, but money may still have gone: the rewrite call, tool-loop rounds
        # of a model that then failed. A failed request records what was really spent.
        return OrchestrationResult(
            status="failed",
            analysis=decision.result,
            attempts=execution.attempts,
            cost_usd=round(execution.extra_cost_usd + rewrite_cost, 8),
            error=execution.error or "every model in the chain failed",
            request_id=request_id,
        )
    input_tokens = completion.input_tokens + (rewrite.input_tokens if rewrite else 0)
    output_tokens = completion.output_tokens + (rewrite.output_tokens if rewrite else 0)
    cost: float | None
    if execution.cached:
        cost = 0.0
    else:
        answered = catalog.get(completion.model)
        if answered is None and execution.attempts:
            answered = catalog.get(execution.attempts[-1].model)
        cost = completion_cost(answered, completion)
        if cost is not None:
            cost += rewrite_cost + execution.extra_cost_usd
    savings = account(
        catalog,
        baseline_model,
        baseline_tokens=decision.analysis.baseline_input_tokens,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        usage_measured=not completion.usage_estimated,
        claim=completion.provider != CLIENT_PROVIDER,
    )
    return OrchestrationResult(
        status="completed",
        # The answer leaves without the process's own keys (a model may echo one it saw).
        output=None if completion.text is None else redact_known(completion.text),
        analysis=decision.result,
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
            "cache hit: no tokens spent; " + savings.basis if execution.cached else savings.basis
        ),
        cached=execution.cached,
        request_id=request_id,
    )
