"""The gateway on a free loopback port in a background thread::

    with GatewayServer(config) as gw:
        client = anthropic.Anthropic(base_url=gw.url, api_key="dummy", max_retries=0)

It serves :func:`~dynamic_orchestrator_mcp_server.gateway.app.guarded_app` with uvicorn, as
``dynamic-orchestrator gateway`` does, and returns from ``start`` once
``GET /v1/models`` answers 200. ``dynamic-orchestrator claude`` runs it beside the
``claude`` process; tests and the benchmark use it too.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from types import TracebackType
from typing import TYPE_CHECKING, Self

import uvicorn

if TYPE_CHECKING:
    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.orchestrator import Orchestrator

__all__ = ["GatewayServer"]


class GatewayServer:
    """The gateway app served on 127.0.0.1 in a thread."""

    def __init__(
        self, config: Config, *, orchestrator: Orchestrator | None = None, host: str = "127.0.0.1"
    ) -> None:
        from dynamic_orchestrator.orchestrator import Orchestrator

        self.config = config
        self.orchestrator = orchestrator or Orchestrator(config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Serve; returns once ``GET /v1/models`` answers 200."""
        from dynamic_orchestrator.http_guard import read_auth_token

        from ..header_timeout import protocol_class
        from ..settings import settings_of
        from .serve import guarded_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((self.host, self.port))
            self.port = int(sock.getsockname()[1])
            app = guarded_app(self.config, self.host, self.port, self.orchestrator)
        except BaseException:
            sock.close()  # uvicorn closes it once it serves; until then it is ours
            raise
        config = uvicorn.Config(
            app,
            # as the gateway command serves: uvloop and httptools when installed
            loop="auto",
            http=protocol_class(self.config.server.header_timeout, "auto"),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="gateway", daemon=True
        )
        self._thread.start()
        token = read_auth_token(settings_of(self.config).server.auth_token_env)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        deadline = time.monotonic() + 30
        while True:
            try:
                probe = urllib.request.Request(f"{self.url}/v1/models", headers=headers)
                with urllib.request.urlopen(probe, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop serving (the orchestrator is closed by the app's shutdown)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
