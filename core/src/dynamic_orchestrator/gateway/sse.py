"""Neutral stream events written out in each API's own streaming format.

:class:`AnthropicSSE` writes Anthropic's event sequence (``message_start``, ``ping``,
``content_block_start``, ``content_block_delta``, ``content_block_stop``,
``message_delta`` with usage, ``message_stop``); :class:`OpenAIChunks` writes Chat
Completions ``data:`` chunks (``tool_calls`` in pieces by index, the usage chunk when
asked, ``[DONE]``). Each also writes the API's error event, for a failure after the first
byte.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..streaming import (
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    RawDelta,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
)

__all__ = ["FINISH_REASONS", "AnthropicSSE", "OpenAIChunks"]

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}
"""Anthropic ``stop_reason`` → OpenAI ``finish_reason``."""

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {_dumps(data)}\n\n".encode()


class AnthropicSSE:
    """Anthropic Messages SSE for one answer."""

    def __init__(self, message_id: str, model: str, input_tokens: int = 0) -> None:
        self.id = message_id
        self.model = model
        self.input_tokens = input_tokens

    def encode(self, event: StreamEvent) -> bytes:
        """The bytes for one neutral event (empty when it has none)."""
        if isinstance(event, TextDelta):
            delta: dict[str, Any] = {"type": "text_delta", "text": event.text}
        elif isinstance(event, ToolInputDelta):
            delta = {"type": "input_json_delta", "partial_json": event.partial_json}
        elif isinstance(event, ThinkingDelta):
            delta = {"type": "thinking_delta", "thinking": event.thinking}
        elif isinstance(event, SignatureDelta):
            delta = {"type": "signature_delta", "signature": event.signature}
        elif isinstance(event, RawDelta):
            delta = dict(event.delta)
        elif isinstance(event, BlockStart):
            return _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": event.index,
                    "content_block": block(event),
                },
            )
        elif isinstance(event, BlockStop):
            return _event(
                "content_block_stop", {"type": "content_block_stop", "index": event.index}
            )
        elif isinstance(event, MessageStart):
            return self.start(event)
        elif isinstance(event, MessageDelta):
            usage: dict[str, Any] = {"output_tokens": event.output_tokens}
            if event.input_tokens is not None:
                usage["input_tokens"] = event.input_tokens
            return _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": event.stop_reason,
                        "stop_sequence": event.stop_sequence,
                    },
                    "usage": usage,
                },
            ) + _event("message_stop", {"type": "message_stop"})
        else:  # pragma: no cover - every event type is handled above
            return b""
        return _event(
            "content_block_delta",
            {"type": "content_block_delta", "index": event.index, "delta": delta},
        )

    def start(self, event: MessageStart) -> bytes:
        usage = {
            "input_tokens": max(
                0, event.input_tokens - event.cache_read_tokens - event.cache_write_tokens
            )
            or self.input_tokens,
            "cache_creation_input_tokens": event.cache_write_tokens,
            "cache_read_input_tokens": event.cache_read_tokens,
            "output_tokens": 1,
        }
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return _event("message_start", {"type": "message_start", "message": message}) + _event(
            "ping", {"type": "ping"}
        )

    @staticmethod
    def error(kind: str, message: str) -> bytes:
        """Anthropic's ``error`` event."""
        return _event("error", {"type": "error", "error": {"type": kind, "message": message}})


def block(event: BlockStart) -> dict[str, Any]:
    """The ``content_block`` of a block start, as Anthropic writes it."""
    if event.data is not None:
        return dict(event.data)
    if event.type == "tool_use":
        return {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
    if event.type == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "text", "text": ""}


class OpenAIChunks:
    """Chat Completions ``data:`` chunks for one answer."""

    def __init__(self, completion_id: str, model: str, include_usage: bool) -> None:
        self.head = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self.include_usage = include_usage
        self.tools: dict[int, int] = {}  # block index -> tool_calls index
        self.input_tokens = 0

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {**self.head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + _dumps(data).encode() + b"\n\n"

    def encode(self, event: StreamEvent) -> bytes:
        """The bytes for one neutral event (empty when it has none)."""
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, ToolInputDelta):
            index = self.tools.get(event.index)
            if index is None:
                return b""
            return self._chunk(
                {"tool_calls": [{"index": index, "function": {"arguments": event.partial_json}}]}
            )
        if isinstance(event, BlockStart):
            if event.type != "tool_use":
                return b""
            index = self.tools[event.index] = len(self.tools)
            call = {
                "index": index,
                "id": event.id,
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, MessageStart):
            self.input_tokens = event.input_tokens
            return self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, MessageDelta):
            out = self._chunk({}, FINISH_REASONS.get(event.stop_reason or "", "stop"))
            if self.include_usage:
                prompt = event.input_tokens if event.input_tokens is not None else self.input_tokens
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": event.output_tokens,
                    "total_tokens": prompt + event.output_tokens,
                }
                out += (
                    b"data: "
                    + _dumps({**self.head, "choices": [], "usage": usage}).encode()
                    + b"\n\n"
                )
            return out + b"data: [DONE]\n\n"
        return b""

    @staticmethod
    def error(kind: str, message: str, code: str | None = None) -> bytes:
        """The error chunk OpenAI sends in a stream, then ``[DONE]``."""
        body = {"error": {"message": message, "type": kind, "code": code}}
        return b"data: " + _dumps(body).encode() + b"\n\ndata: [DONE]\n\n"
