"""One gateway call for either API: :class:`Gateway` holds the orchestrator and serves.

:meth:`Gateway.serve` decides (:mod:`.routing`), opens the stream before any byte goes out
(:mod:`.calls`), then writes it in the client's format (a :class:`Shape`: Anthropic's or
OpenAI's), streamed or whole, and records it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from dynamic_orchestrator.contract import (
    BlockStop,
    MessageEnd,
    MessageStart,
    OtherBlockStart,
    StreamEvent,
    ToolUseStart,
    UsageUpdate,
)
from dynamic_orchestrator.errors import ErrorKind, ProviderError, RequestError, redact
from dynamic_orchestrator.streaming import Assembly, can_stream

from ..settings import settings_of
from .calls import Opened, Turn, open_stream, record_call
from .http import Call, EventStream, JSONReply, LastChunk, Reply
from .routing import decide

if TYPE_CHECKING:
    from dynamic_orchestrator.orchestrator import Orchestrator

__all__ = [
    "HEADER_MODEL",
    "HEADER_PROVIDER",
    "HEADER_REQUEST_ID",
    "Gateway",
    "Shape",
    "answer_headers",
    "request_id",
]

HEADER_MODEL = "x-orchestrator-model"
HEADER_PROVIDER = "x-orchestrator-provider"
HEADER_REQUEST_ID = "x-orchestrator-request-id"


class Encoder(Protocol):
    def encode(self, event: StreamEvent) -> bytes: ...


class Shape(Protocol):
    """How one API writes its answers and errors."""

    name: str

    def encoder(self, turn: Turn, opened: Opened, stream_options: Mapping[str, Any]) -> Encoder: ...

    def whole(self, turn: Turn, opened: Opened, done: Assembly) -> dict[str, Any]: ...

    def error_body(
        self, error: ProviderError | RequestError
    ) -> tuple[int, dict[str, Any], dict[str, str]]: ...

    def error_event(self, error: BaseException) -> bytes: ...

    def server_error(self, message: str) -> dict[str, Any]:
        """The body of a 500: an error of the gateway's own."""
        ...


def request_id() -> str:
    return uuid.uuid4().hex[:24]


def answer_headers(model: str, provider: str, rid: str) -> dict[str, str]:
    return {HEADER_MODEL: model, HEADER_PROVIDER: provider, HEADER_REQUEST_ID: rid}


class Gateway:
    """One orchestrator behind the gateway's routes."""

    def __init__(self, orchestrator: Orchestrator) -> None:
        self.orchestrator = orchestrator
        self.config = orchestrator.config
        self._lock = anyio.Lock()

    async def ready(self) -> Orchestrator:
        """The orchestrator, initialized once."""
        if not self.orchestrator._initialized:
            async with self._lock:
                await self.orchestrator.initialize()
        return self.orchestrator

    async def read_json(self, call: Call) -> tuple[dict[str, Any], int]:
        """The JSON object body, within the size cap.

        :raises RequestError: too large, not JSON, or not an object.
        """
        raw = await call.read_body(settings_of(self.config).gateway.max_request_bytes)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(f"request body: not valid JSON ({exc})") from None
        if not isinstance(body, dict):
            raise RequestError("request body: expected a JSON object")
        return body, len(raw)

    def models(self) -> list[dict[str, Any]]:
        """The models calls can be routed to (usable now, by a provider that streams)."""
        orch = self.orchestrator
        out = []
        for model in orch.catalog.models.values():
            provider = orch.providers.get(model.provider or "")
            if (
                provider is None
                or not can_stream(provider)
                or orch.catalog.unusable_reason(model.name)
            ):
                continue
            out.append(model.name)
        return [
            {
                "id": name,
                "object": "model",
                "type": "model",
                "display_name": name,
                "created": 0,
                "created_at": "1970-01-01T00:00:00Z",
                "owned_by": orch.catalog.models[name].provider,
            }
            for name in sorted(out)
        ]

    async def serve(
        self, turn: Turn, shape: Shape, stream: bool, options: Mapping[str, Any]
    ) -> Reply:
        """Decide, open, answer in the client's format, record."""
        orch = await self.ready()
        client_key = bool(turn.client_key)
        decision = decide(
            orch,
            turn.body,
            turn.requested,
            raw_bytes=turn.raw_bytes,
            request_id=turn.request_id,
            client_key=client_key,
        )
        outcome = await open_stream(orch, turn, decision)
        opened = outcome.opened
        if opened is None:
            error = outcome.error or ProviderError(ErrorKind.UNAVAILABLE, "no model answered")
            record_call(orch, turn, decision, None, None, attempts=outcome.attempts, error=error)
            status, body, extra = shape.error_body(error)
            headers = {**answer_headers(turn.requested, "-", turn.request_id), **extra}
            return JSONReply(body, status, headers=headers)
        headers = answer_headers(opened.model.name, opened.provider, turn.request_id)
        done = Assembly()
        if not stream:
            failure: ProviderError | None = None
            try:
                done.add(opened.first)
                async for event in opened.events:
                    done.add(event)
            except ProviderError as exc:
                failure = exc
            except Exception as exc:  # an SDK or transport failure mid-way
                failure = ProviderError(
                    ErrorKind.TRANSIENT, f"{type(exc).__name__}: {redact(str(exc))}"
                )
            record_call(
                orch, turn, decision, opened, done, attempts=outcome.attempts, error=failure
            )
            if failure is not None:
                status, body, extra = shape.error_body(failure)
                return JSONReply(body, status, headers={**headers, **extra})
            return JSONReply(shape.whole(turn, opened, done), headers=headers)
        encoder = shape.encoder(turn, opened, options)

        async def chunks() -> AsyncIterator[bytes]:
            failure: ProviderError | None = None
            held = b""  # structural events go out with the next one: fewer, fuller writes
            try:
                done.add(opened.first)
                # The first event goes out at once, as the APIs themselves send
                # message_start (or the role chunk) before any text: the client's first
                # byte does not wait for the model's first words.
                first = encoder.encode(opened.first)
                if first:
                    yield first
                async for event in opened.events:
                    done.add(event)
                    data = encoder.encode(event)
                    if isinstance(event, _STRUCTURAL):
                        held += data
                    elif isinstance(event, MessageEnd):
                        yield LastChunk(held + data)
                        held = b""
                    elif data or held:
                        yield held + data
                        held = b""
                if held:
                    yield held
            except ProviderError as exc:
                failure = exc
                yield held + shape.error_event(exc)
            except anyio.get_cancelled_exc_class():
                failure = ProviderError(ErrorKind.CANCELLED, "the client went away")
                raise
            except Exception as exc:
                failure = ProviderError(
                    ErrorKind.TRANSIENT, f"{type(exc).__name__}: {redact(str(exc))}"
                )
                yield shape.error_event(failure)
            finally:
                with anyio.CancelScope(shield=True):
                    await _close(opened.events)
                # Recorded on the loop's next turn: after the answer's last bytes are written,
                # so the metrics sinks' work does not delay the end of the response.
                asyncio.get_running_loop().call_soon(
                    partial(
                        record_call,
                        orch,
                        turn,
                        decision,
                        opened,
                        done,
                        attempts=outcome.attempts,
                        error=failure,
                    )
                )

        return EventStream(chunks(), {**headers, "cache-control": "no-cache"})


_STRUCTURAL = (MessageStart, ToolUseStart, OtherBlockStart, BlockStop, UsageUpdate)


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):  # a broken upstream must not hide the answer's end
            await aclose()
