"""Streamed Messages calls: the request body goes upstream untouched, events come back neutral.

The body (:func:`~dynamic_orchestrator.streaming.request_body`: the gateway's own Anthropic
Messages request, or one built from a plain call) is sent as it is (blocks,
``cache_control``, fields this SDK version does not know) through the SDK's raw request,
with the call's headers (``anthropic-beta``; the client's own key under
``client_key: passthrough``) and query. The SDK parses the SSE stream and raises its
errors, an ``error`` event included; :func:`to_events` maps the raw event dicts onto the
contract's events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from dynamic_orchestrator.contract import (
    BlockStop,
    MessageStart,
    OtherBlockStart,
    ProviderCall,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
)

__all__ = ["request_options", "to_events"]

_AUTH_HEADERS = ("x-api-key", "authorization")


def request_options(call: ProviderCall) -> dict[str, Any]:
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


async def to_events(
    raw: AsyncIterator[Any], provider: str, cache: dict[str, int]
) -> AsyncIterator[StreamEvent]:
    """Contract events from the SDK's raw event dicts; cache token counts go to ``cache``."""
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
                yield ThinkingDelta(index, "", signature=delta.get("signature", ""))
        elif kind == "content_block_start":
            index = int(event.get("index", 0))
            block = event.get("content_block") or {}
            btype = block.get("type")
            if btype == "tool_use":
                yield ToolUseStart(index, str(block.get("id", "")), str(block.get("name", "")))
            elif btype == "text" and block.get("text"):
                yield TextDelta(index, str(block["text"]))
            elif btype not in ("text", "thinking"):
                yield OtherBlockStart(index, block)
        elif kind == "content_block_stop":
            yield BlockStop(int(event.get("index", 0)))
        elif kind == "message_start":
            message = event.get("message") or {}
            fresh, read, write = _usage(message.get("usage"))
            cache.update(read=read, write=write)
            yield MessageStart(
                model=str(message.get("model", "")),
                provider=provider,
                input_tokens=fresh + read + write,
            )
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            usage = event.get("usage") or {}
            total: int | None = None
            if usage.get("input_tokens") is not None:
                fresh, read, write = _usage(usage)
                cache.update(read=read, write=write)
                total = fresh + read + write
            yield UsageUpdate(
                input_tokens=total,
                output_tokens=usage.get("output_tokens"),
                stop_reason=delta.get("stop_reason"),
            )
