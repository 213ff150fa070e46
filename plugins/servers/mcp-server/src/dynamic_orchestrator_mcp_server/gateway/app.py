"""The gateway's HTTP app: the Anthropic and OpenAI routes and ``/v1/models`` on one
Starlette app (:func:`create_app`), or the routes alone to mount beside ``/mcp``
(:func:`gateway_routes`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .front import Gateway, answer_headers, request_id

if TYPE_CHECKING:
    from dynamic_orchestrator.orchestrator import Orchestrator

__all__ = ["create_app", "gateway_routes", "list_models"]


async def list_models(request: Request) -> Response:
    """``GET /v1/models``: one list readable in both APIs' shapes."""
    gateway: Gateway = request.app.state.gateway
    await gateway.ready()
    data = gateway.models()
    body = {
        "object": "list",
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    return JSONResponse(body, headers=answer_headers("-", "-", request_id()))


def gateway_routes() -> list[Route]:
    """The gateway's routes (for its own app, or mounted beside ``/mcp``)."""
    from . import anthropic_api, openai_api

    return [
        Route("/v1/messages", anthropic_api.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", anthropic_api.count_tokens, methods=["POST"]),
        Route("/v1/chat/completions", openai_api.chat_completions, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
    ]


def create_app(orchestrator: Orchestrator, *, owned: bool = True) -> Starlette:
    """The gateway app; with ``owned`` it initializes and closes the orchestrator itself."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await app.state.gateway.ready()
        from dynamic_orchestrator.providers import warm_providers

        await warm_providers(orchestrator.providers, orchestrator.config.plugins.startup_timeout)
        try:
            yield
        finally:
            if owned:
                await orchestrator.close()

    app = Starlette(routes=gateway_routes(), lifespan=lifespan)
    app.state.gateway = Gateway(orchestrator)
    return app
