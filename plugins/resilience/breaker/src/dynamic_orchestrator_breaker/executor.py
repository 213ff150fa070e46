"""The resilience wrappers: breakers and budget around each model call, cache and budget
around the whole execution.

The host walks the chain (:mod:`dynamic_orchestrator.execution`); this plugin only wraps
its two hooks. Around ``call_model`` (:func:`guarded_call`): ask the model's breaker for
leave (an open breaker skips the model, noted in ``attempts``), fit the call to the money
left, let the call run, and report the outcome to the breaker and the budget. Around
``execute`` (:func:`run_resilient`): refuse when the period budget is spent, answer from
the response cache when it can, store what is worth serving again, and turn a budget
spent part-way into a failed execution that says so.

A request's outcome on a model enters that model's breaker window once, however many
tries its retries make: ``run_resilient`` puts a :class:`RequestOutcomes` tally in the
context, ``guarded_call`` reports each try to it, settles the models the chain has left
when it reaches a new one, and ``run_resilient`` settles the rest when the walk ends.

A request that was accepted ends completed or failed with every attempt listed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from dynamic_orchestrator.contract import (
    CLIENT_PROVIDER,
    Attempt,
    BudgetExceededError,
    Completion,
    ErrorKind,
    Execution,
    ExecutionContext,
    ModelCall,
    ProviderError,
)
from dynamic_orchestrator.toolloop import TOOL_LIMIT_REASON

from .breaker import Permit
from .budget import RequestSpend, call_cost, fit_call
from .cache import cache_key
from .registry import BreakerRegistry, Refusal, RequestOutcomes

if TYPE_CHECKING:
    from dynamic_orchestrator.contract import Candidate

    from . import Resilience

SPEND = "dynamic_orchestrator_breaker.spend"
"""Where the request's :class:`RequestSpend` lives in ``context.plugin_state``."""

OUTCOMES = "dynamic_orchestrator_breaker.outcomes"
"""Where the request's :class:`RequestOutcomes` tally lives in ``context.plugin_state``."""


def _discard(inner: Awaitable[Any]) -> None:
    """Close an inner awaitable that will not be awaited (no "never awaited" warning)."""
    close = getattr(inner, "close", None)
    if callable(close):
        close()


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


def _breakers(state: Resilience, ctx: ExecutionContext) -> BreakerRegistry | RequestOutcomes | None:
    """The request's tally when the execution is wrapped, else the registry itself."""
    tally = ctx.plugin_state.get(OUTCOMES)
    return tally if isinstance(tally, RequestOutcomes) else state.breakers


def _spend(ctx: ExecutionContext) -> RequestSpend:
    spend = ctx.plugin_state.get(SPEND)
    if not isinstance(spend, RequestSpend):
        spend = ctx.plugin_state[SPEND] = RequestSpend(ctx.request.options.max_cost)
    return spend


async def guarded_call(
    state: Resilience, model_call: ModelCall, inner: Awaitable[Completion]
) -> Completion:
    """One provider call through the model's breaker and within the money left.

    :param inner: the call itself (the host's, or further wrappers'); awaited at most once.
    :raises ProviderError: the call failed, or was not made (``unavailable``: breaker
        open, or it cannot fit the budget), so the chain moves on.
    :raises BudgetExceededError: the period budget is spent.
    """
    ctx, candidate = model_call.context, model_call.candidate
    spend = _spend(ctx)
    breakers = _breakers(state, ctx)
    permit: Permit | None = None
    try:
        period_left = await state.budget.check()
        lefts = [x for x in (spend.left(), period_left) if x is not None]
        fit = fit_call(model_call.call, min(lefts) if lefts else None)
        if fit.call is None:
            raise _skip(ctx, candidate, fit.refusal or "budget")
        model_call.call = fit.call
        if breakers is not None:
            if isinstance(breakers, RequestOutcomes):
                await breakers.settle_others(candidate.model)
            granted = await breakers.acquire(candidate.model, probe_ttl=fit.call.timeout + 5.0)
            if isinstance(granted, Refusal):
                raise _skip(ctx, candidate, granted.reason)
            permit = granted
    except BaseException:
        _discard(inner)
        raise
    call = model_call.call
    if isinstance(breakers, RequestOutcomes):
        breakers.started(candidate.model)
    start = time.perf_counter()
    try:
        completion = await inner
    except ProviderError as exc:
        if permit is not None and breakers is not None:
            await breakers.failure(
                candidate.model,
                permit,
                time.perf_counter() - start,
                exc,
                partial(_models_of, ctx, candidate.provider),
            )
        raise
    except BaseException:
        if permit is not None and breakers is not None:
            with anyio.CancelScope(shield=True):
                await breakers.release(candidate.model, permit)
        raise
    finally:
        if isinstance(breakers, RequestOutcomes):
            breakers.ended(candidate.model)
    if permit is not None and breakers is not None:
        await breakers.success(candidate.model, permit, time.perf_counter() - start)
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


def _sent_tools(ctx: ExecutionContext) -> bool:
    """Whether the model tried last was sent tools."""
    last = ctx.attempts[-1].model if ctx.attempts else None
    prompt = ctx.prompts.get(last) if last else None
    return bool(prompt and prompt.tools)


async def run_resilient(
    state: Resilience, ctx: ExecutionContext, inner: Awaitable[Execution]
) -> Execution:
    """The execution within the budget, answered from the cache when it can.

    :param inner: the host's chain walk (or further wrappers'); awaited at most once.
    """
    spend = _spend(ctx)
    try:
        await state.budget.check()
    except BudgetExceededError as exc:
        _discard(inner)
        return Execution(completion=None, error=str(exc))
    key: str | None = None
    # A gateway call opens a stream and has no whole answer to store: no key to compute.
    if state.cache.enabled and not ctx.plugin_state.get("gateway", {}).get("opens_streams"):
        key = cache_key(ctx.request, state.fingerprint)
        hit = await state.cache.get(key)
        if hit is not None:
            _discard(inner)
            await ctx.report("cache hit", 0.9)
            return Execution(completion=_as_cache_hit(hit), cached=True)
    tally = state.breakers.request() if state.breakers is not None else None
    if tally is not None:
        ctx.plugin_state[OUTCOMES] = tally
    try:
        execution = await inner
    except BudgetExceededError as exc:
        return Execution(
            completion=None,
            attempts=list(ctx.attempts),
            error=str(exc),
            extra_cost_usd=max(ctx.extra_cost_usd, spend.spent),
        )
    finally:
        if tally is not None:
            ctx.plugin_state.pop(OUTCOMES, None)
            with anyio.CancelScope(shield=True):
                await tally.settle()
    completion = execution.completion
    if completion is None:
        return execution.model_copy(
            update={"extra_cost_usd": max(execution.extra_cost_usd, spend.spent)}
        )
    if key is not None and _cacheable(completion, _sent_tools(ctx)):
        await state.cache.put(key, completion)
    return execution
