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
from operator import attrgetter
from typing import Any

from dynamic_orchestrator.models import Attempt, RequestRecord

from .encoding import (
    CLIENT,
    INTERNAL,
    STATUS_ERROR,
    STATUS_OK,
    Doubles,
    Encoder,
    Fields,
    status,
)

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
    refusals = 0
    for attempt in log:  # a plain loop: most requests make one attempt, not skipped
        if attempt.outcome == "skipped" and breaker_refusal(attempt) is not None:
            refusals += 1
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
        escalations(log) if len(log) > 1 else 0,
        refusals or None,
        tuple(record.services) if record.services else None,
    )


# The request span's attributes whose values differ with every request: floats, written
# by one pack (:class:`~.encoding.Doubles`); None leaves one out.
ROOT_FLOATS = (
    PREFIX + "duration_ms",
    PREFIX + "intent.confidence",
    PREFIX + "complexity.score",
    PREFIX + "cost_usd",
    PREFIX + "baseline.cost_usd",
    PREFIX + "saved_usd",
)
# Its counts, which repeat often enough to be encoded once per set of values.
ROOT_COUNTS = (
    PREFIX + "tokens_saved",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    PREFIX + "tool_tokens.sent",
    PREFIX + "tool_tokens.available",
)
USAGE = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")


def root_floats(record: RequestRecord) -> tuple[float | None, ...]:
    """The values of :data:`ROOT_FLOATS` for the request span."""
    return (
        record.duration_ms,
        record.intent_confidence,
        record.complexity_score,
        record.cost_usd,
        record.baseline_cost_usd,
        record.saved_usd,
    )


def root_counts(record: RequestRecord) -> tuple[int | None, ...]:
    """The values of :data:`ROOT_COUNTS`: usage only for a completed request, tool tokens
    only when services were routed."""
    completed, services = record.status == "completed", bool(record.services)
    return (
        record.tokens_saved,
        record.input_tokens if completed else None,
        record.output_tokens if completed else None,
        record.tool_tokens_sent if services else None,
        record.tool_tokens_available if services else None,
    )


def answered_attempt(record: RequestRecord) -> int:
    """The index of the attempt whose answer was kept (the last that succeeded), or -1
    (a failed or cached request has none)."""
    if record.status != "completed" or record.cached:
        return -1
    log = record.attempt_log
    for index in range(len(log) - 1, -1, -1):
        if log[index].outcome == "ok":
            return index
    return -1


def execute_stage(stages: Sequence[tuple[str, float, float]]) -> int:
    """The index of the ``execute`` stage (usually the last), or -1."""
    for index in range(len(stages) - 1, -1, -1):
        if stages[index][0] == "execute":
            return index
    return -1


# An attempt's own values its span's constant part is made of (with whether a breaker
# guards the calls, and the request's model and usage on the attempt whose answer was
# kept): the key of that part, so an attempt like one seen before skips
# :func:`attempt_fixed`.
_ATTEMPT_SOURCES = attrgetter("model", "provider", "outcome", "error", "error_kind")
AttemptKey = tuple[tuple[Any, ...], bool, tuple[Any, ...] | None]


def span_count(record: RequestRecord) -> int:
    """How many spans :meth:`SpanBuilder.build` writes for ``record``."""
    return 1 + len(record.stages) + len(record.attempt_log)


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
        # Bound methods, called once or twice per request each.
        self.root_fixed = Fields(encoder, ROOT_FIXED).encode
        self.root_floats = Doubles(encoder, ROOT_FLOATS).encode
        self.root_counts = Fields(encoder, ROOT_COUNTS).encode
        self.attempt_fixed = Fields(encoder, ATTEMPT_FIXED).encode
        self.usage = Fields(encoder, USAGE).encode
        self.request_id = encoder.text_head(PREFIX + "request_id")
        self._attempt_heads: dict[AttemptKey, bytes] = {}

    def build(
        self,
        record: RequestRecord,
        *,
        breakers: bool = False,
        content: Mapping[str, Any] | None = None,
    ) -> list[bytes]:
        """The request's span, then its stages' and attempts' spans (:func:`span_count`
        of them), encoded: parts that, joined, are the spans one after the other.

        :param breakers: a circuit breaker guards the calls (attempts note its decision).
        :param content: opted-in message content for the request span (see
            :mod:`dynamic_orchestrator_otel.content`), else None.
        """
        trace_id = trace_id_for(record.request_id)
        stages, log = record.stages, record.attempt_log
        ids = span_ids(1 + len(stages) + len(log))
        end = int(record.timestamp * 1e9)
        start = end - int(record.duration_ms * 1e6)
        root = ids[0:8]
        spans = self.root_span(record, trace_id, root, start, max(start, end), content)
        spans += self.encoder.stage_spans(
            self.encoder.shared(trace_id, root), ids[8:], start, stages
        )
        if log:
            parent, began = root, start
            execute = execute_stage(stages)
            if execute >= 0:
                parent = ids[8 * (1 + execute) : 8 * (2 + execute)]
                began = start + int(stages[execute][1] * 1e6)
            at = 8 * (1 + len(stages))
            shared = self.encoder.shared(trace_id, parent)
            spans += self.attempt_spans(record, shared, ids[at:], began, breakers)
        return spans

    def root_span(
        self,
        record: RequestRecord,
        trace_id: bytes,
        span_id: bytes,
        start: int,
        end: int,
        content: Mapping[str, Any] | None,
    ) -> list[bytes]:
        """The request's span: the routing decision, cost and saving, usage, content; as
        parts (see :meth:`~.encoding.Encoder.span`)."""
        attributes = (
            self.root_fixed(root_fixed(record)),
            self.encoder.text(self.request_id, record.request_id),
            self.root_floats(root_floats(record)),
            self.root_counts(root_counts(record)),
            self.encoder.attributes(content.items()) if content else b"",
        )
        if record.status == "failed":
            root_status = status(STATUS_ERROR, record.error or record.error_kind or "failed")
        else:
            root_status = _OK
        return self.encoder.span(
            trace_id, span_id, None, ROOT_NAME, INTERNAL, start, end, attributes, root_status
        )

    def attempt_spans(
        self,
        record: RequestRecord,
        shared: bytes,
        span_ids: bytes,
        began: int,
        breakers: bool,
    ) -> list[bytes]:
        """A client span per provider attempt, children of ``execute`` (``shared`` says
        so, see :meth:`~.encoding.Encoder.shared`), their ids taken in turn from
        ``span_ids``; as parts. An attempt with no start time of its own starts when the
        one before it ended (the first, when ``execute`` began)."""
        answered = answered_attempt(record)
        out: list[bytes] = []
        cursor = began
        for index, attempt in enumerate(record.attempt_log):
            started = int(attempt.started_at * 1e9) if attempt.started_at else cursor
            finished = max(started, started + int(attempt.duration_ms * 1e6))
            cursor = max(cursor, finished)
            kept = index == answered
            usage = (record.model, record.input_tokens, record.output_tokens) if kept else None
            key = (_ATTEMPT_SOURCES(attempt), breakers, usage)
            head = self._attempt_heads.get(key)
            if head is None:
                head = self._attempt_head(key, attempt, record, kept=kept, breakers=breakers)
            out += self.encoder.child(head, shared, span_ids[8 * index : 8 * (index + 1)],
                                      started, finished)  # fmt: skip
        return out

    def _attempt_head(
        self,
        key: AttemptKey,
        attempt: Attempt,
        record: RequestRecord,
        *,
        kept: bool,
        breakers: bool,
    ) -> bytes:
        """An attempt span's constant part (see :meth:`~.encoding.Encoder.child_head`):
        its name, attributes and status, kept by ``key``."""
        attributes = self.attempt_fixed(
            attempt_fixed(attempt, record, answered=kept, breakers=breakers)
        )
        if kept:
            attributes += self.usage((record.input_tokens, record.output_tokens))
        if attempt.outcome == "error":
            attempt_status = status(STATUS_ERROR, attempt.error or "")
        else:
            attempt_status = _OK if attempt.outcome == "ok" else b""
        if len(self._attempt_heads) >= Encoder.CACHE_LIMIT:
            self._attempt_heads.clear()
        name = f"{ATTEMPT_OPERATION} {attempt.model}"
        head = self.encoder.child_head(name, CLIENT, attributes + attempt_status)
        self._attempt_heads[key] = head
        return head
