"""The HTTP gateway: the endpoint Claude Code and SDK apps already call, routing every turn.

``POST /v1/messages`` (and ``/v1/messages/count_tokens``), ``POST /v1/chat/completions``
and ``GET /v1/models`` on one Starlette app (:mod:`.app`). Each call is routed
(:mod:`.routing`) under the ceiling of the model the client asked for, translated between
the Anthropic and OpenAI shapes (:mod:`.translate`, :mod:`.sse`; providers translate to
their own wire format), streamed, and recorded (:mod:`.calls`).
"""

from __future__ import annotations

from .app import Gateway, create_app, gateway_routes, guarded_app, run_gateway

__all__ = ["Gateway", "create_app", "gateway_routes", "guarded_app", "run_gateway"]
