"""From one finished request's record to its spans, after the fact.

The spans are built from the :class:`~dynamic_orchestrator.models.RequestRecord` with the
start and end times it carries, so nothing runs while the request does, and written as
OTLP protobuf at once (:mod:`dynamic_orchestrator_otel.encoding`). One trace per
request, whose id is the request id (``x-orchestrator-request-id``) when that is 32 hex
digits, so a trace is found by the id a client saw:

- the request: ``invoke_agent dynamic-orchestrator`` (``gen_ai.operation.name``
  ``invoke_agent``), with the routing decision, cost and saving under
  :data:`PREFIX`;
- a child per stage, named after the hook (``classify``, ``score_complexity``,
  ``route_services``, ``select_model``, ``generate_prompt``, ``execute``), with no
  attributes (its name and times say it all; each attribute costs encoding time);
- under ``execute``, a child per provider attempt: ``chat {model}`` (a client span, the
  GenAI conventions' inference span), with the breaker's decision when one is installed.

Attribute names follow the OpenTelemetry GenAI semantic conventions; the project's own
sit under :data:`PREFIX`. No request or answer text is added here: that comes only from
:mod:`dynamic_orchestrator_otel.content`, when the user opts in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from dynamic_orchestrator.models import Attempt, RequestRecord

from .encoding import CLIENT, INTERNAL, STATUS_ERROR, STATUS_OK, Encoder, status

PREFIX = "dynamic_orchestrator."
AGENT_NAME = "dynamic-orchestrator"
ROOT_OPERATION = "invoke_agent"
ATTEMPT_OPERATION = "chat"

# Our provider names → the conventions' ``gen_ai.provider.name`` values.
PROVIDER_NAMES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "claude-code": "anthropic",
    "gemini": "gcp.gemini",
}

ROOT_NAME = f"{ROOT_OPERATION} {AGENT_NAME}"

_OK = status(STATUS_OK)
_ids = random.Random()


def provider_name(provider: str) -> str:
    """The conventions' name of a provider (ours when they define none)."""
    return PROVIDER_NAMES.get(provider, provider)


def trace_id_for(request_id: str) -> int:
    """The request id as a trace id when it is 128 bits of hex; else a random one."""
    if len(request_id) == 32:
        try:
            value = int(request_id, 16)
        except ValueError:
            value = 0
        if value:
            return value
    return _ids.getrandbits(128) or 1


def breaker_refusal(attempt: Attempt) -> str | None:
    """The breaker's reason when it refused this attempt (the call was not made)."""
    error = attempt.error or ""
    if attempt.outcome == "skipped" and "circuit " in error:
        return error[error.index("circuit ") :]
    return None


def escalations(attempts: Sequence[Attempt]) -> int:
    """How often the request moved on to a further model of its chain."""
    moves, last = 0, None
    for attempt in attempts:
        if last is not None and attempt.model != last:
            moves += 1
        last = attempt.model
    return moves


def _put(attributes: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        attributes[key] = value


def root_attributes(record: RequestRecord) -> dict[str, Any]:
    """The request span's attributes."""
    a: dict[str, Any] = {
        "gen_ai.operation.name": ROOT_OPERATION,
        "gen_ai.agent.name": AGENT_NAME,
        PREFIX + "request_id": record.request_id,
        PREFIX + "status": record.status,
        PREFIX + "duration_ms": record.duration_ms,
        PREFIX + "cached": record.cached,
        PREFIX + "attempts": record.attempts,
    }
    log = record.attempt_log
    request_model = log[0].model if log else record.model
    _put(a, "gen_ai.request.model", request_model)
    if record.provider:
        a["gen_ai.provider.name"] = provider_name(record.provider)
    if record.status == "completed":
        _put(a, "gen_ai.response.model", record.model)
        a["gen_ai.usage.input_tokens"] = record.input_tokens
        a["gen_ai.usage.output_tokens"] = record.output_tokens
        a[PREFIX + "usage.estimated"] = record.usage_estimated
    elif record.status == "failed":
        a["error.type"] = record.error_kind or "failed"
    _put(a, PREFIX + "intent", record.intent)
    _put(a, PREFIX + "intent.confidence", record.intent_confidence)
    _put(a, PREFIX + "complexity", record.complexity)
    _put(a, PREFIX + "complexity.score", record.complexity_score)
    _put(a, PREFIX + "tier", record.tier)
    _put(a, PREFIX + "cost_usd", record.cost_usd)
    _put(a, PREFIX + "baseline.model", record.baseline_model)
    _put(a, PREFIX + "baseline.cost_usd", record.baseline_cost_usd)
    a[PREFIX + "saved_usd"] = record.saved_usd
    a[PREFIX + "saving.claimed"] = record.saving_claimed
    if record.savings_basis:
        a[PREFIX + "saving.basis"] = record.savings_basis
    a[PREFIX + "tokens_saved"] = record.tokens_saved
    a[PREFIX + "cascade.escalations"] = escalations(log)
    refusals = sum(1 for attempt in log if breaker_refusal(attempt) is not None)
    if refusals:
        a[PREFIX + "breaker.refusals"] = refusals
    if record.services:
        a[PREFIX + "services"] = list(record.services)
        a[PREFIX + "tool_tokens.sent"] = record.tool_tokens_sent
        a[PREFIX + "tool_tokens.available"] = record.tool_tokens_available
    return a


def attempt_attributes(
    attempt: Attempt, record: RequestRecord, *, answered: bool, breakers: bool
) -> dict[str, Any]:
    """One provider attempt's attributes; ``answered`` for the attempt whose answer was kept."""
    a: dict[str, Any] = {
        "gen_ai.operation.name": ATTEMPT_OPERATION,
        "gen_ai.request.model": attempt.model,
        "gen_ai.provider.name": provider_name(attempt.provider),
        PREFIX + "attempt.outcome": attempt.outcome,
    }
    if answered:
        _put(a, "gen_ai.response.model", record.model)
        a["gen_ai.usage.input_tokens"] = record.input_tokens
        a["gen_ai.usage.output_tokens"] = record.output_tokens
    if attempt.error_kind:
        a["error.type"] = attempt.error_kind
    refusal = breaker_refusal(attempt)
    if refusal is not None:
        a[PREFIX + "breaker.decision"] = "refused"
        a[PREFIX + "breaker.reason"] = refusal
    elif breakers and attempt.outcome != "skipped":
        a[PREFIX + "breaker.decision"] = "allowed"
    return a


class SpanBuilder:
    """Encodes the spans of records for one resource (service) and scope."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def build(
        self,
        record: RequestRecord,
        *,
        breakers: bool = False,
        content: Mapping[str, Any] | None = None,
    ) -> list[bytes]:
        """The request's span, then its stages' and attempts' spans, encoded.

        :param breakers: a circuit breaker guards the calls (attempts note its decision).
        :param content: opted-in message content for the request span (see
            :mod:`dynamic_orchestrator_otel.content`), else None.
        """
        span = self.encoder.span
        trace_id = trace_id_for(record.request_id).to_bytes(16, "big")
        ids = _ids.getrandbits

        def span_id() -> bytes:
            return (ids(64) or 1).to_bytes(8, "big")

        end = int(record.timestamp * 1e9)
        start = end - int(record.duration_ms * 1e6)
        root = span_id()
        attributes = root_attributes(record)
        if content:
            attributes.update(content)
        if record.status == "failed":
            root_status = status(STATUS_ERROR, record.error or record.error_kind or "failed")
        else:
            root_status = _OK
        spans = [
            span(trace_id, root, None, ROOT_NAME, INTERNAL, start, max(start, end), attributes,
                 root_status)
        ]  # fmt: skip
        execute_parent, execute_start = root, start
        for name, offset_ms, duration_ms in record.stages:
            began = start + int(offset_ms * 1e6)
            stage = span_id()
            finished = max(began, began + int(duration_ms * 1e6))
            spans.append(span(trace_id, stage, root, name, INTERNAL, began, finished))
            if name == "execute":
                execute_parent, execute_start = stage, began
        answered = (
            max((i for i, a in enumerate(record.attempt_log) if a.outcome == "ok"), default=-1)
            if record.status == "completed" and not record.cached
            else -1
        )
        cursor = execute_start
        for index, attempt in enumerate(record.attempt_log):
            began = int(attempt.started_at * 1e9) if attempt.started_at else cursor
            finished = max(began, began + int(attempt.duration_ms * 1e6))
            cursor = max(cursor, finished)
            if attempt.outcome == "error":
                attempt_status = status(STATUS_ERROR, attempt.error or "")
            else:
                attempt_status = _OK if attempt.outcome == "ok" else b""
            spans.append(
                span(
                    trace_id,
                    span_id(),
                    execute_parent,
                    f"{ATTEMPT_OPERATION} {attempt.model}",
                    CLIENT,
                    began,
                    finished,
                    attempt_attributes(
                        attempt, record, answered=index == answered, breakers=breakers
                    ),
                    attempt_status,
                )
            )
        return spans
