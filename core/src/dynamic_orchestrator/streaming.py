"""Helpers for streamed calls; the events themselves are the contract's
(:data:`~dynamic_orchestrator.contract.StreamEvent`).

- :func:`request_body`: the Anthropic Messages body a provider's ``stream`` translates
  from: the gateway's own (``ProviderCall.request``), or one built from a plain call's
  ``system``, ``messages`` and ``tools``;
- :class:`Assembly`: folds events into the whole message, as Anthropic content blocks
  (for answers that are not streamed) and as a
  :class:`~dynamic_orchestrator.contract.Completion` (what ``MessageEnd`` carries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .contract import (
    BlockStop,
    ChatMessage,
    Completion,
    MessageEnd,
    MessageStart,
    OtherBlockStart,
    ProviderCall,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
    can_stream,
)

__all__ = ["Assembly", "anthropic_messages", "can_stream", "request_body"]


def anthropic_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Chat messages as Anthropic turns (system messages left out); consecutive tool
    results share one user turn."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content,
            }
            last = out[-1] if out else None
            if last and last["role"] == "user" and isinstance(last["content"], list):
                last["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif message.role == "assistant" and message.tool_calls:
            blocks: list[dict[str, Any]] = []
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message.tool_calls
            ]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": message.role, "content": message.content})
    return out


def request_body(call: ProviderCall) -> dict[str, Any]:
    """The Anthropic Messages body for ``call`` (without ``model`` and ``stream``)."""
    if call.request is not None:
        return dict(call.request)
    system = [call.system] if call.system else []
    system += [m.content for m in call.messages if m.role == "system"]
    messages = anthropic_messages(call.messages)
    body: dict[str, Any] = {"messages": messages, "max_tokens": call.max_tokens or 4096}
    if system:
        body["system"] = "\n\n".join(system)
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.tools:
        body["tools"] = [
            {
                "name": t.name,
                "description": t.description,
                "input_schema": t.input_schema or {"type": "object", "properties": {}},
            }
            for t in call.tools
        ]
    return body


@dataclass
class Assembly:
    """A whole message gathered from its events."""

    model: str = ""
    provider: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None
    completion: Completion | None = None
    """The ``MessageEnd`` completion, once seen."""
    _open: dict[int, dict[str, Any]] = field(default_factory=dict)
    _json: dict[int, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.blocks if b.get("type") == "text")

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(id=b["id"], name=b["name"], arguments=b.get("input") or {})
            for b in self.blocks
            if b.get("type") == "tool_use"
        ]

    def finish(
        self, *, model: str, provider: str, cost_usd: float | None, usage_estimated: bool = False
    ) -> Completion:
        """The :class:`Completion` of the gathered message (what ``MessageEnd`` carries)."""
        return Completion(
            text=self.text or None,
            model=model,
            provider=provider,
            input_tokens=self.input_tokens or 0,
            output_tokens=self.output_tokens or 0,
            usage_estimated=usage_estimated,
            cost_usd=cost_usd,
            tool_calls=self.tool_calls,
            finish_reason=self.stop_reason,
        )

    def _block(self, index: int, kind: str) -> dict[str, Any]:
        block = self._open.get(index)
        if block is None:
            block = {"type": "text", "text": ""} if kind == "text" else {"type": kind}
            if kind == "thinking":
                block.update(thinking="", signature="")
            self._open[index] = block
            self.blocks.append(block)
        return block

    def add(self, event: StreamEvent) -> None:
        """Fold one event in."""
        if isinstance(event, TextDelta):
            self._block(event.index, "text")["text"] += event.text
        elif isinstance(event, ToolInputDelta):
            self._json[event.index] = self._json.get(event.index, "") + event.partial_json
        elif isinstance(event, ThinkingDelta):
            block = self._block(event.index, "thinking")
            block["thinking"] += event.thinking
            if event.signature:
                block["signature"] += event.signature
        elif isinstance(event, ToolUseStart):
            block = {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
            self._open[event.index] = block
            self.blocks.append(block)
        elif isinstance(event, OtherBlockStart):
            block = dict(event.block)
            self._open[event.index] = block
            self.blocks.append(block)
        elif isinstance(event, BlockStop):
            block = self._open.pop(event.index, {})
            raw = self._json.pop(event.index, "")
            if raw and "input" in block:
                try:
                    block["input"] = json.loads(raw)
                except json.JSONDecodeError:
                    block["input"] = {"_raw": raw}
        elif isinstance(event, UsageUpdate):
            if event.input_tokens is not None:
                self.input_tokens = event.input_tokens
            if event.output_tokens is not None:
                self.output_tokens = event.output_tokens
            if event.stop_reason is not None:
                self.stop_reason = event.stop_reason
        elif isinstance(event, MessageStart):
            self.model, self.provider = event.model, event.provider
            if event.input_tokens is not None:
                self.input_tokens = event.input_tokens
        elif isinstance(event, MessageEnd):
            self.completion = event.completion
