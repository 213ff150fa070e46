"""The gateway's HTTP layer, in plain ASGI: a call as received (:class:`Call`) and the two
kinds of answer (:class:`JSONReply`, :class:`EventStream`), each writing itself with
``send``.

No web framework sits on the gateway's hot path. Starlette's request and response objects,
its middleware stack and the task group its streaming response opens to listen for a
disconnect cost ~0.3 ms of CPU per streamed answer here (a tenth of the gateway's work per
call, py-spy over ``benchmarks/gateway_overhead.py``); routing four fixed paths needs none
of it. What the framework did that matters is kept: a client that goes away mid-stream
stops the stream (and the upstream call), and an unexpected error answers 500 in the
API's own error shape (see :mod:`.app`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from dynamic_orchestrator.errors import RequestError
from dynamic_orchestrator.http_guard import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .front import Gateway

__all__ = ["Call", "EventStream", "JSONReply", "LastChunk", "Reply"]


class Call:
    """One HTTP call as the gateway's routes read it: headers (names in lower case, the
    first value of each), the query, and the body through :meth:`read_body`."""

    __slots__ = ("_receive", "_scope", "gateway", "headers")

    def __init__(self, scope: Scope, receive: Receive, gateway: Gateway) -> None:
        self._scope = scope
        self._receive = receive
        self.gateway = gateway
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        self.headers = headers

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters (``?beta=true`` from Claude Code)."""
        raw = self._scope.get("query_string", b"")
        return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}

    async def read_body(self, limit: int) -> bytes:
        """The whole body, at most ``limit`` bytes.

        :raises RequestError: more than ``limit`` bytes, declared or sent.
        """
        declared = self.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestError(f"request body: {declared} bytes, more than the limit of {limit}")
        message = await self._receive()
        body: bytes = message.get("body", b"")
        raw = bytearray()
        while True:
            if len(raw) + len(body) > limit:  # a chunked body declares no length
                raise RequestError(f"request body: more than the limit of {limit} bytes")
            if not message.get("more_body") or message["type"] != "http.request":
                # the last part (the usual case: the only one, come with the headers), or
                # the client went away: what arrived is judged as it is
                return bytes(raw + body) if raw else body
            raw += body
            message = await self._receive()
            body = message.get("body", b"")


def _raw_headers(headers: Mapping[str, str], content_type: bytes) -> list[tuple[bytes, bytes]]:
    raw = [(b"content-type", content_type)]
    raw.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    return raw


class JSONReply:
    """A JSON answer, written in one piece (compact, UTF-8, as Starlette's ``JSONResponse``)."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status_code = status_code
        self.body = json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()
        self.headers = headers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = _raw_headers(self.headers, b"application/json")
        raw.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class LastChunk(bytes):
    """The answer's last bytes: written with the end of the body (one write, and one
    wake-up of the client, fewer per answer)."""


class EventStream:
    """A streamed answer (server-sent events): the chunks as they come, the
    :class:`LastChunk` together with the end of the body.

    While it streams, one task waits for the client to go away (``http.disconnect``); when
    it does, the stream is cancelled, so the chunks' producer closes the upstream call
    instead of paying for an answer nobody reads.
    """

    __slots__ = ("chunks", "headers", "status_code")

    def __init__(self, chunks: AsyncIterator[bytes], headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.chunks = chunks
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streaming = asyncio.current_task()
        assert streaming is not None
        gone = False

        def client_gone(watch: asyncio.Task[Message]) -> None:
            nonlocal gone
            if not watch.cancelled() and watch.exception() is None:
                gone = True
                streaming.cancel()

        watch = asyncio.ensure_future(_disconnected(receive))
        watch.add_done_callback(client_gone)
        try:
            await self._write(send)
        except asyncio.CancelledError:
            if not gone:
                raise
            streaming.uncancel()  # ours: the client went away, the answer ends here
        finally:
            watch.remove_done_callback(client_gone)
            watch.cancel()

    async def _write(self, send: Send) -> None:
        raw = _raw_headers(self.headers, b"text/event-stream; charset=utf-8")
        await send({"type": "http.response.start", "status": self.status_code, "headers": raw})
        ended = False
        async for chunk in self.chunks:
            if ended:
                continue  # nothing follows the end; let the iterator finish (and clean up)
            ended = isinstance(chunk, LastChunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
        if not ended:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> Message:
    """Returns once the client has gone away (any body left unread is drained)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return message


Reply = JSONReply | EventStream
