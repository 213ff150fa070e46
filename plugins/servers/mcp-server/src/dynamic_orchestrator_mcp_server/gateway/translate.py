"""Requests and whole answers between the Anthropic Messages and OpenAI Chat shapes.

The gateway's neutral request is an Anthropic Messages body (the richest of the formats):
:func:`openai_to_messages` brings a Chat Completions request to it (system and developer
messages, image and file parts, tool calls and tool results, tools, tool_choice, stop,
max tokens). Whole (not streamed) answers are written from a
:class:`~dynamic_orchestrator.streaming.Assembly` message by :func:`anthropic_message`
and :func:`openai_completion`. Provider-side translation lives in each provider plugin.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from dynamic_orchestrator.errors import RequestError
from dynamic_orchestrator.streaming import Assembly

from .sse import FINISH_REASONS

__all__ = ["anthropic_message", "openai_completion", "openai_to_messages"]

DEFAULT_MAX_TOKENS = 4096


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def _block(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        if url.startswith("data:"):
            head, _, data = url.partition(",")
            media = head[5:].split(";")[0] or "image/png"
            return {
                "type": "image",
                "source": {"type": "base64", "media_type": media, "data": data},
            }
        return {"type": "image", "source": {"type": "url", "url": url}}
    if kind == "file":
        data = str((part.get("file") or {}).get("file_data", ""))
        head, _, payload = data.partition(",")
        media = head[5:].split(";")[0] or "application/pdf"
        return {
            "type": "document",
            "source": {"type": "base64", "media_type": media, "data": payload},
        }
    raise RequestError(f"{where}: content part type {kind!r} is not supported")


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            return {"_raw": raw}
    return raw or {}


def openai_to_messages(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Anthropic Messages body for a Chat Completions request.

    :raises RequestError: naming the field that cannot be read.
    """
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise RequestError("messages: expected a non-empty list")
    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise RequestError(f"{where}: expected an object")
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(_text(content))
        elif role == "user":
            if isinstance(content, str):
                add("user", [{"type": "text", "text": content}])
            elif isinstance(content, list):
                add("user", [_block(p, f"{where}.content[{j}]") for j, p in enumerate(content)])
            else:
                raise RequestError(f"{where}.content: expected a string or a list of parts")
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            text = _text(content)
            if text:
                blocks.append({"type": "text", "text": text})
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": str(call.get("id", "")),
                        "name": str(function.get("name", "")),
                        "input": _arguments(function.get("arguments")),
                    }
                )
            add("assistant", blocks or [{"type": "text", "text": ""}])
        elif role == "tool":
            add(
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": str(message.get("tool_call_id", "")),
                        "content": _text(content),
                    }
                ],
            )
        else:
            raise RequestError(
                f"{where}.role: {role!r} is not one of system, developer, user, assistant, tool"
            )
    out: dict[str, Any] = {
        "messages": messages,
        "max_tokens": body.get("max_completion_tokens")
        or body.get("max_tokens")
        or DEFAULT_MAX_TOKENS,
    }
    if system:
        out["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    tools = []
    for j, tool in enumerate(body.get("tools") or []):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not function.get("name"):
            raise RequestError(
                f"tools[{j}]: expected {{'type': 'function', 'function': {{'name': ...}}}}"
            )
        spec: dict[str, Any] = {
            "name": function["name"],
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
        }
        if function.get("description"):
            spec["description"] = function["description"]
        tools.append(spec)
    if tools:
        out["tools"] = tools
        choice = body.get("tool_choice")
        mapped: dict[str, Any] | None = None
        if choice == "required":
            mapped = {"type": "any"}
        elif choice == "none":
            mapped = {"type": "none"}
        elif choice == "auto":
            mapped = {"type": "auto"}
        elif isinstance(choice, Mapping):
            mapped = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
        if body.get("parallel_tool_calls") is False:
            mapped = {**(mapped or {"type": "auto"}), "disable_parallel_tool_use": True}
        if mapped:
            out["tool_choice"] = mapped
    return out


def _usage(done: Assembly) -> tuple[int, int]:
    if done.completion is not None:
        return done.completion.input_tokens, done.completion.output_tokens
    return done.input_tokens or 0, done.output_tokens or 0


def anthropic_message(done: Assembly, message_id: str, model: str) -> dict[str, Any]:
    """The Messages API answer for a whole message."""
    input_tokens, output_tokens = _usage(done)
    stop = done.stop_reason or (done.completion.finish_reason if done.completion else None)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": done.blocks,
        "stop_reason": stop or "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def openai_completion(done: Assembly, completion_id: str, model: str) -> dict[str, Any]:
    """The Chat Completions answer for a whole message."""
    calls = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        for call in done.tool_calls
    ]
    text = done.text
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    input_tokens, output_tokens = _usage(done)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH_REASONS.get(done.stop_reason or "", "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    }
