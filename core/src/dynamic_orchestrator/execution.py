"""The host's executor: one chain walker, with the calls it makes open to wrappers.

:class:`ChainWalker` implements ``execute`` and ``call_model`` (both ``trylast``). The
walk: each model of the chain in order with the prompt planned for it, the tools it calls
(:mod:`.toolloop`), retries of the same model with tenacity, and fallback as the error
taxonomy says (:data:`~dynamic_orchestrator.contract.POLICIES`). Every try goes through
the ``call_model`` hook, so plugins add circuit breakers and budgets by wrapping that
hook, and caches by wrapping ``execute``; none of them walks the chain itself.
"""

from __future__ import annotations

import copy
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from .contract import (
    Attempt,
    Candidate,
    ChatMessage,
    Completion,
    ErrorKind,
    Execution,
    ExecutionContext,
    ModelCall,
    ModelInfo,
    ProgressCallback,
    Prompt,
    ProviderCall,
    ProviderError,
    redact,
)
from .hooks import Hooks
from .hookspecs import hookimpl
from .log import enabled as log_enabled
from .log import get_logger
from .toolloop import complete_with_tools

__all__ = [
    "ChainWalker",
    "ExecutionContext",
    "ProgressCallback",
    "build_call",
    "call_model",
    "call_with_retries",
    "remaining_after",
    "run_chain",
]

log = get_logger("execution")


def build_call(
    ctx: ExecutionContext, candidate: Candidate, model: ModelInfo, prompt: Prompt
) -> ProviderCall:
    """The provider call for one candidate."""
    settings = ctx.config.providers.get(candidate.provider)
    max_tokens = ctx.max_tokens or prompt.max_tokens
    return ProviderCall(
        model=model,
        system=prompt.system,
        messages=[ChatMessage(role="user", content=prompt.user)],
        max_tokens=max_tokens,
        tools=list(prompt.tools),
        timeout=settings.timeout if settings else 60.0,
        tier=ctx.selection.tier,
        complexity_score=ctx.analysis.complexity.score,
        client=ctx.client,
    )


@asynccontextmanager
async def _slot(slots: anyio.CapacityLimiter | None) -> AsyncIterator[None]:
    """One of the provider's slots for the call (none without a bulkhead).

    A free slot is taken without a trip through the event loop (``async with`` on the
    limiter yields to it twice, on taking and on giving back); only a full bulkhead waits.
    """
    if slots is None:
        yield
        return
    try:
        slots.acquire_nowait()
    except anyio.WouldBlock:
        await slots.acquire()
    try:
        yield
    finally:
        slots.release()


_slots: anyio.lowlevel.RunVar[weakref.WeakKeyDictionary[Any, anyio.CapacityLimiter]] = (
    anyio.lowlevel.RunVar("provider_slots")
)


def provider_slots(provider: Any, size: int) -> anyio.CapacityLimiter | None:
    """The bulkhead of one provider: at most ``size`` calls in flight at once.

    A burst of requests does not open a connection each: the calls past ``size`` wait for
    a slot, and that wait is not part of the call's timeout (so a queue of our own is never
    taken for a slow provider). One limiter per provider object and event loop.
    """
    try:
        slots = _slots.get()
    except LookupError:
        slots = weakref.WeakKeyDictionary()
        _slots.set(slots)
    try:
        found = slots.get(provider)
        if found is None or found.total_tokens != size:
            found = slots[provider] = anyio.CapacityLimiter(size)
    except TypeError:  # not weakly referenceable: no bulkhead
        return None
    return found


async def call_model(ctx: ExecutionContext, candidate: Candidate, call: ProviderCall) -> Completion:
    """One try on one model, with its timeout; the attempt is appended to ``ctx.attempts``.

    The call waits for one of the provider's ``max_concurrent`` slots first
    (:func:`provider_slots`). Every exception becomes a :class:`ProviderError` so the
    caller can act on its kind.
    """
    provider = ctx.catalog.providers.get(candidate.provider)
    start = time.perf_counter()
    started_at = time.time()

    def note(outcome: str, error: ProviderError | None = None) -> None:
        attempt = Attempt(
            model=candidate.model,
            provider=candidate.provider,
            outcome=outcome,  # type: ignore[arg-type]
            error=error.describe() if error else None,
            error_kind=error.kind.value if error else None,
            duration_ms=round((time.perf_counter() - start) * 1000, 3),
            started_at=started_at,
        )
        ctx.attempts.append(attempt)
        if log_enabled(logging.DEBUG):
            log.debug("model_attempt", **attempt.model_dump())

    if provider is None:
        error = ProviderError(
            ErrorKind.UNAVAILABLE,
            f"provider {candidate.provider!r} is not installed",
            provider=candidate.provider,
            model=candidate.model,
        )
        note("skipped", error)
        raise error
    try:
        warm = None if getattr(provider, "warmed", False) else getattr(provider, "warm", None)
        if warm is not None:  # one-time set-up (an SDK import) is not part of the call's time
            with anyio.move_on_after(call.timeout) as warming:
                await warm()
            if warming.cancelled_caught:
                raise ProviderError(
                    ErrorKind.TRANSIENT,
                    f"provider {candidate.provider}: warm() did not finish "
                    f"within {call.timeout:g}s",
                )
        settings = ctx.config.providers.get(candidate.provider)
        slots = provider_slots(provider, settings.max_concurrent if settings else 100)
        async with _slot(slots):
            start = time.perf_counter()  # the wait for a slot is not the call's time
            started_at = time.time()
            with anyio.fail_after(call.timeout):
                completion = await provider.complete(call)
    except ProviderError as exc:
        exc.provider = exc.provider or candidate.provider
        exc.model = exc.model or candidate.model
        note("skipped" if exc.kind is ErrorKind.UNAVAILABLE else "error", exc)
        raise
    except TimeoutError:
        error = ProviderError(
            ErrorKind.TRANSIENT,
            f"timed out after {call.timeout:g}s",
            provider=candidate.provider,
            model=candidate.model,
        )
        note("error", error)
        raise error from None
    except anyio.get_cancelled_exc_class():
        note("cancelled")
        raise
    except Exception as exc:
        error = ProviderError(
            ErrorKind.TRANSIENT,
            f"{type(exc).__name__}: {redact(str(exc))}",
            provider=candidate.provider,
            model=candidate.model,
        )
        note("error", error)
        raise error from None
    note("ok")
    return completion


def _retryable(max_retry_after: float, last: bool) -> Callable[[BaseException], bool]:
    def check(exc: BaseException) -> bool:
        if not isinstance(exc, ProviderError) or not exc.policy.retry:
            return False
        if exc.retry_after is not None and exc.retry_after > max_retry_after:
            return False  # asked to wait longer than we will: fall back now
        if exc.kind is ErrorKind.RATE_LIMITED and exc.retry_after is None:
            # No hint how long: fall back at once while there is a model to fall back
            # to; on the chain's last model, back off (jittered, bounded) and try again.
            return last
        return True

    return check


def _wait(initial: float, maximum: float, done: int = 0) -> Callable[[RetryCallState], float]:
    """The wait before the next try: the error's ``Retry-After``, else jittered exponential
    back-off. ``done``: tries made before tenacity's first (its attempt numbers start after)."""
    jitter = wait_random_exponential(multiplier=initial, max=maximum)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return exc.retry_after
        if done:
            state = copy.copy(state)
            state.attempt_number += done
        return float(jitter(state))

    return wait


async def call_with_retries(
    ctx: ExecutionContext,
    candidate: Candidate,
    hooks: Hooks | None,
    call: ProviderCall,
    *,
    last: bool = False,
    inherited: int = 0,
) -> Completion:
    """One model's call with the configured retries for retryable error kinds.

    Each try is a ``call_model`` hook call (through every wrapper); without ``hooks``,
    straight to the provider. ``last``: no model follows in the chain, so a rate limit
    without ``Retry-After`` is retried with back-off instead of falling back.
    ``inherited``: tries passed on by models before it that were skipped without a call
    (:func:`run_chain`), on top of ``retry.attempts``.
    """
    retry = ctx.config.retry

    async def attempt() -> Completion:
        if hooks is None:
            return await call_model(ctx, candidate, call)
        return await hooks.call_model(ModelCall(context=ctx, candidate=candidate, call=call))

    retryable = _retryable(retry.max_retry_after, last)
    # The first try outside tenacity: most calls succeed at once, and building and running
    # a retry loop costs about a tenth of a gateway call's own CPU.
    try:
        return await attempt()
    except ProviderError as exc:
        if retry.attempts + inherited <= 1 or not retryable(exc):
            raise
        first = exc
    wait = _wait(retry.initial_wait, retry.max_wait, done=1)
    retrying = AsyncRetrying(
        retry=retry_if_exception(retryable),
        stop=stop_after_attempt(retry.attempts + inherited - 1),
        wait=wait,
        reraise=True,
    )
    state = RetryCallState(retrying, None, (), {})  # the first try's outcome, for its wait
    state.set_exception((type(first), first, first.__traceback__))
    state.attempt_number = 0
    await anyio.sleep(wait(state))
    async for try_ in retrying:
        with try_:
            return await attempt()
    raise AssertionError("unreachable")  # pragma: no cover


def remaining_after(
    error: ProviderError, failed: Candidate, remaining: list[Candidate]
) -> list[Candidate] | None:
    """The candidates still worth trying after ``error``; None means stop here."""
    policy = error.policy
    if not policy.fallback:
        return None
    if policy.larger_context_only:
        window = failed.context_window or 0
        return [c for c in remaining if (c.context_window or 0) > window]
    return remaining


def _not_called(attempts: list[Attempt]) -> bool:
    """Whether a model's tries were all skipped (breaker open, no money left, no provider):
    no call reached it."""
    return all(a.outcome == "skipped" for a in attempts)


async def run_chain(ctx: ExecutionContext, hooks: Hooks | None = None) -> Execution:
    """Try each model of the chain in order until one answers, running the tools it calls.

    The request's tries are ``retry.attempts`` per model of its chain: a model skipped
    without a call (its circuit breaker open, say) passes its tries on to the next one, so
    a request that skips a dead model has as many chances as one that found it healthy,
    and never more calls than ``retry.attempts`` times the chain's length.

    :param hooks: each try goes through their ``call_model``; None calls providers directly.
    """
    chain = list(ctx.selection.chain)
    last_error: ProviderError | None = None
    inherited = 0
    while chain:
        candidate = chain.pop(0)
        # A model the selector chose but the catalog does not know (a client model name
        # such as "haiku", say) is still called, under the candidate's provider.
        model = ctx.catalog.get(candidate.model) or ModelInfo(
            name=candidate.model, provider=candidate.provider
        )
        await ctx.report(f"calling {candidate.model}", 0.6)
        call = build_call(ctx, candidate, model, ctx.prompt_for(model))
        tried = len(ctx.attempts)
        retries = partial(
            call_with_retries, ctx, candidate, hooks, last=not chain, inherited=inherited
        )
        try:
            completion = await complete_with_tools(ctx, call, retries)
        except ProviderError as exc:
            last_error = exc
            skipped = _not_called(ctx.attempts[tried:])
            inherited = inherited + ctx.config.retry.attempts if skipped else 0
            next_chain = remaining_after(exc, candidate, chain)
            if next_chain is None:
                break
            chain = next_chain
            continue
        return Execution(
            completion=completion,
            attempts=list(ctx.attempts),
            extra_cost_usd=ctx.extra_cost_usd,
        )
    message = last_error.describe() if last_error else "no model in the chain could be called"
    return Execution(
        completion=None,
        attempts=list(ctx.attempts),
        error=message,
        extra_cost_usd=ctx.extra_cost_usd,
    )


async def _call_planned(model_call: ModelCall) -> Completion:
    # Reads model_call.call only now: a wrapper may have replaced it.
    return await call_model(model_call.context, model_call.candidate, model_call.call)


class ChainWalker:
    """The host's built-in ``execute`` and ``call_model``; any plugin may wrap both."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks

    @hookimpl(trylast=True)
    def execute(self, context: ExecutionContext) -> Awaitable[Execution]:
        """Walk the chain: retries, fallback by error kind, tools; each try via call_model."""
        return run_chain(context, self.hooks)

    @hookimpl(trylast=True)
    def call_model(self, model_call: ModelCall) -> Awaitable[Completion]:
        """Call the provider, with its timeout; the attempt is listed in the context."""
        return _call_planned(model_call)
