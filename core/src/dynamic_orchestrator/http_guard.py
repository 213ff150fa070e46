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

import hmac
import ipaddress
import json
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

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
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        hosts: list[str] | None,
        origins: list[str],
        api_key_header: bool = False,
    ):
        self.app = app
        self.api_key_header = api_key_header
        self.expected = token.encode() if token else None
        self.hosts = hosts
        self.origins = origins

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
        await self.app(scope, receive, _json_too_large(send))


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
