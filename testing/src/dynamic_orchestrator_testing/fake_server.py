"""A fake LLM-provider HTTP server that speaks the real OpenAI, Anthropic and Gemini wire formats.

Provider plugins are tested against it with their *official* SDKs over real HTTP on
127.0.0.1, so nothing reaches the internet and the SDK's own request building, response
parsing and error mapping are exercised::

    from dynamic_orchestrator_testing import fake_server as fs

    with fs.FakeProviderServer() as srv:
        client = openai.OpenAI(base_url=srv.openai_base_url, api_key="sk-test", max_retries=0)
        srv.script("openai", fs.rate_limit(retry_after=2), fs.reply("hi", output_tokens=7))
        ...  # first call raises openai.RateLimitError, the second answers "hi"

Point each SDK at the server:

* ``openai.OpenAI(base_url=srv.openai_base_url)`` -- ``POST /v1/chat/completions``
* ``anthropic.Anthropic(base_url=srv.anthropic_base_url)`` -- ``POST /v1/messages``
* ``genai.Client(api_key=..., http_options=types.HttpOptions(base_url=srv.gemini_base_url))``
  -- ``POST /{v1,v1beta,v1alpha}/models/{model}:generateContent`` (and
  ``:streamGenerateContent?alt=sse``); google-genai 3.x defaults to ``v1``.

Default reply (deterministic): ``"echo: <last user text>"`` cut to 200 characters, the
requested model echoed back, input tokens = characters of all message text // 4 and
output tokens = ``len(reply) // 4`` (each at least 1). When the request declares tools and
the last user text holds ``[call:NAME]`` or ``[call:NAME {"a": 1}]`` markers, the reply is a
tool call per marker in the provider's format. When the conversation ends with tool
results, the reply is ``"tool result: <result text>"`` so a tool loop finishes.

Faults: :meth:`FakeProviderServer.script` queues steps (:func:`rate_limit`,
:func:`quota_exhausted`, :func:`server_error`, :func:`overloaded`, :func:`timeout`,
:func:`unauthorized`, :func:`not_found`, :func:`bad_request`, :func:`context_length`,
:func:`reply`, :func:`tool_call`) that successive requests for that provider (optionally
only for one model) consume; errors use each provider's real status code and error body.
Streaming (``stream: true``) is answered with each provider's real SSE events; a fault
step answers a streaming request with the same HTTP error as a non-streaming one.

:meth:`FakeProviderServer.add_route` serves one more route (a fourth wire format);
:meth:`FakeProviderServer.set_latency` delays every response; :attr:`~FakeProviderServer.requests`
lists what was received (provider, path, model, headers, JSON body, query);
:attr:`~FakeProviderServer.disconnects` counts clients that hung up while a response was
delayed (a cancelled call); :meth:`~FakeProviderServer.reset` forgets requests, scripts,
disconnects and latency between tests.
Credentials sent in ``Authorization``, ``x-api-key``, ``x-goog-api-key``, ``api-key`` or
a ``key=`` query parameter are kept there for assertions but never appear in a response
body (values of 8+ characters are masked) or a log line (the server logs no requests).

SDK notes for test authors:

* Give openai and anthropic clients ``max_retries=0`` (the default, 2, retries 429/5xx
  and so consumes several scripted steps); google-genai retries only when
  ``HttpOptions.retry_options`` is set.
* google-genai: ``HttpOptions.timeout`` is in milliseconds, a timeout surfaces as the raw
  ``httpx2.TimeoutException``, and a ``genai.Client`` must stay referenced while in use
  (a collected client closes its transport under the ``client.models`` it handed out).
* anthropic 2.x sends the API key as ``Authorization: Bearer``, not ``x-api-key``.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, get_args

import anyio.to_thread
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

__all__ = [
    "PROVIDERS",
    "REPLY_LIMIT",
    "FakeProviderServer",
    "Fault",
    "FaultKind",
    "Provider",
    "RecordedRequest",
    "bad_request",
    "context_length",
    "not_found",
    "overloaded",
    "quota_exhausted",
    "rate_limit",
    "reply",
    "server_error",
    "stream_error",
    "timeout",
    "tool_call",
    "unauthorized",
]

Provider = Literal["openai", "anthropic", "gemini"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)

REPLY_LIMIT = 200
"""Default replies are cut to this many characters."""

SECRET_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key")
_MIN_SECRET_LEN = 8
_GEMINI_VERSIONS = ("v1", "v1beta", "v1alpha")
_GEMINI_METHODS = ("generateContent", "streamGenerateContent")


class FaultKind(enum.Enum):
    """What a scripted step does."""

    RATE_LIMIT = "rate_limit"
    QUOTA_EXHAUSTED = "quota_exhausted"
    SERVER_ERROR = "server_error"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    CONTEXT_LENGTH = "context_length"
    REPLY = "reply"
    TOOL_CALL = "tool_call"
    STREAM_ERROR = "stream_error"


_SUCCESS_KINDS = frozenset(
    {FaultKind.REPLY, FaultKind.TOOL_CALL, FaultKind.TIMEOUT, FaultKind.STREAM_ERROR}
)


@dataclass(frozen=True)
class Fault:
    """One scripted step; build it with the helper functions rather than directly."""

    kind: FaultKind
    retry_after: float | None = None
    status: int | None = None
    seconds: float = 0.0
    message: str | None = None
    text: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tool_name: str | None = None
    tool_args: Mapping[str, Any] = field(default_factory=dict)
    limit: int | None = None


def rate_limit(retry_after: float | None = None) -> Fault:
    """429 with the provider's rate-limit body, and ``Retry-After`` when given."""
    return Fault(FaultKind.RATE_LIMIT, retry_after=retry_after)


def quota_exhausted() -> Fault:
    """Out of credit: OpenAI 429 ``insufficient_quota``, Anthropic 400, Gemini 429."""
    return Fault(FaultKind.QUOTA_EXHAUSTED)


def server_error(status: int = 500) -> Fault:
    """A 5xx with the provider's server-error body."""
    if not 500 <= status <= 599:
        raise ValueError(f"server_error needs a 5xx status, got {status}")
    return Fault(FaultKind.SERVER_ERROR, status=status)


def overloaded() -> Fault:
    """Anthropic 529 ``overloaded_error``; 503 for OpenAI and Gemini."""
    return Fault(FaultKind.OVERLOADED)


def timeout(seconds: float) -> Fault:
    """Wait ``seconds`` before answering with the default reply."""
    return Fault(FaultKind.TIMEOUT, seconds=seconds)


def unauthorized() -> Fault:
    """401 with the provider's authentication-error body."""
    return Fault(FaultKind.UNAUTHORIZED)


def not_found() -> Fault:
    """404 'model not found' body."""
    return Fault(FaultKind.NOT_FOUND)


def bad_request(message: str = "Invalid request.") -> Fault:
    """400 invalid-request body carrying ``message``."""
    return Fault(FaultKind.BAD_REQUEST, message=message)


def context_length(tokens: int | None = None, limit: int = 200_000) -> Fault:
    """400 'prompt too long' body; ``tokens`` defaults to ``limit`` + the request's tokens."""
    return Fault(FaultKind.CONTEXT_LENGTH, input_tokens=tokens, limit=limit)


def reply(text: str, input_tokens: int | None = None, output_tokens: int | None = None) -> Fault:
    """A success answering ``text``, with the given usage (default: computed)."""
    return Fault(FaultKind.REPLY, text=text, input_tokens=input_tokens, output_tokens=output_tokens)


def tool_call(name: str, arguments: Mapping[str, Any] | None = None) -> Fault:
    """A success that calls tool ``name`` with ``arguments``, whatever the request says."""
    return Fault(FaultKind.TOOL_CALL, tool_name=name, tool_args=dict(arguments or {}))


def stream_error(text: str = "partial answer that breaks") -> Fault:
    """A streamed answer that fails after its first text piece with the provider's error
    event (Anthropic ``overloaded_error``, OpenAI an ``error`` chunk); whole answers reply
    ``text``."""
    return Fault(FaultKind.STREAM_ERROR, text=text)


@dataclass
class RecordedRequest:
    """One request the server received (credentials included; masked in ``repr``)."""

    provider: Provider
    method: str
    path: str
    model: str
    headers: dict[str, str]
    body: Any
    query: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        headers = {k: ("***" if k in SECRET_HEADERS else v) for k, v in self.headers.items()}
        query = {k: ("***" if k == "key" else v) for k, v in self.query.items()}
        text = (
            f"RecordedRequest(provider={self.provider!r}, method={self.method!r}, "
            f"path={self.path!r}, model={self.model!r}, headers={headers!r}, "
            f"query={query!r}, body={self.body!r})"
        )
        return _mask(text, _secrets(self))


# --------------------------------------------------------------------------- conversation


@dataclass
class _Conversation:
    """A provider-neutral view of a request."""

    model: str
    events: list[tuple[Literal["user", "tool"], str]]
    chars: int
    tools: bool
    stream: bool
    include_usage: bool = False
    legacy_functions: bool = False


@dataclass
class _Outcome:
    """What to answer: text, or tool calls (name, arguments)."""

    text: str | None
    calls: list[tuple[str, dict[str, Any]]]
    input_tokens: int
    output_tokens: int
    breaks: bool = False
    """Streamed: fail with the provider's error event after the first text piece."""


_MARKER = re.compile(r"\[call:([A-Za-z_][A-Za-z0-9_.:\-]*)")
_DECODER = json.JSONDecoder()


def _parse_markers(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Find ``[call:NAME]`` / ``[call:NAME {json}]`` markers in ``text``."""
    calls: list[tuple[str, dict[str, Any]]] = []
    pos = 0
    while (m := _MARKER.search(text, pos)) is not None:
        i = m.end()
        args: dict[str, Any] = {}
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            try:
                obj, i = _DECODER.raw_decode(text, i)
            except json.JSONDecodeError:
                pos = m.end()
                continue
            if isinstance(obj, dict):
                args = obj
            while i < len(text) and text[i] in " \t":
                i += 1
        if i < len(text) and text[i] == "]":
            calls.append((m.group(1), args))
            pos = i + 1
        else:
            pos = m.end()
    return calls


def _tokens(chars: int) -> int:
    return max(1, chars // 4)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _plan(conv: _Conversation, step: Fault | None) -> _Outcome:
    """The success answer for ``conv``; ``step`` is a REPLY, TOOL_CALL or TIMEOUT step, or None."""
    input_tokens = _tokens(conv.chars)
    if step is not None and step.kind in (FaultKind.REPLY, FaultKind.STREAM_ERROR):
        text = step.text or ""
        return _Outcome(
            text,
            [],
            step.input_tokens if step.input_tokens is not None else input_tokens,
            step.output_tokens if step.output_tokens is not None else _tokens(len(text)),
        )
    if step is not None and step.kind is FaultKind.TOOL_CALL:
        calls = [(step.tool_name or "tool", dict(step.tool_args))]
    else:
        last_kind, last_text = conv.events[-1] if conv.events else ("user", "")
        if last_kind == "tool":
            results = itertools.takewhile(lambda e: e[0] == "tool", reversed(conv.events))
            text = "tool result: " + "\n".join(reversed([t for _, t in results]))
            return _Outcome(text[:REPLY_LIMIT], [], input_tokens, _tokens(len(text[:REPLY_LIMIT])))
        calls = _parse_markers(last_text) if conv.tools else []
        if not calls:
            text = ("echo: " + last_text)[:REPLY_LIMIT]
            return _Outcome(text, [], input_tokens, _tokens(len(text)))
    size = sum(len(name) + len(_compact(args)) for name, args in calls)
    return _Outcome(None, calls, input_tokens, _tokens(size))


def _text_of(content: Any) -> str:
    """Text of a string or a list of ``{"type": "text", "text": ...}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _openai_conversation(body: dict[str, Any]) -> _Conversation:
    events: list[tuple[Literal["user", "tool"], str]] = []
    chars = 0
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        role = msg.get("role")
        text = _text_of(msg.get("content"))
        chars += len(text)
        for call in msg.get("tool_calls") or []:
            fn = (call.get("function") or {}) if isinstance(call, dict) else {}
            chars += len(str(fn.get("name", ""))) + len(str(fn.get("arguments", "")))
        if role in ("tool", "function"):
            events.append(("tool", text))
        elif role == "user":
            events.append(("user", text))
    tools = bool(body.get("tools") or body.get("functions"))
    if body.get("tool_choice") == "none" or body.get("function_call") == "none":
        tools = False
    options = body.get("stream_options") or {}
    return _Conversation(
        model=str(body.get("model", "")),
        events=events,
        chars=chars,
        tools=tools,
        stream=bool(body.get("stream")),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        legacy_functions=bool(body.get("functions")) and not body.get("tools"),
    )


def _anthropic_conversation(body: dict[str, Any]) -> _Conversation:
    events: list[tuple[Literal["user", "tool"], str]] = []
    chars = len(_text_of(body.get("system")))
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        texts: list[str] = []
        results: list[str] = []
        for block in blocks or []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif kind == "tool_result":
                results.append(_text_of(block.get("content")))
            elif kind == "tool_use":
                chars += len(str(block.get("name", ""))) + len(_compact(block.get("input", {})))
        chars += sum(map(len, texts)) + sum(map(len, results))
        if msg.get("role") == "user":
            events.extend(("tool", r) for r in results)
            if texts or not results:
                events.append(("user", "\n".join(texts)))
    choice = body.get("tool_choice")
    tools = bool(body.get("tools")) and not (
        isinstance(choice, dict) and choice.get("type") == "none"
    )
    return _Conversation(
        model=str(body.get("model", "")),
        events=events,
        chars=chars,
        tools=tools,
        stream=bool(body.get("stream")),
    )


def _gemini_result_text(response: Any) -> str:
    if isinstance(response, dict) and len(response) == 1:
        (value,) = response.values()
        if isinstance(value, str):
            return value
    return _compact(response)


def _gemini_conversation(body: dict[str, Any], model: str, stream: bool) -> _Conversation:
    events: list[tuple[Literal["user", "tool"], str]] = []
    system = body.get("systemInstruction") or body.get("system_instruction") or {}
    chars = len(_text_of(system.get("parts") if isinstance(system, dict) else None))
    for content in body.get("contents") or []:
        if not isinstance(content, dict):
            continue
        texts: list[str] = []
        results: list[str] = []
        for part in content.get("parts") or []:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part.get("functionResponse"), dict):
                results.append(_gemini_result_text(part["functionResponse"].get("response")))
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                chars += len(str(call.get("name", ""))) + len(_compact(call.get("args", {})))
        chars += sum(map(len, texts)) + sum(map(len, results))
        if content.get("role", "user") in ("user", "function", "tool"):
            events.extend(("tool", r) for r in results)
            if texts or not results:
                events.append(("user", "\n".join(texts)))
    tools = any(
        isinstance(t, dict) and (t.get("functionDeclarations") or t.get("function_declarations"))
        for t in body.get("tools") or []
    )
    config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    if isinstance(config, dict) and str(config.get("mode", "")).upper() == "NONE":
        tools = False
    return _Conversation(model=model, events=events, chars=chars, tools=tools, stream=stream)


# --------------------------------------------------------------------------- error bodies

_ErrorReply = tuple[int, dict[str, Any], dict[str, str]]

_GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _seconds_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _openai_error(fault: Fault, conv: _Conversation) -> _ErrorReply:
    def body(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}

    headers: dict[str, str] = {}
    k = fault.kind
    if k is FaultKind.RATE_LIMIT:
        wait = _seconds_text(fault.retry_after) if fault.retry_after is not None else "1"
        headers = {
            "x-ratelimit-limit-requests": "3",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{wait}s",
        }
        message = (
            f"Rate limit reached for {conv.model} in organization org-fake on requests per min "
            f"(RPM): Limit 3, Used 3, Requested 1. Please try again in {wait}s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more."
        )
        return 429, body(message, "requests", "rate_limit_exceeded"), headers
    if k is FaultKind.QUOTA_EXHAUSTED:
        message = (
            "You exceeded your current quota, please check your plan and billing details. For "
            "more information on this error, read the docs: "
            "https://platform.openai.com/docs/guides/error-codes/api-errors."
        )
        return 429, body(message, "insufficient_quota", "insufficient_quota"), headers
    if k is FaultKind.SERVER_ERROR:
        message = "The server had an error while processing your request. Sorry about that!"
        return fault.status or 500, body(message, "server_error", None), headers
    if k is FaultKind.OVERLOADED:
        message = "The server is overloaded or not ready yet."
        return 503, body(message, "server_error", None), headers
    if k is FaultKind.UNAUTHORIZED:
        message = (
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
        return 401, body(message, "invalid_request_error", "invalid_api_key"), headers
    if k is FaultKind.NOT_FOUND:
        message = f"The model `{conv.model}` does not exist or you do not have access to it."
        return 404, body(message, "invalid_request_error", "model_not_found"), headers
    if k is FaultKind.CONTEXT_LENGTH:
        limit, tokens = _context_numbers(fault, conv)
        message = (
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {tokens} tokens. Please reduce the length of the messages."
        )
        return (
            400,
            body(message, "invalid_request_error", "context_length_exceeded", "messages"),
            {},
        )
    message = fault.message or "Invalid request."
    return 400, body(message, "invalid_request_error", None), headers


def _anthropic_error(fault: Fault, conv: _Conversation, request_id: str) -> _ErrorReply:
    def body(kind: str, message: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": request_id,
        }

    headers: dict[str, str] = {}
    k = fault.kind
    if k is FaultKind.RATE_LIMIT:
        headers = {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
        }
        message = (
            "This request would exceed the rate limit for your organization of 50 requests per "
            "minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can "
            "see the response headers for current usage. Please reduce the prompt length or the "
            "maximum tokens requested, or try again later."
        )
        return 429, body("rate_limit_error", message), headers
    if k is FaultKind.QUOTA_EXHAUSTED:
        message = (
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
            "Billing to upgrade or purchase credits."
        )
        return 400, body("invalid_request_error", message), headers
    if k is FaultKind.SERVER_ERROR:
        status = fault.status or 500
        if status == 504:
            return status, body("timeout_error", "Request timed out"), headers
        return status, body("api_error", "Internal server error"), headers
    if k is FaultKind.OVERLOADED:
        return 529, body("overloaded_error", "Overloaded"), headers
    if k is FaultKind.UNAUTHORIZED:
        return 401, body("authentication_error", "invalid x-api-key"), headers
    if k is FaultKind.NOT_FOUND:
        return 404, body("not_found_error", f"model: {conv.model}"), headers
    if k is FaultKind.CONTEXT_LENGTH:
        limit, tokens = _context_numbers(fault, conv)
        message = f"prompt is too long: {tokens} tokens > {limit} maximum"
        return 400, body("invalid_request_error", message), headers
    return 400, body("invalid_request_error", fault.message or "Invalid request."), headers


def _gemini_error(fault: Fault, conv: _Conversation, version: str) -> _ErrorReply:
    def body(
        code: int, message: str, details: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": code,
            "message": message,
            "status": _GRPC_STATUS.get(code, "UNKNOWN"),
        }
        if details:
            error["details"] = details
        return {"error": error}

    def quota(quota_id: str, metric: str) -> dict[str, Any]:
        return {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": f"generativelanguage.googleapis.com/{metric}",
                    "quotaId": quota_id,
                    "quotaDimensions": {"location": "global", "model": conv.model},
                    "quotaValue": "15",
                }
            ],
        }

    quota_message = (
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
    )
    k = fault.kind
    if k is FaultKind.RATE_LIMIT:
        details = [
            quota(
                "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "generate_content_free_tier_requests",
            )
        ]
        if fault.retry_after is not None:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{_seconds_text(fault.retry_after)}s",
                }
            )
        return 429, body(429, "Resource has been exhausted (e.g. check quota).", details), {}
    if k is FaultKind.QUOTA_EXHAUSTED:
        details = [
            quota(
                "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                "generate_content_free_tier_requests",
            )
        ]
        return 429, body(429, quota_message, details), {}
    if k is FaultKind.SERVER_ERROR:
        status = fault.status or 500
        message = (
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting"
        )
        return status, body(status, message), {}
    if k is FaultKind.OVERLOADED:
        return 503, body(503, "The model is overloaded. Please try again later."), {}
    if k is FaultKind.UNAUTHORIZED:
        message = (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project."
        )
        return 401, body(401, message), {}
    if k is FaultKind.NOT_FOUND:
        message = (
            f"models/{conv.model} is not found for API version {version}, or is not supported "
            "for generateContent. Call ListModels to see the list of available models and their "
            "supported methods."
        )
        return 404, body(404, message), {}
    if k is FaultKind.CONTEXT_LENGTH:
        limit, tokens = _context_numbers(fault, conv)
        message = (
            f"The input token count ({tokens}) exceeds the maximum number of tokens allowed "
            f"({limit})."
        )
        return 400, body(400, message), {}
    return 400, body(400, fault.message or "Invalid request."), {}


def _context_numbers(fault: Fault, conv: _Conversation) -> tuple[int, int]:
    limit = fault.limit if fault.limit is not None else 200_000
    tokens = fault.input_tokens if fault.input_tokens is not None else limit + _tokens(conv.chars)
    return limit, tokens


# --------------------------------------------------------------------------- server


class FakeProviderServer:
    """Starlette app on uvicorn in a background thread, bound to an ephemeral local port.

    Use it as a (sync or async) context manager, or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._port: int | None = None
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._scripts: dict[tuple[Provider, str | None], deque[Fault]] = {}
        self._latency = 0.0
        self._disconnects = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/{version}/models/{target}", self._gemini, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:54321``."""
        if self._port is None:
            raise RuntimeError("FakeProviderServer is not running")
        return f"http://{self._host}:{self._port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url`` for ``openai.OpenAI`` (the root URL plus ``/v1``)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url`` for ``anthropic.Anthropic`` (the SDK adds ``/v1/messages``)."""
        return self.url

    @property
    def gemini_base_url(self) -> str:
        """``HttpOptions.base_url`` for ``google.genai.Client`` (the SDK adds the version)."""
        return self.url

    def start(self) -> None:
        """Start serving; returns once the port accepts connections."""
        if self._thread is not None:
            raise RuntimeError("FakeProviderServer is already running")
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it every keep-alive response waits ~40 ms (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self._host, 0))
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            loop="asyncio",
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._stopping.clear()
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-provider-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("FakeProviderServer failed to start")
            time.sleep(0.005)
        with socket.create_connection((self._host, self._port), timeout=2.0):
            pass

    def stop(self) -> None:
        """Stop serving: pending delays are cut short, the thread is joined."""
        server, thread = self._server, self._thread
        self._stopping.set()
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=5.0)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=5.0)
        self._server = None
        self._thread = None

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

    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    def add_route(
        self,
        path: str,
        endpoint: Callable[[Request], Any],
        methods: tuple[str, ...] = ("POST",),
    ) -> None:
        """Serve another route (a fourth wire format, say) beside the built-in ones.

        It is matched before the Gemini catch-all; ``endpoint`` is a Starlette endpoint.
        """
        self.app.router.routes.insert(0, Route(path, endpoint, methods=list(methods)))

    # ------------------------------------------------------------------ scripting

    def script(self, provider: Provider, *steps: Fault, model: str | None = None) -> None:
        """Queue ``steps`` for the next requests to ``provider`` (only ``model``'s, if given).

        A model-specific queue is used before the provider-wide one; an empty queue
        means the default reply.
        """
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
        with self._lock:
            self._scripts.setdefault((provider, model), deque()).extend(steps)

    def set_latency(self, seconds: float) -> None:
        """Delay every response by ``seconds``."""
        self._latency = max(0.0, seconds)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def disconnects(self) -> int:
        """How many clients hung up while their response was being delayed (cancelled calls)."""
        with self._lock:
            return self._disconnects

    def pending(self, provider: Provider, model: str | None = None) -> int:
        """How many scripted steps are still queued for ``provider`` / ``model``."""
        with self._lock:
            return len(self._scripts.get((provider, model), ()))

    def reset(self) -> None:
        """Forget recorded requests, scripted steps and latency."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._disconnects = 0
        self._latency = 0.0

    def _next_step(self, provider: Provider, model: str) -> Fault | None:
        with self._lock:
            for key in ((provider, model), (provider, None)):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
        return None

    def _new_id(self) -> str:
        return f"{next(self._ids):06d}"

    # ------------------------------------------------------------------ plumbing

    async def _delay(self, seconds: float, request: Request) -> None:
        """Sleep, but wake early when the server stops or the client goes away."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self._stopping.is_set():
                return
            if await request.is_disconnected():
                with self._lock:
                    self._disconnects += 1
                return
            await asyncio.sleep(min(0.05, left))

    async def _receive(
        self, request: Request, provider: Provider, model: str | None = None
    ) -> RecordedRequest:
        """Read and record the request; ``body`` is None when it is not JSON."""
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if model is None:
            model = str(body.get("model", "")) if isinstance(body, dict) else ""
        record = RecordedRequest(
            provider=provider,
            method=request.method,
            path=request.url.path,
            model=model,
            headers=dict(request.headers),
            body=body,
            query=dict(request.query_params),
        )
        with self._lock:
            self._requests.append(record)
        return record

    def _json(
        self,
        status: int,
        payload: Any,
        record: RecordedRequest,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        text = _mask(json.dumps(payload), _secrets(record))
        return Response(text, status, headers=dict(headers or {}), media_type="application/json")

    def _sse(
        self,
        events: list[str],
        record: RecordedRequest,
        headers: Mapping[str, str] | None = None,
    ) -> StreamingResponse:
        secrets = _secrets(record)

        async def chunks() -> AsyncIterator[str]:
            for event in events:
                yield _mask(event, secrets)
                await asyncio.sleep(0)

        merged = {"cache-control": "no-cache", **dict(headers or {})}
        return StreamingResponse(chunks(), headers=merged, media_type="text/event-stream")

    async def _prepare(
        self, request: Request, record: RecordedRequest, conv: _Conversation
    ) -> Fault | _Outcome:
        """Apply latency and the next scripted step: the error to send, or the success plan."""
        step = self._next_step(record.provider, conv.model)
        delay = self._latency + (step.seconds if step and step.kind is FaultKind.TIMEOUT else 0)
        if delay > 0:
            await self._delay(delay, request)
        if step is not None and step.kind not in _SUCCESS_KINDS:
            return step
        plan = _plan(conv, step)
        plan.breaks = step is not None and step.kind is FaultKind.STREAM_ERROR
        # Mask before streaming splits the text, so no secret straddles two events.
        secrets = _secrets(record)
        if plan.text is not None:
            plan.text = _mask(plan.text, secrets)
        plan.calls = [(n, json.loads(_mask(json.dumps(a), secrets))) for n, a in plan.calls]
        return plan

    # ------------------------------------------------------------------ OpenAI

    async def _openai(self, request: Request) -> Response:
        record = await self._receive(request, "openai")
        rid = self._new_id()
        headers = {"x-request-id": f"req_fake_{rid}", "openai-processing-ms": "1"}
        conv = _parse(_openai_conversation, record)
        if conv is None:
            status, payload, _ = _openai_error(_UNREADABLE, _empty(record))
            return self._json(status, payload, record, headers)
        plan = await self._prepare(request, record, conv)
        if isinstance(plan, Fault):
            status, payload, extra = _openai_error(plan, conv)
            return self._json(status, payload, record, {**headers, **_retry_after(plan), **extra})
        created = int(time.time())
        cid = f"chatcmpl-fake{rid}"
        calls = [
            {
                "id": f"call_fake{rid}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for i, (name, args) in enumerate(plan.calls)
        ]
        finish = (
            "stop" if not calls else ("function_call" if conv.legacy_functions else "tool_calls")
        )
        usage = {
            "prompt_tokens": plan.input_tokens,
            "completion_tokens": plan.output_tokens,
            "total_tokens": plan.input_tokens + plan.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        if conv.stream:
            return self._sse(
                self._openai_stream(cid, created, conv, plan, calls, finish, usage), record, headers
            )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": plan.text,
            "refusal": None,
            "annotations": [],
        }
        if calls and conv.legacy_functions:
            message["function_call"] = calls[0]["function"]
        elif calls:
            message["tool_calls"] = calls
        payload = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": conv.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
        return self._json(200, payload, record, headers)

    @staticmethod
    def _openai_stream(
        cid: str,
        created: int,
        conv: _Conversation,
        plan: _Outcome,
        calls: list[dict[str, Any]],
        finish: str,
        usage: dict[str, Any],
    ) -> list[str]:
        def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": conv.model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
                ],
            }
            if conv.include_usage:
                data["usage"] = None
            return data

        items = [chunk({"role": "assistant", "content": "" if plan.text is not None else None})]
        items += [chunk({"content": piece}) for piece in _pieces(plan.text or "")]
        if plan.breaks:
            error = {
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
            return [f"data: {json.dumps(item)}\n\n" for item in items[:2]] + [
                f"data: {json.dumps(error)}\n\n"
            ]
        for i, call in enumerate(calls):
            fn = call["function"]
            if conv.legacy_functions:
                items.append(chunk({"function_call": {"name": fn["name"], "arguments": ""}}))
                items.append(chunk({"function_call": {"arguments": fn["arguments"]}}))
                break
            head = {"index": i, "id": call["id"], "type": "function"}
            items.append(
                chunk({"tool_calls": [{**head, "function": {"name": fn["name"], "arguments": ""}}]})
            )
            items.append(
                chunk({"tool_calls": [{"index": i, "function": {"arguments": fn["arguments"]}}]})
            )
        items.append(chunk({}, finish))
        if conv.include_usage:
            last = chunk({})
            last["choices"] = []
            last["usage"] = usage
            items.append(last)
        return [f"data: {json.dumps(item)}\n\n" for item in items] + ["data: [DONE]\n\n"]

    # ------------------------------------------------------------------ Anthropic

    async def _anthropic(self, request: Request) -> Response:
        record = await self._receive(request, "anthropic")
        rid = self._new_id()
        headers = {"request-id": f"req_fake{rid}"}
        conv = _parse(_anthropic_conversation, record)
        if conv is None:
            status, payload, _ = _anthropic_error(
                _UNREADABLE, _empty(record), headers["request-id"]
            )
            return self._json(status, payload, record, headers)
        plan = await self._prepare(request, record, conv)
        if isinstance(plan, Fault):
            status, payload, extra = _anthropic_error(plan, conv, headers["request-id"])
            return self._json(status, payload, record, {**headers, **_retry_after(plan), **extra})
        content: list[dict[str, Any]] = []
        if plan.text is not None:
            content.append({"type": "text", "text": plan.text})
        for i, (name, args) in enumerate(plan.calls):
            content.append(
                {"type": "tool_use", "id": f"toolu_fake{rid}_{i}", "name": name, "input": args}
            )
        stop = "tool_use" if plan.calls else "end_turn"
        usage = {
            "input_tokens": plan.input_tokens,
            "output_tokens": plan.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        }
        message = {
            "id": f"msg_fake{rid}",
            "type": "message",
            "role": "assistant",
            "model": conv.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        if not conv.stream:
            return self._json(200, message, record, headers)
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        }
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"message": start}),
            ("ping", {}),
        ]
        for index, block in enumerate(content):
            if block["type"] == "text":
                events.append(
                    (
                        "content_block_start",
                        {"index": index, "content_block": {"type": "text", "text": ""}},
                    )
                )
                events += [
                    (
                        "content_block_delta",
                        {"index": index, "delta": {"type": "text_delta", "text": piece}},
                    )
                    for piece in _pieces(block["text"])
                ]
            else:
                head = {**block, "input": {}}
                events.append(("content_block_start", {"index": index, "content_block": head}))
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                events.append(("content_block_delta", {"index": index, "delta": delta}))
            events.append(("content_block_stop", {"index": index}))
        events.append(
            (
                "message_delta",
                {
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": plan.output_tokens},
                },
            )
        )
        events.append(("message_stop", {}))
        if plan.breaks:
            first = next(i for i, (name, _) in enumerate(events) if name == "content_block_delta")
            error = {"error": {"type": "overloaded_error", "message": "Overloaded"}}
            events = [*events[: first + 1], ("error", error)]
        lines = [
            f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"
            for name, data in events
        ]
        return self._sse(lines, record, headers)

    # ------------------------------------------------------------------ Gemini

    async def _gemini(self, request: Request) -> Response:
        version = str(request.path_params["version"])
        model, _, method = str(request.path_params["target"]).rpartition(":")
        model = model.removeprefix("models/")
        record = await self._receive(request, "gemini", model)
        if version not in _GEMINI_VERSIONS or not model or method not in _GEMINI_METHODS:
            status, payload, _ = _gemini_error(not_found(), _empty(record), version)
            return self._json(status, payload, record)
        stream = method == "streamGenerateContent"
        conv = _parse(lambda body: _gemini_conversation(body, model, stream), record)
        if conv is None:
            status, payload, _ = _gemini_error(_UNREADABLE, _empty(record), version)
            return self._json(status, payload, record)
        plan = await self._prepare(request, record, conv)
        if isinstance(plan, Fault):
            status, payload, extra = _gemini_error(plan, conv, version)
            return self._json(status, payload, record, {**_retry_after(plan), **extra})
        rid = f"fake{self._new_id()}"
        parts: list[dict[str, Any]] = []
        if plan.text is not None:
            parts.append({"text": plan.text})
        parts += [{"functionCall": {"name": name, "args": args}} for name, args in plan.calls]
        usage = {
            "promptTokenCount": plan.input_tokens,
            "candidatesTokenCount": plan.output_tokens,
            "totalTokenCount": plan.input_tokens + plan.output_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": plan.input_tokens}],
        }

        def response(chunk_parts: list[dict[str, Any]], final: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {
                "content": {"parts": chunk_parts, "role": "model"},
                "index": 0,
            }
            data: dict[str, Any] = {"candidates": [candidate]}
            if final:
                candidate["finishReason"] = "STOP"
                data["usageMetadata"] = usage
            data.update(modelVersion=model, responseId=rid)
            return data

        if not conv.stream:
            return self._json(200, response(parts, True), record)
        chunks = [[{"text": p}] for p in _pieces(plan.text)] if plan.text is not None else []
        calls = [part for part in parts if "functionCall" in part]
        if calls or not chunks:
            chunks.append(calls)
        payloads = [response(c, i == len(chunks) - 1) for i, c in enumerate(chunks)]
        if request.query_params.get("alt") == "sse":
            return self._sse([f"data: {json.dumps(p)}\r\n\r\n" for p in payloads], record)
        return self._json(200, payloads, record)


_UNREADABLE = Fault(FaultKind.BAD_REQUEST, message="Could not parse the request body.")


def _parse(
    build: Callable[[dict[str, Any]], _Conversation], record: RecordedRequest
) -> _Conversation | None:
    """The conversation in ``record.body``, or None when the body is not a usable request."""
    if not isinstance(record.body, dict):
        return None
    try:
        return build(record.body)
    except (AttributeError, TypeError, ValueError, KeyError):
        return None


def _empty(record: RecordedRequest) -> _Conversation:
    return _Conversation(record.model, [], 0, tools=False, stream=False)


def _secrets(record: RecordedRequest) -> list[str]:
    """Credential values carried by ``record`` (long enough to mask safely), longest first."""
    values: list[str] = []
    for name in SECRET_HEADERS:
        value = record.headers.get(name, "")
        values.append(value)
        if value.lower().startswith("bearer "):
            values.append(value[7:].strip())
    values.append(record.query.get("key", ""))
    return sorted({v for v in values if len(v) >= _MIN_SECRET_LEN}, key=len, reverse=True)


def _mask(text: str, secrets: list[str]) -> str:
    """Replace every secret (raw or JSON-escaped) in ``text`` with ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
        text = text.replace(json.dumps(secret)[1:-1], "***")
    return text


def _retry_after(fault: Fault | None) -> dict[str, str]:
    if fault is None or fault.retry_after is None:
        return {}
    return {"retry-after": _seconds_text(fault.retry_after)}


def _pieces(text: str, size: int = 16) -> list[str]:
    """Split ``text`` into streaming deltas (at least one)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [text]
