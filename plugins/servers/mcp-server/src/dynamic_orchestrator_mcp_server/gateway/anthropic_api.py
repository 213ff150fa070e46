"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: the Anthropic Messages API.

The body is the gateway's neutral request as it is. Only ``anthropic-beta`` and the query
(Claude Code's ``?beta=true``) travel on, and only to an Anthropic upstream; the client's
``x-api-key`` / ``Authorization`` only under ``providers.<name>.client_key: passthrough``.
Errors are Anthropic's ``{"type": "error", "error": {"type", "message"}}`` with its status:
``overloaded_error`` 529, ``rate_limit_error`` 429 with ``retry-after``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynamic_orchestrator.errors import ErrorKind, ProviderError, RequestError
from dynamic_orchestrator.streaming import Assembly

from ..settings import settings_of
from .calls import Opened, Turn
from .front import Gateway, answer_headers, request_id
from .http import Call, JSONReply, Reply
from .routing import read_signals
from .sse import AnthropicSSE
from .translate import anthropic_message

__all__ = ["count_tokens", "messages"]

ERRORS: dict[ErrorKind, tuple[int, str]] = {
    ErrorKind.RATE_LIMITED: (429, "rate_limit_error"),
    ErrorKind.QUOTA_EXHAUSTED: (429, "rate_limit_error"),
    ErrorKind.AUTH: (401, "authentication_error"),
    ErrorKind.MODEL_NOT_FOUND: (404, "not_found_error"),
    ErrorKind.BAD_REQUEST: (400, "invalid_request_error"),
    ErrorKind.CONTEXT_OVERFLOW: (400, "invalid_request_error"),
    ErrorKind.TRANSIENT: (529, "overloaded_error"),
    ErrorKind.UNAVAILABLE: (529, "overloaded_error"),
    ErrorKind.CANCELLED: (499, "api_error"),
}


class AnthropicShape:
    name = "anthropic"

    def encoder(
        self, turn: Turn, opened: Opened, stream_options: Mapping[str, Any]
    ) -> AnthropicSSE:
        signals_tokens = max(1, turn.raw_bytes // 4)
        return AnthropicSSE(f"msg_{turn.request_id}", opened.model.name, signals_tokens)

    def whole(self, turn: Turn, opened: Opened, done: Assembly) -> dict[str, Any]:
        return anthropic_message(done, f"msg_{turn.request_id}", opened.model.name)

    def error_body(
        self, error: ProviderError | RequestError
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if isinstance(error, RequestError):
            status, kind = 400, "invalid_request_error"
        else:
            status, kind = ERRORS.get(error.kind, (500, "api_error"))
        headers: dict[str, str] = {}
        if status == 429:
            wait = error.retry_after if isinstance(error, ProviderError) else None
            headers["retry-after"] = str(max(1, round(wait or 1)))
        return status, {"type": "error", "error": {"type": kind, "message": str(error)}}, headers

    def error_event(self, error: BaseException) -> bytes:
        kind = (
            ERRORS.get(error.kind, (500, "api_error"))[1]
            if isinstance(error, ProviderError)
            else "api_error"
        )
        return AnthropicSSE.error(kind, str(error))

    def server_error(self, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": "api_error", "message": message}}


SHAPE = AnthropicShape()


def _invalid(message: str, rid: str, model: str = "-") -> Reply:
    status, body, headers = SHAPE.error_body(RequestError(message))
    return JSONReply(body, status, headers={**answer_headers(model, "-", rid), **headers})


def _validate(body: Mapping[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: expected a model name"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: expected a non-empty list"
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
            return f"messages[{i}].role: expected 'user' or 'assistant'"
        if not isinstance(message.get("content"), str | list):
            return f"messages[{i}].content: expected a string or a list of blocks"
    if "max_tokens" in body and (not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1):
        return "max_tokens: expected a positive integer"
    if "tools" in body and not isinstance(body["tools"], list):
        return "tools: expected a list"
    return None


def _client_key(call: Call) -> dict[str, str]:
    for name in ("x-api-key", "authorization"):
        value = call.headers.get(name)
        if value:
            return {name: value}
    return {}


async def messages(call: Call) -> Reply:
    """``POST /v1/messages``."""
    gateway = call.gateway
    rid = request_id()
    try:
        body, size = await gateway.read_json(call)
    except RequestError as exc:
        return _invalid(str(exc), rid)
    problem = _validate(body)
    if problem:
        return _invalid(problem, rid, str(body.get("model") or "-"))
    stream = bool(body.pop("stream", False))
    beta = call.headers.get("anthropic-beta")
    turn = Turn(
        api="anthropic",
        requested=body.pop("model"),
        body=body,
        request_id=rid,
        raw_bytes=size,
        headers={"anthropic-beta": beta} if beta is not None else {},
        query=call.query,
        client_key=_client_key(call) if _passthrough_configured(gateway) else {},
    )
    return await gateway.serve(turn, SHAPE, stream, {})


def _passthrough_configured(gateway: Gateway) -> bool:
    return any(p.client_key == "passthrough" for p in gateway.config.providers.values())


async def count_tokens(call: Call) -> Reply:
    """``POST /v1/messages/count_tokens``: an estimate (bytes / 4, media counted apart)."""
    gateway = call.gateway
    rid = request_id()
    try:
        body, size = await gateway.read_json(call)
    except RequestError as exc:
        return _invalid(str(exc), rid)
    problem = _validate({**body, "max_tokens": 1})
    if problem:
        return _invalid(problem, rid)
    signals = read_signals(body, str(body["model"]), settings_of(gateway.config).gateway, size)
    return JSONReply(
        {"input_tokens": signals.input_tokens},
        headers=answer_headers(str(body["model"]), "-", rid),
    )
