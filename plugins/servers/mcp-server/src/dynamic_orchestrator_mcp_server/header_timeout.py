"""A timeout for request headers, which uvicorn does not have.

uvicorn times an idle keep-alive connection (``timeout_keep_alive``) and nothing else
before a request: a client that connects and sends nothing, or trickles its request line
and headers a byte at a time, holds the connection (a socket, a file descriptor) for as
long as it likes. :func:`protocol_class` gives uvicorn's HTTP protocol (httptools or h11,
as uvicorn would pick) with one timer more, ``server.header_timeout`` seconds:

- armed when a connection opens, and when the first byte of a later request on it
  arrives (between requests the keep-alive timeout applies, as before);
- cancelled once that request's headers are complete (the body has its own timeout,
  ``server.body_timeout``, in :class:`~dynamic_orchestrator.http_guard.RequestGuard`);
- when it fires, the connection is closed, after a ``408`` when part of a request had
  arrived. A connection that sent nothing is closed without a word: a keep-alive client
  could take an unsolicited answer for the answer to its next request.

Passed to uvicorn as ``http=`` by the MCP server's HTTP transport and the gateway.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeaderTimeoutH11", "protocol_class"]

DEFAULT_HEADER_TIMEOUT = 10.0


class _Deadline:
    """One timer on the event loop: armed once until it fires or is cancelled."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, seconds: float, expire: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._seconds = seconds
        self._expire = expire
        self._handle: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        if self._handle is None:
            self._handle = self._loop.call_later(self._seconds, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._expire()


def _time_out(transport: asyncio.Transport, seconds: float, *, answer: bool) -> None:
    """Close a connection whose headers did not arrive in time (408 first if ``answer``)."""
    if transport.is_closing():
        return
    if answer:
        body = f"the request headers did not arrive within {seconds:g}s".encode()
        transport.write(
            b"HTTP/1.1 408 Request Timeout\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
    transport.close()


class _HeadersDeadline:
    """What both protocols share: the timer, armed when a connection opens and cancelled
    when it closes. Mixed in before uvicorn's protocol, which provides ``loop`` and the
    ``connection_*`` methods; the protocol class says when headers are due and done."""

    header_timeout: ClassVar[float] = DEFAULT_HEADER_TIMEOUT
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._headers_deadline = _Deadline(self.loop, self.header_timeout, self._headers_late)
        self._headers_deadline.arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_deadline.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _headers_late(self) -> None:
        raise NotImplementedError


class HeaderTimeoutH11(_HeadersDeadline, H11Protocol):
    """uvicorn's h11 protocol with a timeout for request headers."""

    def handle_events(self) -> None:
        super().handle_events()
        # IDLE: no request under way. With bytes of one buffered, its headers are due;
        # any other state means the last request's headers were read.
        if self.conn.their_state is h11.IDLE:
            if self.conn.trailing_data[0]:
                self._headers_deadline.arm()
        else:
            self._headers_deadline.cancel()

    def _headers_late(self) -> None:
        started = self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])
        _time_out(self.transport, self.header_timeout, answer=started)


def _httptools_class() -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeaderTimeoutHttpTools(_HeadersDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol with a timeout for request headers."""

        _request_begun = False

        def on_message_begin(self) -> None:
            self._request_begun = True
            self._headers_deadline.arm()
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._request_begun = False
            self._headers_deadline.cancel()
            super().on_headers_complete()

        def _headers_late(self) -> None:
            _time_out(self.transport, self.header_timeout, answer=self._request_begun)

    return HeaderTimeoutHttpTools


def protocol_class(
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    http: Literal["auto", "h11", "httptools"] = "auto",
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (``http=``) with a ``header_timeout`` (seconds).

    :param http: as uvicorn's setting: ``auto`` is httptools when installed, else h11.
    """
    if http == "httptools" or (http == "auto" and importlib.util.find_spec("httptools")):
        base = _httptools_class()
    else:
        base = HeaderTimeoutH11
    attributes: dict[str, Any] = {"header_timeout": header_timeout}
    return type(base.__name__, (base,), attributes)
