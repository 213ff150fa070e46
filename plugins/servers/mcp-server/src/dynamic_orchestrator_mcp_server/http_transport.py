"""Streamable HTTP for the MCP server: ``/mcp``, the gateway and the plugins' routes beside
it, all behind :class:`~dynamic_orchestrator.http_guard.RequestGuard`.

The SDK caps the body (413) and checks ``Host``/``Origin`` against DNS rebinding on its own
``/mcp`` endpoint; those settings are used as they are. Two things it does not do, and the
guard adds: the same checks on every other path (a plugin's ``/metrics``, say), and a
static bearer token on every request. The SDK's own auth is OAuth-shaped (a token verifier
plus an issuer URL) and covers ``/mcp`` only.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator.errors import ConfigError
from dynamic_orchestrator.http_guard import (
    RequestGuard,
    allowed_hosts,
    allowed_origins,
    check_binding,
    display_url,
    read_auth_token,
)

from .settings import settings_of

if TYPE_CHECKING:
    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.orchestrator import Orchestrator
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.types import ASGIApp, Receive, Scope, Send

MCP_PATH = "/mcp"


def transport_security(config: Config, host: str, port: int) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding settings for ``/mcp``."""
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = allowed_hosts(host, port)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=hosts is not None,
        allowed_hosts=hosts or [],
        allowed_origins=allowed_origins(host, port, settings_of(config).server.allowed_origins),
    )


class ExtraRoutes:
    """Send a path registered by a plugin (and anything under it) to its ASGI app."""

    def __init__(self, app: ASGIApp, routes: dict[str, Any]):
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            for prefix, route_app in self.routes.items():
                if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    await route_app(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def build_http_app(
    server: MCPServer[Any],
    config: Config,
    *,
    host: str,
    port: int,
    token: str | None,
    routes: Iterable[tuple[str, Any]] = (),
) -> ASGIApp:
    """The ASGI app: ``/mcp`` (streamable HTTP) and the plugins' routes, behind the guard."""
    mcp_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=False,
        stateless_http=False,
        max_request_body_size=settings_of(config).server.max_request_bytes,
        transport_security=transport_security(config, host, port),
        host=host,
    )
    extra: dict[str, Any] = {}
    for path, route_app in routes:
        if not path.startswith("/") or path.rstrip("/") in ("", MCP_PATH):
            raise ConfigError(f"a plugin route cannot take the path {path!r}")
        extra[path] = route_app
    app: ASGIApp = ExtraRoutes(mcp_app, extra) if extra else mcp_app
    return RequestGuard(
        app,
        token=token,
        hosts=allowed_hosts(host, port),
        origins=allowed_origins(host, port, settings_of(config).server.allowed_origins),
        body_timeout=config.server.body_timeout,
    )


def http_app(
    config: Config, host: str, port: int, *, orchestrator: Orchestrator | None = None
) -> ASGIApp:
    """The whole HTTP server for ``host:port``: checks the binding, then builds the app.

    :param orchestrator: use this (not yet initialized) orchestrator; default: one built
        from ``config``. The server initializes it at start-up and closes it at shutdown.
    :raises ConfigError: a missing token, or a non-loopback address without one.
    """
    from dynamic_orchestrator.orchestrator import Orchestrator

    from .server import build_server

    token = read_auth_token(settings_of(config).server.auth_token_env)
    check_binding(host, token)
    orchestrator = orchestrator or Orchestrator(config)
    routes = orchestrator.hooks.register_http_routes(config)
    from .gateway.app import create_app

    routes = [*routes, ("/v1", create_app(orchestrator, owned=False))]  # the gateway beside /mcp
    server = build_server(config, orchestrator=orchestrator, owned=True, eager=True)
    return build_http_app(server, config, host=host, port=port, token=token, routes=routes)


def run_http(config: Config, host: str, port: int) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted.

    :raises ConfigError: a missing token, or a non-loopback address without one.
    """
    import uvicorn

    from .header_timeout import protocol_class
    from .settled_server import SettledServer

    app = http_app(config, host, port)
    print(f"dynamic-orchestrator: MCP at {display_url(host, port, MCP_PATH)}", file=sys.stderr)
    server = SettledServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=5,  # an idle connection is closed after 5 s
            h11_max_incomplete_event_size=64 * 1024,  # request line and headers: 64 KiB at most
            http=protocol_class(config.server.header_timeout),  # and within header_timeout
        )
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run: it could not start (a port taken, say)
