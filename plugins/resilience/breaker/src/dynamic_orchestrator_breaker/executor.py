"""The resilient executor: the core's chain walk with breakers, budget and cache around it.

It reuses the core's pieces (:func:`~dynamic_orchestrator.execution.build_call`,
:func:`~dynamic_orchestrator.execution.call_model`,
:func:`~dynamic_orchestrator.execution.call_with_retries`,
:func:`~dynamic_orchestrator.execution.remaining_after` and the tool loop
:func:`~dynamic_orchestrator.toolloop.complete_with_tools`). What it adds sits in the
one function that makes each provider call, :func:`guarded_call`: it asks the model's
breaker for leave (an open breaker skips the model, noted in ``attempts``), fits the call
to the money left, makes it, and reports the outcome to the breaker and the budget.

A request that was accepted ends completed or failed with every attempt listed; a period
budget that is spent fails it with a message that says so.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

import anyio
from dynamic_orchestrator.catalog import CLIENT_PROVIDER, ModelInfo
from dynamic_orchestrator.errors import BudgetExceededError, ErrorKind, ProviderError
from dynamic_orchestrator.execution import (
    ExecutionContext,
    build_call,
    call_model,
    call_with_retries,
    remaining_after,
)
from dynamic_orchestrator.models import Attempt, Completion, Execution
from dynamic_orchestrator.toolloop import TOOL_LIMIT_REASON, complete_with_tools

from .breaker import Permit
from .budget import RequestSpend, call_cost, fit_call
from .cache import cache_key
from .registry import Refusal

if TYPE_CHECKING:
    from dynamic_orchestrator.models import Candidate
    from dynamic_orchestrator.providers import ProviderCall

    from . import Resilience


def _skip(ctx: ExecutionContext, candidate: Candidate, reason: str) -> ProviderError:
    """Note a call not made (breaker open, no money left) and the error that skips it."""
    error = ProviderError(
        ErrorKind.UNAVAILABLE, reason, provider=candidate.provider, model=candidate.model
    )
    ctx.attempts.append(
        Attempt(
            model=candidate.model,
            provider=candidate.provider,
            outcome="skipped",
            error=error.describe(),
            error_kind=error.kind.value,
            duration_ms=0.0,
        )
    )
    return error


async def guarded_call(
    state: Resilience,
    spend: RequestSpend,
    ctx: ExecutionContext,
    candidate: Candidate,
    call: ProviderCall,
) -> Completion:
    """One provider call through the model's breaker and within the money left.

    :raises ProviderError: the call failed, or was not made (``unavailable``: breaker
        open, or it cannot fit the budget), so the chain moves on.
    :raises BudgetExceededError: the period budget is spent.
    """
    period_left = await state.budget.check()
    lefts = [x for x in (spend.left(), period_left) if x is not None]
    fit = fit_call(call, min(lefts) if lefts else None)
    if fit.call is None:
        raise _skip(ctx, candidate, fit.refusal or "budget")
    call = fit.call
    permit: Permit | None = None
    if state.breakers is not None:
        granted = await state.breakers.acquire(candidate.model, probe_ttl=call.timeout + 5.0)
        if isinstance(granted, Refusal):
            raise _skip(ctx, candidate, granted.reason)
        permit = granted
    start = time.perf_counter()
    try:
        completion = await call_model(ctx, candidate, call)
    except ProviderError as exc:
        if permit is not None and state.breakers is not None:
            await state.breakers.failure(
                candidate.model,
                permit,
                time.perf_counter() - start,
                exc,
                partial(_models_of, ctx, candidate.provider),
            )
        raise
    except BaseException:
        if permit is not None and state.breakers is not None:
            with anyio.CancelScope(shield=True):
                await state.breakers.release(candidate.model, permit)
        raise
    if permit is not None and state.breakers is not None:
        await state.breakers.success(candidate.model, permit, time.perf_counter() - start)
    if spend.max_cost is not None or state.budget.enabled:  # pricing takes ~0.1 ms
        cost = call_cost(call.model, completion)
        spend.spent += cost
        await state.budget.add(cost)
    return completion


def _models_of(ctx: ExecutionContext, provider: str) -> list[str]:
    return [m.name for m in ctx.catalog.models.values() if m.provider == provider]


def _cacheable(completion: Completion, sent_tools: bool) -> bool:
    """Answers worth serving again: with text (not a stand-in, such as the gateway's for a
    stream it opened), not built on tool results, not cut by the tool limit, not from the
    client's own model (run on the client's account, at its choosing)."""
    return (
        completion.text is not None
        and not sent_tools
        and completion.finish_reason != TOOL_LIMIT_REASON
        and completion.provider != CLIENT_PROVIDER
    )


def _as_cache_hit(completion: Completion) -> Completion:
    """A stored answer served again: no tokens were spent on it here."""
    return completion.model_copy(
        update={"input_tokens": 0, "output_tokens": 0, "usage_estimated": False, "cost_usd": 0.0}
    )


async def run_resilient(ctx: ExecutionContext, state: Resilience) -> Execution:
    """Walk the chain with breakers, budget and cache; every attempt is listed."""
    spend = RequestSpend(ctx.request.options.max_cost)
    try:
        await state.budget.check()
    except BudgetExceededError as exc:
        return Execution(completion=None, error=str(exc))
    key: str | None = None
    if state.cache.enabled:
        key = cache_key(ctx.request, ctx.config)
        hit = await state.cache.get(key)
        if hit is not None:
            await ctx.report("cache hit", 0.9)
            return Execution(completion=_as_cache_hit(hit), cached=True)
    chain = list(ctx.selection.chain)
    last_error: ProviderError | None = None
    attempt = partial(guarded_call, state, spend)
    while chain:
        candidate = chain.pop(0)
        model = ctx.catalog.get(candidate.model) or ModelInfo(
            name=candidate.model, provider=candidate.provider
        )
        await ctx.report(f"calling {candidate.model}", 0.6)
        prompt = ctx.prompt_for(model)
        call = build_call(ctx, candidate, model, prompt)
        try:
            completion = await complete_with_tools(
                ctx, call, partial(call_with_retries, ctx, candidate, attempt=attempt)
            )
        except ProviderError as exc:
            last_error = exc
            next_chain = remaining_after(exc, candidate, chain)
            if next_chain is None:
                break
            chain = next_chain
            continue
        except BudgetExceededError as exc:
            return Execution(
                completion=None,
                attempts=list(ctx.attempts),
                error=str(exc),
                extra_cost_usd=max(ctx.extra_cost_usd, spend.spent),
            )
        if key is not None and _cacheable(completion, bool(prompt.tools)):
            await state.cache.put(key, completion)
        return Execution(
            completion=completion, attempts=list(ctx.attempts), extra_cost_usd=ctx.extra_cost_usd
        )
    message = last_error.describe() if last_error else "no model in the chain could be called"
    return Execution(
        completion=None,
        attempts=list(ctx.attempts),
        error=message,
        extra_cost_usd=max(ctx.extra_cost_usd, spend.spent),
    )
