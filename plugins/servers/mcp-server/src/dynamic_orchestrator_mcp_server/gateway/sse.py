"""The contract's stream events written out in each API's own streaming format.

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

from dynamic_orchestrator.contract import (
    BlockStop,
    MessageEnd,
    MessageStart,
    OtherBlockStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
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
    """Anthropic Messages SSE for one answer.

    Text and thinking blocks open with their first delta (the contract's rule), so their
    ``content_block_start`` is written then; the usage goes with ``message_delta``.
    """

    def __init__(self, message_id: str, model: str, input_tokens: int = 0) -> None:
        self.id = message_id
        self.model = model
        self.input_tokens = input_tokens
        self.open: set[int] = set()
        self.stop_reason: str | None = None

    def _start(self, index: int, block: dict[str, Any]) -> bytes:
        self.open.add(index)
        data = {"type": "content_block_start", "index": index, "content_block": block}
        return _event("content_block_start", data)

    @staticmethod
    def _delta(index: int, delta: dict[str, Any]) -> bytes:
        data = {"type": "content_block_delta", "index": index, "delta": delta}
        return _event("content_block_delta", data)

    def encode(self, event: StreamEvent) -> bytes:
        """The bytes for one event (empty when it has none)."""
        if isinstance(event, TextDelta):
            out = b""
            if event.index not in self.open:
                out = self._start(event.index, {"type": "text", "text": ""})
            return out + self._delta(event.index, {"type": "text_delta", "text": event.text})
        if isinstance(event, ToolInputDelta):
            delta = {"type": "input_json_delta", "partial_json": event.partial_json}
            return self._delta(event.index, delta)
        if isinstance(event, ThinkingDelta):
            out = b""
            if event.index not in self.open:
                block = {"type": "thinking", "thinking": "", "signature": ""}
                out = self._start(event.index, block)
            if event.thinking:
                delta = {"type": "thinking_delta", "thinking": event.thinking}
                out += self._delta(event.index, delta)
            if event.signature:
                delta = {"type": "signature_delta", "signature": event.signature}
                out += self._delta(event.index, delta)
            return out
        if isinstance(event, ToolUseStart):
            tool: dict[str, Any] = {"type": "tool_use", "id": event.id, "name": event.name}
            return self._start(event.index, {**tool, "input": {}})
        if isinstance(event, OtherBlockStart):
            return self._start(event.index, dict(event.block))
        if isinstance(event, BlockStop):
            if event.index not in self.open:
                return b""
            self.open.discard(event.index)
            data = {"type": "content_block_stop", "index": event.index}
            return _event("content_block_stop", data)
        if isinstance(event, UsageUpdate):
            self.stop_reason = event.stop_reason or self.stop_reason
            return b""
        if isinstance(event, MessageStart):
            return self.start(event)
        if isinstance(event, MessageEnd):
            done = event.completion
            stop = self.stop_reason or done.finish_reason or "end_turn"
            usage = {"input_tokens": done.input_tokens, "output_tokens": done.output_tokens}
            data = {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": usage,
            }
            return _event("message_delta", data) + _event("message_stop", {"type": "message_stop"})
        return b""

    def start(self, event: MessageStart) -> bytes:
        """``message_start`` (input usage as known up front, else estimated) and a ``ping``."""
        input_tokens = event.input_tokens if event.input_tokens is not None else self.input_tokens
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        start = _event("message_start", {"type": "message_start", "message": message})
        return start + _event("ping", {"type": "ping"})

    @staticmethod
    def error(kind: str, message: str) -> bytes:
        """Anthropic's ``error`` event."""
        return _event("error", {"type": "error", "error": {"type": kind, "message": message}})


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
        self.stop_reason: str | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {**self.head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + _dumps(data).encode() + b"\n\n"

    def encode(self, event: StreamEvent) -> bytes:
        """The bytes for one event (empty when it has none)."""
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, ToolInputDelta):
            index = self.tools.get(event.index)
            if index is None:
                return b""
            call = {"index": index, "function": {"arguments": event.partial_json}}
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, ToolUseStart):
            index = self.tools[event.index] = len(self.tools)
            head = {"index": index, "id": event.id, "type": "function"}
            call = {**head, "function": {"name": event.name, "arguments": ""}}
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, UsageUpdate):
            self.stop_reason = event.stop_reason or self.stop_reason
            return b""
        if isinstance(event, MessageStart):
            return self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, MessageEnd):
            done = event.completion
            stop = self.stop_reason or done.finish_reason or "end_turn"
            out = self._chunk({}, FINISH_REASONS.get(stop, "stop"))
            if self.include_usage:
                usage = {
                    "prompt_tokens": done.input_tokens,
                    "completion_tokens": done.output_tokens,
                    "total_tokens": done.input_tokens + done.output_tokens,
                }
                last = {**self.head, "choices": [], "usage": usage}
                out += b"data: " + _dumps(last).encode() + b"\n\n"
            return out + b"data: [DONE]\n\n"
        return b""

    @staticmethod
    def error(kind: str, message: str, code: str | None = None) -> bytes:
        """The error chunk OpenAI sends in a stream, then ``[DONE]``."""
        body = {"error": {"message": message, "type": kind, "code": code}}
        return b"data: " + _dumps(body).encode() + b"\n\ndata: [DONE]\n\n"
