"""Serving the gateway: behind the MCP server's Host, Origin and token checks
(:func:`guarded_app`), until SIGINT or SIGTERM (:func:`run_gateway`).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .app import create_app

if TYPE_CHECKING:
    import socket
    from types import FrameType

    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.orchestrator import Orchestrator
    from starlette.types import ASGIApp

__all__ = ["guarded_app", "run_gateway"]


def guarded_app(config: Config, host: str, port: int, orchestrator: Orchestrator) -> ASGIApp:
    """The gateway app behind the server's Host, Origin and token checks.

    :raises ConfigError: a non-loopback address without ``server.auth_token_env``.
    """
    from dynamic_orchestrator.http_guard import (
        RequestGuard,
        allowed_hosts,
        allowed_origins,
        check_binding,
        read_auth_token,
    )

    from ..settings import settings_of

    server = settings_of(config).server
    token = read_auth_token(server.auth_token_env)
    check_binding(host, token)
    return RequestGuard(
        create_app(orchestrator),
        token=token,
        hosts=allowed_hosts(host, port),
        origins=allowed_origins(host, port, server.allowed_origins),
        api_key_header=True,
    )


def run_gateway(
    config: Config,
    host: str,
    port: int,
    *,
    ready: Callable[[int], None] | None = None,
    workers: int = 1,
) -> int:
    """Serve the gateway until SIGINT or SIGTERM (uvicorn's own handling), in ``workers``
    processes on one socket when more than one (:mod:`.workers`); the exit status."""
    import socket

    from dynamic_orchestrator.http_guard import check_binding, read_auth_token

    from ..settings import settings_of

    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto says
    # TCP; without it each keep-alive response can wait ~40 ms (Nagle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        bound = int(sock.getsockname()[1])
        check_binding(host, read_auth_token(settings_of(config).server.auth_token_env))
        # one process: the app now, so a configuration it refuses fails before serving;
        # several: each worker builds its own after the fork
        app = _app(config, host, bound) if workers == 1 else None
    except BaseException:
        sock.close()  # a port taken or a refused binding (no token): the socket is ours
        raise
    serving = "" if workers == 1 else f" ({workers} workers)"
    print(
        f"dynamic-orchestrator: gateway at http://{host}:{bound}{serving}",
        file=sys.stderr,
        flush=True,
    )
    if ready is not None:
        ready(bound)
    if app is not None:
        _serve(config, app, sock)
        return 0
    from .workers import serve_in_workers

    sock.listen(2048)  # before the forks: every worker accepts on the one queue
    try:
        return serve_in_workers(workers, lambda: _serve(config, _app(config, host, bound), sock))
    finally:
        sock.close()


def _app(config: Config, host: str, port: int) -> ASGIApp:
    from dynamic_orchestrator.orchestrator import Orchestrator

    return guarded_app(config, host, port, Orchestrator(config))


def _serve(config: Config, app: ASGIApp, sock: socket.socket) -> None:
    """One process serving the gateway on ``sock`` until SIGINT or SIGTERM."""
    import uvicorn

    from ..header_timeout import protocol_class
    from ..settled_server import SettledServer

    class Server(SettledServer):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # SIGINT or SIGTERM is how the gateway is asked to stop: shut down gracefully
            # and exit 0 (uvicorn's own handler re-raises the signal afterwards).
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

    server = Server(
        uvicorn.Config(
            app,
            log_level="warning",
            server_header=False,
            access_log=False,
            timeout_graceful_shutdown=5,
            lifespan="on",
            http=protocol_class(config.server.header_timeout),
        )
    )
    server.run(sockets=[sock])
