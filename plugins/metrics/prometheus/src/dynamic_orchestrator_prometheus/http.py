"""Serving the metrics: ``/metrics`` beside ``/mcp``, and a port of their own.

:class:`MetricsEndpoint` is the ASGI app registered at ``/metrics`` on the streamable HTTP
transport. Routes are registered with the configuration only, so the endpoint finds its
sink when scraped: the live sink started with that same configuration, else the only
live sink. The exposition itself is ``prometheus_client``'s (text or OpenMetrics, by the
``Accept`` header). :func:`serve_port` serves the same registry on its own port, for
stdio deployments, with ``prometheus_client``'s threaded server.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # prometheus_client is imported once a sink is built or a scrape comes
    from .sink import PrometheusSink

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class LiveSinks:
    """The sinks of the orchestrators running in this process, by their configuration.

    An entry is a sink, or a function that builds its sink on first use.
    """

    def __init__(self) -> None:
        self._sinks: list[tuple[object, PrometheusSink | Callable[[], PrometheusSink]]] = []
        self._lock = threading.Lock()

    def add(self, config: object, sink: PrometheusSink | Callable[[], PrometheusSink]) -> None:
        with self._lock:
            self._sinks.append((config, sink))

    def remove(self, sink: object) -> None:
        with self._lock:
            self._sinks = [(c, s) for c, s in self._sinks if s is not sink and s != sink]

    def find(self, config: object) -> PrometheusSink | None:
        """The sink started with this configuration, else the only live one."""
        with self._lock:
            found = next((s for c, s in self._sinks if c is config), None)
            if found is None and len(self._sinks) == 1:
                found = self._sinks[0][1]
        return found() if callable(found) else found


LIVE = LiveSinks()


class MetricsEndpoint:
    """ASGI app: the Prometheus exposition of the sink that belongs to ``config``."""

    def __init__(self, config: object, live: LiveSinks = LIVE) -> None:
        self.config = config
        self.live = live

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed: use GET\n")
            return
        sink = self.live.find(self.config)
        if sink is None:
            await _plain(send, 503, b"no orchestrator with Prometheus metrics is running\n")
            return
        from prometheus_client import make_asgi_app

        await make_asgi_app(sink.registry)(scope, receive, send)


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class PortServer:
    """A running standalone exposition server; ``port`` is the bound port."""

    def __init__(self, sink: PrometheusSink, host: str, port: int) -> None:
        from prometheus_client import start_http_server

        self._server, self._thread = start_http_server(port, addr=host, registry=sink.registry)
        self.host = host
        self.port: int = self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_port(sink: PrometheusSink, host: str, port: int) -> PortServer:
    """Serve ``sink`` on ``host:port`` (0: any free port) until closed."""
    return PortServer(sink, host, port)
