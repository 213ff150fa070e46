"""``POST /v1/chat/completions``: the OpenAI Chat Completions API.

The request becomes the gateway's neutral (Anthropic-shaped) body
(:func:`~.translate.openai_to_messages`); the answer is written back as chunks
(``tool_calls`` in pieces, the usage chunk under ``stream_options.include_usage``,
``[DONE]``) or one ``chat.completion``. Errors are OpenAI's
``{"error": {"message", "type", "code"}}`` with its status. The client's key never goes
upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynamic_orchestrator.errors import ErrorKind, ProviderError, RequestError
from dynamic_orchestrator.streaming import Assembly

from .calls import Opened, Turn
from .front import answer_headers, request_id
from .http import Call, JSONReply, Reply
from .sse import OpenAIChunks
from .translate import openai_completion, openai_to_messages

__all__ = ["chat_completions"]

ERRORS: dict[ErrorKind, tuple[int, str, str | None]] = {
    ErrorKind.RATE_LIMITED: (429, "rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.QUOTA_EXHAUSTED: (429, "insufficient_quota", "insufficient_quota"),
    ErrorKind.AUTH: (401, "authentication_error", "invalid_api_key"),
    ErrorKind.MODEL_NOT_FOUND: (404, "invalid_request_error", "model_not_found"),
    ErrorKind.BAD_REQUEST: (400, "invalid_request_error", None),
    ErrorKind.CONTEXT_OVERFLOW: (400, "invalid_request_error", "context_length_exceeded"),
    ErrorKind.TRANSIENT: (503, "server_error", "overloaded"),
    ErrorKind.UNAVAILABLE: (503, "server_error", "overloaded"),
    ErrorKind.CANCELLED: (499, "server_error", None),
}


class OpenAIShape:
    name = "openai"

    def encoder(
        self, turn: Turn, opened: Opened, stream_options: Mapping[str, Any]
    ) -> OpenAIChunks:
        include = bool(stream_options.get("include_usage"))
        return OpenAIChunks(f"chatcmpl-{turn.request_id}", opened.model.name, include)

    def whole(self, turn: Turn, opened: Opened, done: Assembly) -> dict[str, Any]:
        return openai_completion(done, f"chatcmpl-{turn.request_id}", opened.model.name)

    def error_body(
        self, error: ProviderError | RequestError
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if isinstance(error, RequestError):
            status, kind, code = 400, "invalid_request_error", None
        else:
            status, kind, code = ERRORS.get(error.kind, (500, "server_error", None))
        headers: dict[str, str] = {}
        if status == 429:
            wait = error.retry_after if isinstance(error, ProviderError) else None
            headers["retry-after"] = str(max(1, round(wait or 1)))
        return (
            status,
            {"error": {"message": str(error), "type": kind, "param": None, "code": code}},
            headers,
        )

    def error_event(self, error: BaseException) -> bytes:
        _, kind, code = (
            ERRORS.get(error.kind, (500, "server_error", None))
            if isinstance(error, ProviderError)
            else (500, "server_error", None)
        )
        return OpenAIChunks.error(kind, str(error), code)

    def server_error(self, message: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


SHAPE = OpenAIShape()


def _invalid(message: str, rid: str, model: str = "-") -> Reply:
    status, body, headers = SHAPE.error_body(RequestError(message))
    return JSONReply(body, status, headers={**answer_headers(model, "-", rid), **headers})


async def chat_completions(call: Call) -> Reply:
    """``POST /v1/chat/completions``."""
    gateway = call.gateway
    rid = request_id()
    try:
        raw, size = await gateway.read_json(call)
        model = raw.get("model")
        if not isinstance(model, str) or not model:
            raise RequestError("model: expected a model name")
        if raw.get("n") not in (None, 1):
            raise RequestError("n: only 1 is supported")
        body = openai_to_messages(raw)
    except RequestError as exc:
        return _invalid(str(exc), rid)
    options = raw.get("stream_options") if isinstance(raw.get("stream_options"), Mapping) else {}
    turn = Turn(api="openai", requested=model, body=body, request_id=rid, raw_bytes=size)
    return await gateway.serve(turn, SHAPE, bool(raw.get("stream")), options or {})
