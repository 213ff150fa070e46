"""What every HTTP front door shares: loopback by default, Host and Origin checks, a bearer
token, and the refusal to listen beyond loopback without one.

:class:`RequestGuard` is a small pure-ASGI wrapper (no web framework needed here): it
checks ``Host`` and ``Origin`` on every path and a static bearer token on every request.
The MCP server's streamable HTTP, the gateway and the metrics dashboard put their apps
behind it.

Listening beyond loopback is refused unless a token is configured
(``server.auth_token_env`` names the environment variable that holds it). When bound to a
wildcard address the ``Host`` a client uses cannot be listed, so only ``Origin`` is checked
there; the token is the guard.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio

from .errors import ConfigError, register_secret

# The ASGI types, as the ASGI specification (and Starlette) spell them.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_auth_token(env: str | None) -> str | None:
    """The bearer token from the environment variable ``env`` (the setting
    ``server.auth_token_env`` names it), or None if no variable is named.

    :raises ConfigError: when the variable is named but empty or missing.
    """
    if not env:
        return None
    value = os.environ.get(env, "")
    if not value.strip():
        raise ConfigError(f"server.auth_token_env: environment variable {env} is not set or empty")
    register_secret(value)
    return value


MIN_TOKEN_CHARS = 16
"""The shortest bearer token accepted for an address beyond loopback."""


def display_url(host: str, port: int, path: str = "") -> str:
    """``http://host:port/path``, with an IPv6 address in brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def check_binding(host: str, token: str | None) -> None:
    """Refuse a non-loopback address without a bearer token, or with a short one.

    :raises ConfigError: naming the address and what to set.
    """
    if is_loopback(host):
        return
    if token is None:
        raise ConfigError(
            f"refusing to listen on {host}: beyond loopback a bearer token is required; set "
            "server.auth_token_env to the name of an environment variable that holds it"
        )
    if len(token.strip()) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"refusing to listen on {host}: the bearer token (server.auth_token_env) has "
            f"{len(token.strip())} characters; beyond loopback at least {MIN_TOKEN_CHARS} are "
            "required, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def _host_names(host: str) -> list[str]:
    if is_loopback(host):
        return ["127.0.0.1", "localhost", "[::1]"]
    if host in WILDCARD_HOSTS:
        return []
    return [f"[{host}]" if ":" in host else host]


def allowed_hosts(host: str, port: int) -> list[str] | None:
    """``Host`` values accepted, or None when they cannot be listed (wildcard bind)."""
    names = _host_names(host)
    if not names:
        return None
    suffix = "*" if port == 0 else str(port)
    return [f"{name}:{suffix}" for name in names] + (names if port in (0, 80) else [])


def allowed_origins(host: str, port: int, extra: Iterable[str] = ()) -> list[str]:
    """``Origin`` values accepted: the server's own, plus ``extra`` (``server.allowed_origins``)."""
    suffix = "*" if port == 0 else str(port)
    own = [
        f"{scheme}://{name}:{suffix}" for name in _host_names(host) for scheme in ("http", "https")
    ]
    return [*own, *extra]


def _matches(value: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if value == pattern or (pattern.endswith(":*") and value.startswith(pattern[:-1])):
            return True
    return False


class RequestGuard:
    """Checks every HTTP request: ``Host`` (421), ``Origin`` (403), bearer token (401).

    :param app: the application behind the guard (lifespan events pass straight through).
    :param token: the bearer token every request must carry, or None.
    :param hosts: accepted ``Host`` values (``name:*`` for any port), None to skip.
    :param origins: accepted ``Origin`` values; a request without ``Origin`` passes.
    :param api_key_header: also accept the token as ``x-api-key`` (the gateway: Anthropic
        clients send their key there); the header that carried the token is then removed
        before the app sees the request, so it is never mistaken for the client's own key.
    :param body_timeout: seconds the client has for each part of a request body, and for
        the whole body ``body_timeout`` plus one second per :data:`MIN_BODY_RATE` bytes
        (Apache's ``mod_reqtimeout`` rule); a client that sends it slower gets 408 and its
        connection is freed.

    Sessions are bound to the client that made them: the ``mcp-session-id`` a response
    hands out is kept with that client's identity (its address and credentials), and a
    request naming the session from any other client (a call or a ``DELETE``) gets 404, as
    for an unknown session. The table is bounded (:class:`SessionBindings`).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        hosts: list[str] | None,
        origins: list[str],
        api_key_header: bool = False,
        body_timeout: float = 10.0,
        sessions: SessionBindings | None = None,
    ):
        self.app = app
        self.api_key_header = api_key_header
        self.expected = token.encode() if token else None
        self.hosts = hosts
        self.origins = origins
        self.body_timeout = body_timeout
        self.sessions = sessions if sessions is not None else SessionBindings()
        """Session id -> the identity of the client that was given it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        host = headers.get("host", b"").decode("latin-1")
        origin = headers.get("origin", b"").decode("latin-1")
        if self.hosts is not None and not _matches(host, self.hosts):
            await _reply(send, 421, "invalid_host", f"Host {host!r} is not accepted here")
            return
        if origin and not _matches(origin, self.origins):
            await _reply(
                send,
                403,
                "invalid_origin",
                f"Origin {origin!r} is not allowed; add it to server.allowed_origins",
            )
            return
        carrier: bytes | None = None  # the header that carried our token
        if self.expected is not None:
            if _bearer_matches(headers.get("authorization", b""), self.expected):
                carrier = b"authorization"
            elif self.api_key_header and hmac.compare_digest(
                headers.get("x-api-key", b"").strip(), self.expected
            ):
                carrier = b"x-api-key"
        if self.expected is not None and carrier is None:
            await _reply(
                send,
                401,
                "invalid_token",
                "a valid 'Authorization: Bearer <token>' header is required",
                [(b"www-authenticate", b'Bearer error="invalid_token"')],
            )
            return
        if carrier is not None and self.api_key_header:
            # The gateway's own token is ours alone: the app behind never sees it, so it
            # can never be forwarded upstream as the client's key (client_key: passthrough).
            scope = {
                **scope,
                "headers": [(k, v) for k, v in scope["headers"] if k.lower() != carrier],
            }
        identity = _identity(scope, headers)
        session = headers.get(SESSION_HEADER)
        if session is not None and self.sessions.owner(session) != identity:
            await _reply(send, 404, "session_not_found", "no such session for this client")
            return
        started = False
        status = 0

        async def sending(message: Message) -> None:
            nonlocal started, status
            if timed_out:
                return  # the 408 is sent; what the app says after that (a 500) is not
            if message["type"] == "http.response.start":
                started = True
                status = message.get("status", 0)
                for key, value in message.get("headers", []):
                    if key.lower() == SESSION_HEADER.encode():
                        self.sessions.bind(value, identity)
            await send(message)

        body_done = scope.get("method") in ("GET", "HEAD", "DELETE")
        timed_out = False
        body_started: float | None = None
        received = 0

        async def receiving() -> Message:
            nonlocal body_done, timed_out, body_started, received
            if body_done:
                return await receive()
            now = anyio.current_time()
            if body_started is None:
                body_started = now
            # Each part within body_timeout, and the whole at MIN_BODY_RATE after the first
            # body_timeout seconds: a body trickled a byte at a time is not held forever.
            allowed = body_started + self.body_timeout + received / MIN_BODY_RATE - now
            with anyio.move_on_after(min(self.body_timeout, max(allowed, 0.0))):
                message = await receive()
                received += len(message.get("body", b""))
                body_done = message["type"] != "http.request" or not message.get("more_body")
                return message
            if not started:
                await _reply(
                    send,
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {self.body_timeout:g}s (each "
                    f"part, and the whole at {MIN_BODY_RATE} bytes/s after that)",
                    [(b"connection", b"close")],  # the rest of the body is never read
                )
            timed_out = True
            raise _SlowBody

        if session is not None:
            self.sessions.enter(session)
        try:
            await self.app(scope, receiving, _json_too_large(sending))
        except Exception:
            if not timed_out:  # the app's own failure; after a 408 its echo (a 500) is not
                raise
        finally:
            if session is not None:
                self.sessions.leave(session)
        if session is not None and (scope.get("method") == "DELETE" or status == 404):
            self.sessions.drop(session)  # ended by its client, or the app no longer knows it


SESSION_HEADER = "mcp-session-id"

MIN_BODY_RATE = 500
"""Bytes per second a request body must keep up after its first ``body_timeout`` seconds
(``mod_reqtimeout``'s default ``MinRate``)."""


@dataclass
class _Binding:
    identity: str
    seen: float
    active: int = 0


class SessionBindings:
    """Which client each session id was handed to, bounded in number and in time.

    A binding ends with its session: a ``DELETE``, a 404 from the app (it no longer knows
    the session), ``idle`` seconds with no request in flight (the SDK closes a session idle
    for 30 minutes), or, past ``limit`` bindings (the SDK's own cap on open sessions is
    10,000), eviction of the least recently used one without a request in flight. A session
    id not held here answers 404 at the guard, so a binding that is gone is never taken
    over by another client: its owner starts a new session, as after expiry.

    :param clock: seconds, monotonic; tests pass their own.
    """

    def __init__(
        self,
        limit: int = 10_000,
        idle: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limit = limit
        self.idle = idle
        self.clock = clock
        self._bindings: OrderedDict[bytes, _Binding] = OrderedDict()  # least recent first

    def __len__(self) -> int:
        return len(self._bindings)

    def owner(self, session: bytes) -> str | None:
        """The identity the session was handed to, or None if it is not held."""
        self._sweep()
        binding = self._bindings.get(session)
        return binding.identity if binding else None

    def bind(self, session: bytes, identity: str) -> None:
        """Keep ``session`` with ``identity`` (a session already held keeps its owner)."""
        if session not in self._bindings:
            self._bindings[session] = _Binding(identity, self.clock())
        self._touch(session)
        self._sweep()

    def enter(self, session: bytes) -> None:
        """A request naming the session started."""
        if binding := self._bindings.get(session):
            binding.active += 1
            self._touch(session)

    def leave(self, session: bytes) -> None:
        """A request naming the session ended."""
        if binding := self._bindings.get(session):
            binding.active = max(0, binding.active - 1)
            self._touch(session)

    def drop(self, session: bytes) -> None:
        """Forget the session."""
        self._bindings.pop(session, None)

    def _touch(self, session: bytes) -> None:
        self._bindings[session].seen = self.clock()
        self._bindings.move_to_end(session)

    def _sweep(self) -> None:
        expired = self.clock() - self.idle
        excess = len(self._bindings) - self.limit
        doomed = []
        for session, binding in self._bindings.items():
            if binding.seen >= expired and excess <= 0:
                break
            if binding.active == 0:
                doomed.append(session)
                excess -= 1
        for session in doomed:
            del self._bindings[session]


class _SlowBody(Exception):
    """The client took longer than the body timeout to send a part of the body."""


def _identity(scope: Scope, headers: dict[str, bytes]) -> str:
    """Who the client is, for binding sessions: its address and what it authenticated with."""
    client = scope.get("client") or ("", 0)
    secret = headers.get("authorization", b"") + b"\0" + headers.get("x-api-key", b"")
    return f"{client[0]}|{hashlib.sha256(secret).hexdigest()}"


def _json_too_large(send: Send) -> Send:
    """``send`` that turns the SDK's plain-text 413 into the same JSON shape as 401/403/421."""
    replaced = False

    async def wrapped(message: Message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message.get("status") == 413:
            replaced = True
            await _reply(
                send,
                413,
                "request_too_large",
                "the request body is over the size limit (server.max_request_bytes)",
            )
            return
        if replaced and message["type"] == "http.response.body":
            return  # the plain-text body of the replaced answer
        await send(message)

    return wrapped


def _bearer_matches(header: bytes, expected: bytes) -> bool:
    scheme, _, credentials = header.strip().partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), expected)


async def _reply(
    send: Send,
    status: int,
    error: str,
    description: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
