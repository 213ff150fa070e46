"""Streamed Messages calls: the request body goes upstream untouched, events come back neutral.

The body of a :class:`~dynamic_orchestrator.streaming.StreamCall` is already an Anthropic
Messages request, so it is sent as it is (blocks, ``cache_control``, fields this SDK
version does not know) through the SDK's raw request, with the call's headers
(``anthropic-beta``; the client's own key under ``client_key: passthrough``). The SDK
parses the SSE stream and raises its errors, an ``error`` event included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from dynamic_orchestrator.streaming import (
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    RawDelta,
    SignatureDelta,
    StreamCall,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
)

__all__ = ["request_options", "to_events"]

_AUTH_HEADERS = ("x-api-key", "authorization")


def request_options(call: StreamCall) -> dict[str, Any]:
    """The SDK request options: headers (the client's key replacing ours), query, timeout."""
    headers: dict[str, Any] = dict(call.headers)
    if any(h in headers for h in _AUTH_HEADERS):
        from anthropic import Omit

        for name in _AUTH_HEADERS:  # only the client's own credential goes
            headers.setdefault(name, Omit())
    options: dict[str, Any] = {"headers": headers, "timeout": call.timeout}
    if call.query:
        options["params"] = dict(call.query)
    return options


def _usage(usage: Mapping[str, Any] | None) -> tuple[int, int, int]:
    usage = usage or {}
    return (
        int(usage.get("input_tokens") or 0),
        int(usage.get("cache_read_input_tokens") or 0),
        int(usage.get("cache_creation_input_tokens") or 0),
    )


async def to_events(raw: AsyncIterator[Any]) -> AsyncIterator[StreamEvent]:
    """Neutral events from the SDK's raw event dicts."""
    output_tokens = 0
    input_total: int | None = None
    async for event in raw:
        kind = event.get("type")
        if kind == "content_block_delta":
            index = int(event.get("index", 0))
            delta = event.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                yield TextDelta(index, delta.get("text", ""))
            elif dtype == "input_json_delta":
                yield ToolInputDelta(index, delta.get("partial_json", ""))
            elif dtype == "thinking_delta":
                yield ThinkingDelta(index, delta.get("thinking", ""))
            elif dtype == "signature_delta":
                yield SignatureDelta(index, delta.get("signature", ""))
            else:
                yield RawDelta(index, delta)
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            btype = str(block.get("type", "text"))
            yield BlockStart(
                int(event.get("index", 0)),
                btype,
                id=str(block.get("id", "")),
                name=str(block.get("name", "")),
                data=None if btype in ("text", "tool_use", "thinking") else block,
            )
        elif kind == "content_block_stop":
            yield BlockStop(int(event.get("index", 0)))
        elif kind == "message_start":
            message = event.get("message") or {}
            fresh, read, write = _usage(message.get("usage"))
            output_tokens = int((message.get("usage") or {}).get("output_tokens") or 0)
            yield MessageStart(
                id=str(message.get("id", "")),
                model=str(message.get("model", "")),
                input_tokens=fresh + read + write,
                cache_read_tokens=read,
                cache_write_tokens=write,
            )
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            usage = event.get("usage") or {}
            output_tokens = int(usage.get("output_tokens") or output_tokens)
            if usage.get("input_tokens") is not None:
                fresh, read, write = _usage(usage)
                input_total = fresh + read + write
            yield MessageDelta(
                stop_reason=delta.get("stop_reason"),
                stop_sequence=delta.get("stop_sequence"),
                output_tokens=output_tokens,
                input_tokens=input_total,
            )
