"""Streamed ``streamGenerateContent`` calls: an Anthropic Messages body in, contract events out.

:func:`to_contents` and :func:`to_config` translate the Anthropic Messages body of a call
(:func:`~dynamic_orchestrator.streaming.request_body`: system, typed blocks, tool uses and
their results, images, documents, tools, tool_choice, stop sequences, thinking budget);
:func:`to_events` turns the streamed responses (text, thought text, whole function calls,
the final usage) into contract events. Gemini sends each function call whole, so its input
arrives as one :class:`~dynamic_orchestrator.contract.ToolInputDelta`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
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

__all__ = ["to_config", "to_contents", "to_events"]

_STOP = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens", "SAFETY": "refusal"}


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


def to_contents(
    body: Mapping[str, Any], signature: Callable[[str], bytes | None]
) -> list[dict[str, Any]]:
    """Gemini ``contents``; a tool result names the function of the ``tool_use`` it answers."""
    names: dict[str, str] = {}
    contents: list[dict[str, Any]] = []
    for message in body.get("messages") or []:
        role = "model" if message.get("role") == "assistant" else "user"
        content = message.get("content")
        blocks: list[dict[str, Any]] = (
            [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        )
        parts: list[dict[str, Any]] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                parts.append({"text": block["text"]})
            elif kind == "tool_use":
                names[str(block.get("id", ""))] = str(block.get("name", ""))
                part: dict[str, Any] = {
                    "function_call": {
                        "name": block.get("name", ""),
                        "args": block.get("input") or {},
                    }
                }
                sig = signature(str(block.get("id", "")))
                if sig:
                    part["thought_signature"] = sig
                parts.append(part)
            elif kind == "tool_result":
                call_id = str(block.get("tool_use_id", ""))
                key = "error" if block.get("is_error") else "result"
                parts.append(
                    {
                        "function_response": {
                            "name": names.get(call_id, call_id),
                            "response": {key: _text(block.get("content"))},
                        }
                    }
                )
            elif kind in ("image", "document"):
                source: dict[str, Any] = block.get("source") or {}
                if source.get("type") == "base64":
                    parts.append(
                        {
                            "inline_data": {
                                "mime_type": source.get("media_type"),
                                "data": source.get("data"),
                            }
                        }
                    )
                elif source.get("type") == "text":
                    parts.append({"text": str(source.get("data", ""))})
                elif source.get("type") == "url":
                    parts.append(
                        {
                            "file_data": {
                                "file_uri": source.get("url"),
                                "mime_type": source.get("media_type"),
                            }
                        }
                    )
        contents.append({"role": role, "parts": parts or [{"text": ""}]})
    return contents


def to_config(body: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """The ``GenerateContentConfig`` fields for an Anthropic body."""
    config: dict[str, Any] = {
        "http_options": {"timeout": max(1, int(timeout * 1000))},
        "automatic_function_calling": {"disable": True},
    }
    system = _text(body.get("system"))
    if system:
        config["system_instruction"] = system
    if body.get("max_tokens"):
        config["max_output_tokens"] = body["max_tokens"]
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k")):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    if body.get("stop_sequences"):
        config["stop_sequences"] = list(body["stop_sequences"])
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "enabled" and thinking.get("budget_tokens"):
        config["thinking_config"] = {
            "thinking_budget": thinking["budget_tokens"],
            "include_thoughts": True,
        }
    declarations = [
        {
            "name": t.get("name", ""),
            "description": t.get("description") or None,
            "parameters_json_schema": t.get("input_schema") or {"type": "object", "properties": {}},
        }
        for t in body.get("tools") or []
        if t.get("type") in (None, "custom")
    ]
    if declarations:
        config["tools"] = [{"function_declarations": declarations}]
        choice = body.get("tool_choice") or {}
        mode = {"any": "ANY", "tool": "ANY", "none": "NONE"}.get(str(choice.get("type")), "AUTO")
        calling: dict[str, Any] = {"mode": mode}
        if choice.get("type") == "tool":
            calling["allowed_function_names"] = [choice.get("name")]
        config["tool_config"] = {"function_calling_config": calling}
    return config


async def to_events(
    responses: AsyncIterator[Any],
    model: str,
    provider: str,
    remember: Callable[[str, bytes], None],
) -> AsyncIterator[StreamEvent]:
    """Contract events from the SDK's streamed responses; a :class:`UsageUpdate` is last
    (``input_tokens`` None: usage not reported)."""
    current: str | None = None
    index = -1
    finish: str | None = None
    called = False
    usage: Any = None
    started = False
    async for response in responses:
        if not started:
            started = True
            yield MessageStart(model=response.model_version or model, provider=provider)
        if response.usage_metadata is not None:
            usage = response.usage_metadata
        for candidate in response.candidates or []:
            if candidate.finish_reason is not None:
                finish = str(getattr(candidate.finish_reason, "value", candidate.finish_reason))
            parts = candidate.content.parts if candidate.content and candidate.content.parts else []
            for part in parts:
                if part.function_call is not None:
                    if current is not None:
                        yield BlockStop(index)
                    call_id = part.function_call.id or f"toolu_{uuid.uuid4().hex[:24]}"
                    if part.thought_signature:
                        remember(call_id, part.thought_signature)
                    index, current, called = index + 1, None, True
                    yield ToolUseStart(index, call_id, part.function_call.name or "")
                    yield ToolInputDelta(index, json.dumps(dict(part.function_call.args or {})))
                    yield BlockStop(index)
                elif part.text:
                    kind = "thinking" if part.thought else "text"
                    if current != kind:
                        if current is not None:
                            yield BlockStop(index)
                        index, current = index + 1, kind
                    yield (
                        ThinkingDelta(index, part.text)
                        if part.thought
                        else TextDelta(index, part.text)
                    )
            break
    if not started:
        yield MessageStart(model=model, provider=provider)
    if current is not None:
        yield BlockStop(index)
    reported = usage is not None and usage.prompt_token_count is not None
    yield UsageUpdate(
        input_tokens=(usage.prompt_token_count or 0) + (usage.tool_use_prompt_token_count or 0)
        if reported
        else None,
        output_tokens=(usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        if reported
        else None,
        stop_reason="tool_use" if called else _STOP.get(finish or "STOP", "end_turn"),
    )
