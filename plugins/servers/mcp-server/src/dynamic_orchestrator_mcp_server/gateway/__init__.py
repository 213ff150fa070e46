"""The HTTP gateway: the endpoint Claude Code and SDK apps already call, routing every turn.

``POST /v1/messages`` (and ``/v1/messages/count_tokens``), ``POST /v1/chat/completions``
and ``GET /v1/models`` on one plain ASGI app (:mod:`.app`, :mod:`.http`). Each call is routed
(:mod:`.routing`) under the ceiling of the model the client asked for, translated between
the Anthropic and OpenAI shapes (:mod:`.translate`, :mod:`.sse`; providers translate to
their own wire format), streamed, and recorded (:mod:`.calls`). The commands
``gateway`` and ``claude`` live in :mod:`.commands`.

Names are imported on first use, so the command line does not load the server stack
until it serves.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Gateway", "GatewayApp", "GatewayServer", "create_app", "guarded_app", "run_gateway"]


def __getattr__(name: str) -> Any:
    if name == "GatewayServer":
        from .server import GatewayServer

        return GatewayServer
    if name in ("guarded_app", "run_gateway"):
        from . import serve

        return getattr(serve, name)
    if name == "Gateway":
        from .front import Gateway

        return Gateway
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
