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

from .encoding import CLIENT, INTERNAL, STATUS_ERROR, STATUS_OK, Encoder, Fields, status

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
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


def provider_name(provider: str) -> str:
    """The conventions' name of a provider (ours when they define none)."""
    return PROVIDER_NAMES.get(provider, provider)


def trace_id_for(request_id: str) -> bytes:
    """The request id as a trace id when it is 128 bits of hex (not all zero); else a
    random one."""
    if len(request_id) == 32:
        try:
            value = bytes.fromhex(request_id)
        except ValueError:
            value = _ZERO_TRACE
        if value != _ZERO_TRACE:
            return value
    while True:
        value = _ids.randbytes(16)
        if value != _ZERO_TRACE:
            return value


def span_ids(count: int) -> bytes:
    """``count`` random span ids of eight bytes, one after the other, none all zero."""
    while True:
        ids = _ids.getrandbits(64 * count).to_bytes(8 * count, "little")
        if _ZERO_SPAN not in ids:  # also where two ids meet: then drawn again, as rarely
            return ids


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


# The request span's attributes whose values repeat from request to request, encoded once
# per set of values (:class:`~.encoding.Fields`); then those that vary, written each time.
ROOT_FIXED = (
    "gen_ai.operation.name",
    "gen_ai.agent.name",
    PREFIX + "status",
    PREFIX + "cached",
    PREFIX + "attempts",
    "gen_ai.request.model",
    "gen_ai.provider.name",
    "gen_ai.response.model",
    PREFIX + "usage.estimated",
    "error.type",
    PREFIX + "intent",
    PREFIX + "complexity",
    PREFIX + "tier",
    PREFIX + "baseline.model",
    PREFIX + "saving.claimed",
    PREFIX + "saving.basis",
    PREFIX + "cascade.escalations",
    PREFIX + "breaker.refusals",
    PREFIX + "services",
)
# A provider attempt's, likewise (its token counts vary, so they are written each time).
ATTEMPT_FIXED = (
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.provider.name",
    PREFIX + "attempt.outcome",
    "gen_ai.response.model",
    "error.type",
    PREFIX + "breaker.decision",
    PREFIX + "breaker.reason",
)


def root_fixed(record: RequestRecord) -> tuple[Any, ...]:
    """The values of :data:`ROOT_FIXED` for the request span (None: left out)."""
    log = record.attempt_log
    completed = record.status == "completed"
    refusals = sum(1 for attempt in log if breaker_refusal(attempt) is not None)
    return (
        ROOT_OPERATION,
        AGENT_NAME,
        record.status,
        record.cached,
        record.attempts,
        log[0].model if log else record.model,
        provider_name(record.provider) if record.provider else None,
        record.model if completed else None,
        record.usage_estimated if completed else None,
        (record.error_kind or "failed") if record.status == "failed" else None,
        record.intent,
        record.complexity,
        record.tier,
        record.baseline_model,
        record.saving_claimed,
        record.savings_basis or None,
        escalations(log),
        refusals or None,
        tuple(record.services) if record.services else None,
    )


def root_measures(record: RequestRecord) -> list[tuple[str, Any]]:
    """The request span's attributes that vary from request to request (but its id)."""
    a: list[tuple[str, Any]] = [
        (PREFIX + "duration_ms", record.duration_ms),
        (PREFIX + "intent.confidence", record.intent_confidence),
        (PREFIX + "complexity.score", record.complexity_score),
        (PREFIX + "cost_usd", record.cost_usd),
        (PREFIX + "baseline.cost_usd", record.baseline_cost_usd),
        (PREFIX + "saved_usd", record.saved_usd),
        (PREFIX + "tokens_saved", record.tokens_saved),
    ]
    if record.status == "completed":
        a += (
            ("gen_ai.usage.input_tokens", record.input_tokens),
            ("gen_ai.usage.output_tokens", record.output_tokens),
        )
    if record.services:
        a += (
            (PREFIX + "tool_tokens.sent", record.tool_tokens_sent),
            (PREFIX + "tool_tokens.available", record.tool_tokens_available),
        )
    return a


def attempt_fixed(
    attempt: Attempt, record: RequestRecord, *, answered: bool, breakers: bool
) -> tuple[Any, ...]:
    """The values of :data:`ATTEMPT_FIXED` for one provider attempt; ``answered`` for the
    attempt whose answer was kept (it also carries the usage, see :meth:`SpanBuilder.build`)."""
    refusal = breaker_refusal(attempt)
    if refusal is not None:
        decision: str | None = "refused"
    elif breakers and attempt.outcome != "skipped":
        decision = "allowed"
    else:
        decision = None
    return (
        ATTEMPT_OPERATION,
        attempt.model,
        provider_name(attempt.provider),
        attempt.outcome,
        record.model if answered else None,
        attempt.error_kind or None,
        decision,
        refusal,
    )


class SpanBuilder:
    """Encodes the spans of records for one resource (service) and scope."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.root_fixed = Fields(encoder, ROOT_FIXED)
        self.attempt_fixed = Fields(encoder, ATTEMPT_FIXED)

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
        encoder = self.encoder
        span, attributes = encoder.span, encoder.attributes
        trace_id = trace_id_for(record.request_id)
        stages, log = record.stages, record.attempt_log
        ids = span_ids(1 + len(stages) + len(log))
        end = int(record.timestamp * 1e9)
        start = end - int(record.duration_ms * 1e6)
        root = ids[0:8]
        root_attributes = b"".join(
            (
                self.root_fixed(root_fixed(record)),
                encoder.text(PREFIX + "request_id", record.request_id),
                attributes(root_measures(record)),
                attributes(content.items()) if content else b"",
            )
        )
        if record.status == "failed":
            root_status = status(STATUS_ERROR, record.error or record.error_kind or "failed")
        else:
            root_status = _OK
        spans = [
            span(trace_id, root, None, ROOT_NAME, INTERNAL, start, max(start, end),
                 root_attributes, root_status)
        ]  # fmt: skip
        execute_parent, execute_start = root, start
        times = []
        for name, offset_ms, duration_ms in stages:
            began = start + int(offset_ms * 1e6)
            times.append((name, began, max(began, began + int(duration_ms * 1e6))))
        spans += encoder.plain_spans(trace_id, root, ids[8 : 8 * (1 + len(stages))], times)
        for index, (name, began, _) in enumerate(times):
            if name == "execute":
                execute_parent, execute_start = ids[8 * (1 + index) : 8 * (2 + index)], began
        at = 8 * (1 + len(stages))
        answered = (
            max((i for i, a in enumerate(log) if a.outcome == "ok"), default=-1)
            if record.status == "completed" and not record.cached
            else -1
        )
        cursor = execute_start
        for index, attempt in enumerate(log):
            began = int(attempt.started_at * 1e9) if attempt.started_at else cursor
            finished = max(began, began + int(attempt.duration_ms * 1e6))
            cursor = max(cursor, finished)
            if attempt.outcome == "error":
                attempt_status = status(STATUS_ERROR, attempt.error or "")
            else:
                attempt_status = _OK if attempt.outcome == "ok" else b""
            fixed = self.attempt_fixed(
                attempt_fixed(attempt, record, answered=index == answered, breakers=breakers)
            )
            if index == answered:
                fixed += attributes(
                    (
                        ("gen_ai.usage.input_tokens", record.input_tokens),
                        ("gen_ai.usage.output_tokens", record.output_tokens),
                    )
                )
            spans.append(
                span(trace_id, ids[at : at + 8], execute_parent,
                     f"{ATTEMPT_OPERATION} {attempt.model}", CLIENT, began, finished, fixed,
                     attempt_status)
            )  # fmt: skip
            at += 8
        return spans
