"""One gateway call: open the stream through the ``execute`` stage, then record the call.

Choosing a model (and falling back) happens before the first byte goes to the client:
:func:`open_stream` runs the orchestrator's ``execute`` hook (the resilience plugin's
executor when installed: breakers, retries, budget) on the decision's chain, with each
provider stood in for by a :class:`_StreamOpener` whose ``complete`` opens the provider's
stream and returns once the first event has arrived. A failure before that is a failed
attempt like any other, so the chain moves on; once an event has arrived the stream is
the answer, and a later failure ends it with the API's own error event.

:func:`record_call` sends each finished call to every metrics sink (the ``record`` hook)
with the measured usage, its cost, and the saving against the model the client asked for
at the same token counts: an estimate, as that model did not run.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator.catalog import ModelInfo, measured_cost
from dynamic_orchestrator.contract import StreamEvent
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.execution import ExecutionContext
from dynamic_orchestrator.log import enabled as log_enabled
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import Completion, Prompt, RequestRecord, Selection, ToolSpec
from dynamic_orchestrator.savings import account
from dynamic_orchestrator.streaming import Assembly

if TYPE_CHECKING:
    from dynamic_orchestrator.orchestrator import Orchestrator
    from dynamic_orchestrator.providers import ProviderCall

    from .routing import Decision

__all__ = ["Opened", "Turn", "open_stream", "record_call"]

log = get_logger("gateway")


@dataclass
class Turn:
    """One call as received: the neutral body and what travels with it."""

    api: str
    requested: str
    body: dict[str, Any]
    request_id: str
    raw_bytes: int
    headers: Mapping[str, str] = field(default_factory=dict)
    """For an Anthropic upstream only: ``anthropic-beta`` and the like."""
    query: Mapping[str, str] = field(default_factory=dict)
    client_key: Mapping[str, str] = field(default_factory=dict)
    """The client's own credential header, sent only under ``client_key: passthrough``."""
    started: float = field(default_factory=time.perf_counter)


@dataclass
class Opened:
    """A stream that has produced its first event."""

    model: ModelInfo
    provider: str
    first: StreamEvent
    events: AsyncIterator[StreamEvent]


@dataclass
class _Slot:
    opened: Opened | None = None
    error: ProviderError | None = None


class _StreamOpener:
    """Stands in for a provider in the ``execute`` stage: opens its stream instead."""

    def __init__(self, provider: Any, turn: Turn, slot: _Slot, anthropic: bool, passthrough: bool):
        self.name = provider.name
        self._provider = provider
        self._turn = turn
        self._slot = slot
        self._anthropic = anthropic
        self._passthrough = passthrough

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        reason: str | None = self._provider.unavailable_reason(
            model, client_can_sample=client_can_sample
        )
        return reason

    @property
    def warmed(self) -> bool:
        return bool(getattr(self._provider, "warmed", False))

    async def warm(self) -> None:
        warm = getattr(self._provider, "warm", None)
        if warm is not None:
            await warm()

    async def complete(self, call: ProviderCall) -> Completion:
        turn = self._turn
        headers: dict[str, str] = {}
        query: Mapping[str, str] = {}
        if self._anthropic:
            headers = dict(turn.headers)
            query = turn.query
            if self._passthrough:
                headers.update(turn.client_key)
        stream = self._provider.stream(
            replace(call, request=turn.body, headers=headers, query=query)
        )
        events = stream.__aiter__()
        try:
            first = await events.__anext__()
        except StopAsyncIteration:
            error = ProviderError(ErrorKind.TRANSIENT, "the stream ended before its first event")
            self._slot.error = error
            raise error from None
        except ProviderError as exc:
            self._slot.error = exc
            raise
        self._slot.opened = Opened(call.model, self.name, first, events)
        return Completion(
            text=None,
            model=call.model.name,
            provider=self.name,
            input_tokens=0,
            output_tokens=0,
            cost_usd=0.0,
        )


def _is_anthropic(orch: Orchestrator, name: str) -> tuple[bool, bool]:
    settings = orch.config.providers.get(name)
    anthropic = ((settings.type if settings else None) or name) == "anthropic"
    return anthropic, anthropic and settings is not None and settings.client_key == "passthrough"


@dataclass
class Outcome:
    """What opening gave: the stream, or the error that ended the chain; and the attempts."""

    opened: Opened | None
    error: ProviderError | None
    attempts: int


async def open_stream(orch: Orchestrator, turn: Turn, decision: Decision) -> Outcome:
    """Open the first stream the chain can give, through the ``execute`` stage."""
    slot = _Slot()
    providers: dict[str, Any] = {}
    for candidate in decision.chain:
        provider = orch.providers.get(candidate.provider)
        if provider is not None and candidate.provider not in providers:
            providers[candidate.provider] = _StreamOpener(
                provider, turn, slot, *_is_anthropic(orch, candidate.provider)
            )
    catalog = replace(orch.catalog, providers=providers)
    assert decision.analysis is not None and decision.request is not None
    tools = [ToolSpec(name=str(t.get("name", "tool"))) for t in turn.body.get("tools") or []]
    prompt = Prompt(system="", user=decision.request.text, tools=tools)
    ctx = ExecutionContext(
        request=decision.request,
        analysis=decision.analysis,
        selection=Selection(tier=decision.tier or "complex", chain=decision.chain),
        catalog=catalog,
        config=orch.config,
        prompts={candidate.model: prompt for candidate in decision.chain},
        max_tokens=decision.signals.max_tokens if decision.signals else None,
        # providers here open a stream and answer no text: plugins that need whole answers
        # (the verifying cascade) step aside
        plugin_state={"gateway": {"opens_streams": True}},
    )
    if not decision.chain:
        why = orch.catalog.unusable_reason(decision.requested) or "its provider cannot stream"
        error = ProviderError(
            ErrorKind.MODEL_NOT_FOUND, f"no model can serve {decision.requested!r} here: {why}"
        )
        return Outcome(None, error, 0)
    execution = await orch.hooks.execute(ctx)
    if slot.opened is not None and execution.completion is not None:
        return Outcome(slot.opened, None, len(execution.attempts))
    if slot.opened is not None:  # opened, then refused by the executor: do not leak it
        aclose = getattr(slot.opened.events, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    error = ProviderError(
        slot.error.kind if slot.error else ErrorKind.UNAVAILABLE,
        execution.error or "no model in the chain could be called",
        retry_after=slot.error.retry_after if slot.error else None,
    )
    return Outcome(None, error, len(execution.attempts))


def record_call(
    orch: Orchestrator,
    turn: Turn,
    decision: Decision,
    opened: Opened | None,
    done: Assembly | None,
    *,
    attempts: int,
    error: ProviderError | None = None,
) -> RequestRecord:
    """Record one finished call to every metrics sink, and log it (no request text)."""
    duration_ms = round((time.perf_counter() - turn.started) * 1000, 3)
    analysis = decision.analysis
    completed = opened is not None and done is not None and error is None
    answer = done.completion if done is not None else None
    in_tokens = answer.input_tokens if answer else (done.input_tokens or 0) if done else 0
    out_tokens = answer.output_tokens if answer else (done.output_tokens or 0) if done else 0
    estimated = answer.usage_estimated if answer else True
    cost = answer.cost_usd if answer else None
    if cost is None and opened is not None and done is not None:
        cost = measured_cost(opened.model, in_tokens, out_tokens)
    savings = account(
        orch.catalog,
        decision.requested,
        baseline_tokens=in_tokens,
        input_tokens=in_tokens,
        output_tokens=out_tokens,
        cost_usd=cost,
        usage_measured=not estimated,
        claim=completed,
    )
    record = RequestRecord(
        timestamp=time.time(),
        request_id=turn.request_id,
        status="completed" if completed else "failed",
        intent=analysis.intent.intent if analysis else None,
        complexity=analysis.complexity.level if analysis else None,
        model=opened.model.name if opened else None,
        provider=opened.provider if opened else None,
        duration_ms=duration_ms,
        input_tokens=in_tokens,
        output_tokens=out_tokens,
        usage_estimated=estimated,
        cost_usd=savings.cost_usd,
        baseline_model=decision.requested,
        baseline_input_tokens=in_tokens,
        baseline_cost_usd=savings.baseline_cost_usd,
        saved_usd=savings.saved_usd if completed else 0.0,
        saving_claimed=completed
        and savings.cost_usd is not None
        and savings.baseline_cost_usd is not None,
        attempts=attempts,
        error_kind=error.kind.value if error is not None else None,
        reasons=decision.reasons,
    )
    orch.hooks.record(record)
    if not log_enabled(logging.INFO):
        return record
    log.info(
        "gateway_call",
        request_id=turn.request_id,
        api=turn.api,
        requested=decision.requested,
        model=record.model,
        provider=record.provider,
        scenario=decision.scenario,
        tier=decision.tier,
        status=record.status,
        input_tokens=in_tokens,
        output_tokens=out_tokens,
        cost_usd=record.cost_usd,
        saved_usd_estimate=record.saved_usd,
        duration_ms=duration_ms,
        reasons=decision.reasons,
        error=error.describe() if error else None,
    )
    return record
