"""Streamed chat completions: an Anthropic Messages body in, the contract's events out.

:func:`to_request` translates the Anthropic Messages body of a call
(:func:`~dynamic_orchestrator.streaming.request_body`: system, typed blocks, tools, tool
results, images, documents) into a Chat Completions request with
``stream_options.include_usage``; :func:`to_events` turns the ``data:`` chunks (text,
``tool_calls`` arriving in pieces by index, ``reasoning_content`` of compatible servers,
the final usage chunk) into contract events, one content block at a time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from dynamic_orchestrator.contract import (
    BlockStop,
    MessageStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
)

__all__ = ["STOP_REASONS", "to_events", "to_request"]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""OpenAI ``finish_reason`` → Anthropic ``stop_reason``."""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, Mapping) and b.get("type") == "text"
        )
    return ""


def _part(block: Mapping[str, Any]) -> dict[str, Any] | None:
    """A user content block as an OpenAI content part (None: nothing to send)."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    source = block.get("source") or {}
    if kind == "image":
        if source.get("type") == "url":
            return {"type": "image_url", "image_url": {"url": source.get("url", "")}}
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "document":
        if source.get("type") == "text":
            return {"type": "text", "text": str(source.get("data", ""))}
        if source.get("type") == "base64":
            data = f"data:{source.get('media_type', 'application/pdf')};base64,{source['data']}"
            name = str(block.get("title") or "document.pdf")
            return {"type": "file", "file": {"file_data": data, "filename": name}}
        if source.get("type") == "url":
            return {"type": "text", "text": f"[document: {source.get('url', '')}]"}
    return None


def _messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = _text(body.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        role = message.get("role")
        content = message.get("content")
        if isinstance(content, str):
            out.append({"role": role, "content": content})
            continue
        blocks = [b for b in content or [] if isinstance(b, Mapping)]
        if role == "assistant":
            texts = [str(b.get("text", "")) for b in blocks if b.get("type") == "text"]
            calls = [
                {
                    "id": b.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": b.get("name", ""),
                        "arguments": json.dumps(b.get("input")),
                    },
                }
                for b in blocks
                if b.get("type") == "tool_use"
            ]
            item: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
            if calls:
                item["tool_calls"] = calls
            out.append(item)
            continue
        for block in blocks:
            if block.get("type") == "tool_result":
                text = _text(block.get("content"))
                if block.get("is_error"):
                    text = f"Error: {text}"
                out.append(
                    {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text}
                )
        parts = [p for b in blocks if b.get("type") != "tool_result" and (p := _part(b))]
        if parts:
            if all(p["type"] == "text" for p in parts):
                out.append({"role": "user", "content": "\n".join(p["text"] for p in parts)})
            else:
                out.append({"role": "user", "content": parts})
    return out


def _tools(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    tools = []
    for tool in body.get("tools") or []:
        if tool.get("type") not in (None, "custom"):  # server tools (web search, ...) stay out
            continue
        function: dict[str, Any] = {
            "name": tool.get("name", ""),
            "parameters": tool.get("input_schema") or {"type": "object", "properties": {}},
        }
        if tool.get("description"):
            function["description"] = tool["description"]
        tools.append({"type": "function", "function": function})
    return tools


def to_request(body: Mapping[str, Any], model: str, max_tokens_field: str) -> dict[str, Any]:
    """The Chat Completions request (streamed, usage included) for an Anthropic body."""
    request: dict[str, Any] = {
        "model": model,
        "messages": _messages(body),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if body.get("max_tokens"):
        request[max_tokens_field] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            request[key] = body[key]
    if body.get("stop_sequences"):
        request["stop"] = list(body["stop_sequences"])
    tools = _tools(body)
    if tools:
        request["tools"] = tools
        choice = body.get("tool_choice") or {}
        kind = choice.get("type")
        if kind == "any":
            request["tool_choice"] = "required"
        elif kind == "tool":
            request["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif kind == "none":
            request["tool_choice"] = "none"
        if choice.get("disable_parallel_tool_use"):
            request["parallel_tool_calls"] = False
    return request


async def to_events(chunks: AsyncIterator[Any], provider: str) -> AsyncIterator[StreamEvent]:
    """Contract events from raw chunk dicts; blocks open and close one at a time.

    The last event is a :class:`UsageUpdate` with the stop reason and, when the server
    reported it, the usage (``input_tokens`` None: not reported).
    """
    started = False
    current: tuple[str, int] | None = None  # ("text" | "thinking" | "tool", openai index)
    index = -1
    finish: str | None = None
    usage: Mapping[str, Any] | None = None
    async for chunk in chunks:
        if not started:
            started = True
            yield MessageStart(model=str(chunk.get("model", "")), provider=provider)
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content")
            if reasoning:
                if current != ("thinking", 0):
                    if current is not None:
                        yield BlockStop(index)
                    index, current = index + 1, ("thinking", 0)
                yield ThinkingDelta(index, reasoning)
            text = delta.get("content")
            if text:
                if current != ("text", 0):
                    if current is not None:
                        yield BlockStop(index)
                    index, current = index + 1, ("text", 0)
                yield TextDelta(index, text)
            for call in delta.get("tool_calls") or []:
                key = ("tool", int(call.get("index", 0)))
                function = call.get("function") or {}
                if current != key:
                    if current is not None:
                        yield BlockStop(index)
                    index, current = index + 1, key
                    name = function.get("name") or ""
                    yield ToolUseStart(index, str(call.get("id") or ""), name)
                if function.get("arguments"):
                    yield ToolInputDelta(index, function["arguments"])
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    if not started:
        yield MessageStart(model="", provider=provider)
    if current is not None:
        yield BlockStop(index)
    yield UsageUpdate(
        input_tokens=None if usage is None else int(usage.get("prompt_tokens") or 0),
        output_tokens=None if usage is None else int(usage.get("completion_tokens") or 0),
        stop_reason=STOP_REASONS.get(finish or "stop", "end_turn"),
    )
