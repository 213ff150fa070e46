"""Streamed calls: the neutral stream events, and the optional ``stream`` method of providers.

A provider that can stream defines ``stream(call: StreamCall) -> AsyncIterator[StreamEvent]``
beside ``complete``. The events are neutral (the same for every provider) and follow the
life of one assistant message: :class:`MessageStart`, then per content block a
:class:`BlockStart`, its deltas (:class:`TextDelta`, :class:`ToolInputDelta`,
:class:`ThinkingDelta`, :class:`SignatureDelta`, :class:`RawDelta`) and a
:class:`BlockStop`, then one :class:`MessageDelta` with the stop reason and the final
usage. The iterator ending is the message's end.

A provider raises :class:`~dynamic_orchestrator.errors.ProviderError` for a failure, like
``complete``. A failure before the first event lets the caller fall back to another model;
after it, the caller ends its own answer with an error (a stream never changes model).

The request of a :class:`StreamCall` is an Anthropic Messages request body (``system``,
``messages`` of typed blocks, ``tools``, ``tool_choice``, ``max_tokens``,
``stop_sequences``, ``temperature``, ``thinking``, ...): the richest of the three wire
formats, so a provider translates from it to its own, and an Anthropic upstream gets it
untouched. Stop reasons are Anthropic's (``end_turn``, ``max_tokens``, ``stop_sequence``,
``tool_use``, ``refusal``, ``pause_turn``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .catalog import ModelInfo
    from .providers import ProviderCall

__all__ = [
    "BlockStart",
    "BlockStop",
    "Collected",
    "MessageDelta",
    "MessageStart",
    "RawDelta",
    "SignatureDelta",
    "StreamCall",
    "StreamEvent",
    "StreamingProvider",
    "TextDelta",
    "ThinkingDelta",
    "ToolInputDelta",
    "can_stream",
    "collect",
    "stream_call_from",
]


@dataclass(frozen=True, slots=True)
class StreamCall:
    """One streamed call: the model and an Anthropic Messages request body."""

    model: ModelInfo
    body: Mapping[str, Any]
    """Anthropic Messages request fields; ``model`` and ``stream`` are set by the provider."""
    timeout: float = 60.0
    headers: Mapping[str, str] = field(default_factory=dict)
    """Headers for an Anthropic upstream only (``anthropic-beta``, the client's key when
    ``providers.anthropic.client_key`` is ``passthrough``); other providers ignore them."""
    query: Mapping[str, str] = field(default_factory=dict)
    """Query parameters for an Anthropic upstream only (Claude Code's ``beta=true``)."""


@dataclass(frozen=True, slots=True)
class MessageStart:
    """The message began; input usage when the provider reports it up front."""

    id: str
    model: str
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True, slots=True)
class BlockStart:
    """A content block began: ``text``, ``tool_use`` (with ``id`` and ``name``), ``thinking``,
    or another Anthropic block type carried whole in ``data``."""

    index: int
    type: str
    id: str = ""
    name: str = ""
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolInputDelta:
    """A piece of a tool call's JSON input."""

    index: int
    partial_json: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    index: int
    thinking: str


@dataclass(frozen=True, slots=True)
class SignatureDelta:
    index: int
    signature: str


@dataclass(frozen=True, slots=True)
class RawDelta:
    """A delta of a type the neutral events do not name, kept whole (Anthropic upstreams)."""

    index: int
    delta: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class BlockStop:
    index: int


@dataclass(frozen=True, slots=True)
class MessageDelta:
    """The message ends: why, and the final usage (``input_tokens`` None: as in start)."""

    stop_reason: str | None
    output_tokens: int
    input_tokens: int | None = None
    stop_sequence: str | None = None
    usage_estimated: bool = False


StreamEvent = (
    MessageStart
    | BlockStart
    | TextDelta
    | ToolInputDelta
    | ThinkingDelta
    | SignatureDelta
    | RawDelta
    | BlockStop
    | MessageDelta
)


@runtime_checkable
class StreamingProvider(Protocol):
    """A provider with the optional ``stream`` method."""

    name: str

    def stream(self, call: StreamCall) -> AsyncIterator[StreamEvent]:
        """The answer as neutral events; raise ``ProviderError`` on failure."""
        ...


def can_stream(provider: object) -> bool:
    """Whether ``provider`` defines ``stream``."""
    return callable(getattr(provider, "stream", None))


@dataclass
class Collected:
    """A whole message gathered from its events (for answers that are not streamed)."""

    id: str = ""
    model: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    usage_estimated: bool = False

    @property
    def text(self) -> str:
        return "".join(b["text"] for b in self.blocks if b.get("type") == "text")

    def add(self, event: StreamEvent) -> None:
        """Fold one event in."""
        if isinstance(event, MessageStart):
            self.id, self.model = event.id, event.model
            self.input_tokens = event.input_tokens
            self.cache_read_tokens = event.cache_read_tokens
            self.cache_write_tokens = event.cache_write_tokens
        elif isinstance(event, BlockStart):
            block: dict[str, Any]
            if event.data is not None:
                block = dict(event.data)
            elif event.type == "tool_use":
                block = {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
            elif event.type == "thinking":
                block = {"type": "thinking", "thinking": "", "signature": ""}
            else:
                block = {"type": event.type, "text": ""}
            block["_json"] = ""
            self.blocks.append(block)
        elif isinstance(event, TextDelta):
            self._block(event.index)["text"] = self._block(event.index).get("text", "") + event.text
        elif isinstance(event, ToolInputDelta):
            self._block(event.index)["_json"] += event.partial_json
        elif isinstance(event, ThinkingDelta):
            block = self._block(event.index)
            block["thinking"] = block.get("thinking", "") + event.thinking
        elif isinstance(event, SignatureDelta):
            block = self._block(event.index)
            block["signature"] = block.get("signature", "") + event.signature
        elif isinstance(event, RawDelta):
            pass  # deltas of unknown types cannot be folded; the block keeps its start
        elif isinstance(event, BlockStop):
            block = self._block(event.index)
            raw = block.pop("_json", "")
            if block.get("type") in ("tool_use", "server_tool_use") and raw:
                try:
                    block["input"] = json.loads(raw)
                except json.JSONDecodeError:
                    block["input"] = {"_raw": raw}
        elif isinstance(event, MessageDelta):
            self.stop_reason = event.stop_reason
            self.stop_sequence = event.stop_sequence
            self.output_tokens = event.output_tokens
            if event.input_tokens is not None:
                self.input_tokens = event.input_tokens
            self.usage_estimated = event.usage_estimated

    def _block(self, index: int) -> dict[str, Any]:
        return self.blocks[index] if index < len(self.blocks) else self.blocks[-1]


async def collect(events: AsyncIterator[StreamEvent]) -> Collected:
    """Gather a whole message from a stream."""
    out = Collected()
    async for event in events:
        out.add(event)
    return out


def stream_call_from(call: ProviderCall) -> StreamCall:
    """The :class:`StreamCall` for a plain :class:`ProviderCall` (text turns, tool calls)."""
    messages: list[dict[str, Any]] = []
    system = [call.system] if call.system else []
    for message in call.messages:
        if message.role == "system":
            system.append(message.content)
        elif message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content,
            }
            last = messages[-1] if messages else None
            if last and last["role"] == "user" and isinstance(last["content"], list):
                last["content"].append(block)
            else:
                messages.append({"role": "user", "content": [block]})
        elif message.role == "assistant" and message.tool_calls:
            blocks: list[dict[str, Any]] = []
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message.tool_calls
            ]
            messages.append({"role": "assistant", "content": blocks})
        else:
            messages.append({"role": message.role, "content": message.content})
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
    return StreamCall(model=call.model, body=body, timeout=call.timeout)
