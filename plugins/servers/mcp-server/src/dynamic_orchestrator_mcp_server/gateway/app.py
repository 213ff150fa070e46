"""The gateway's HTTP app (:class:`GatewayApp`): the Anthropic and OpenAI routes and
``/v1/models``, in plain ASGI (:mod:`.http`), served on its own or mounted beside ``/mcp``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from dynamic_orchestrator.http_guard import Message, Receive, Scope, Send
from dynamic_orchestrator.log import get_logger

from .front import Gateway, Shape, answer_headers, request_id
from .http import Call, JSONReply, Reply

if TYPE_CHECKING:
    from dynamic_orchestrator.orchestrator import Orchestrator

__all__ = ["GatewayApp", "create_app", "list_models"]

log = get_logger("gateway")

Handler = Callable[[Call], Awaitable[Reply]]


async def list_models(call: Call) -> Reply:
    """``GET /v1/models``: one list readable in both APIs' shapes."""
    await call.gateway.ready()
    data = call.gateway.models()
    body = {
        "object": "list",
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    return JSONReply(body, headers=answer_headers("-", "-", request_id()))


def _routes() -> dict[str, tuple[str, Handler, Shape]]:
    """Path -> (method, handler, the shape its errors take)."""
    from . import anthropic_api, openai_api

    anthropic, openai = anthropic_api.SHAPE, openai_api.SHAPE
    return {
        "/v1/messages": ("POST", anthropic_api.messages, anthropic),
        "/v1/messages/count_tokens": ("POST", anthropic_api.count_tokens, anthropic),
        "/v1/chat/completions": ("POST", openai_api.chat_completions, openai),
        "/v1/models": ("GET", list_models, openai),
    }


class GatewayApp:
    """The gateway's routes as one ASGI app.

    With ``owned`` it answers the ASGI lifespan too: at start-up the orchestrator is
    initialized and the providers warmed, at shutdown it is closed. Mounted beside
    ``/mcp`` (``owned=False``) it is initialized on first use and closed by its owner.
    """

    def __init__(self, orchestrator: Orchestrator, *, owned: bool = True) -> None:
        self.gateway = Gateway(orchestrator)
        self.owned = owned
        self.routes = _routes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        route = self.routes.get(scope["path"])
        if route is None:
            await _route_error(404, f"no route {scope['path']!r} here")(scope, receive, send)
            return
        method, handler, shape = route
        if scope["method"] != method:
            error = _route_error(405, f"{scope['path']} takes {method}", allow=method)
            await error(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            reply = await handler(Call(scope, receive, self.gateway))
            await reply(scope, receive, sending)
        except Exception:  # an error of ours: the client gets a 500 in its API's shape
            rid = request_id()
            log.exception("gateway_error", path=scope["path"], request_id=rid)
            if started:
                raise  # the answer has begun: the server closes the connection
            body = shape.server_error(f"internal error (request {rid})")
            await JSONReply(body, 500, answer_headers("-", "-", rid))(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.gateway.ready()
                    from dynamic_orchestrator.providers import warm_providers

                    orch = self.gateway.orchestrator
                    await warm_providers(orch.providers, orch.config.plugins.startup_timeout)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.owned:
                    await self.gateway.orchestrator.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _route_error(status: int, message: str, allow: str | None = None) -> JSONReply:
    """404 (no such path) or 405 (another method; ``allow`` names it), as JSON."""
    kind = "not_found" if status == 404 else "method_not_allowed"
    headers = {"allow": allow} if allow else {}
    return JSONReply({"error": {"type": kind, "message": message}}, status, headers)


def create_app(orchestrator: Orchestrator, *, owned: bool = True) -> GatewayApp:
    """The gateway app; with ``owned`` it initializes and closes the orchestrator itself."""
    return GatewayApp(orchestrator, owned=owned)
