"""Neutral events of a streamed model call (``Provider.stream``), in API-independent form.

A provider that can stream yields, in order::

    MessageStart
    ( TextDelta | ThinkingDelta | ToolUseStart ToolInputDelta*
      | OtherBlockStart ToolInputDelta* ) ... BlockStop             per block
    UsageUpdate*                                                   (any time after start)
    MessageEnd                                                     (exactly once, last)

Content blocks are numbered by ``index`` from 0 in the order they open, one block open at
a time. A text or thinking block opens with its first delta at a new index; a tool-use
block opens with :class:`ToolUseStart`. Every opened block is closed by
:class:`BlockStop` before the next opens and before :class:`MessageEnd`.
:class:`MessageEnd` carries the assembled :class:`~dynamic_orchestrator.contract.Completion`
(text, tool calls, usage, cost, finish reason), so a streamed call is accounted and
recorded exactly like a plain one.

A failure before the first event raises :class:`~dynamic_orchestrator.contract.ProviderError`
(the host may still fall back to another model); a failure after it also raises
``ProviderError``, and the front door ends its stream with the API's own error event.
These map one to one onto Anthropic's ``message_start``, ``content_block_start``,
``content_block_delta`` (``text_delta``, ``thinking_delta``, ``signature_delta``,
``input_json_delta``), ``content_block_stop``, ``message_delta`` and ``message_stop``,
and onto OpenAI's chat-completion chunks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._models import Completion


@dataclass(frozen=True)
class MessageStart:
    """The call was accepted; ``model`` is the model that answers."""

    model: str
    provider: str
    input_tokens: int | None = None
    """Input tokens, when the provider reports them up front (Anthropic does)."""
    type: Literal["message_start"] = "message_start"


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text for block ``index``."""

    index: int
    text: str
    type: Literal["text_delta"] = "text_delta"


@dataclass(frozen=True)
class ThinkingDelta:
    """A piece of the model's reasoning for block ``index`` (or its signature)."""

    index: int
    thinking: str = ""
    signature: str | None = None
    """Anthropic's signature of the thinking block, when the provider sends one."""
    type: Literal["thinking_delta"] = "thinking_delta"


@dataclass(frozen=True)
class ToolUseStart:
    """Block ``index`` is a call of tool ``name``; its input follows as JSON pieces."""

    index: int
    id: str
    name: str
    type: Literal["tool_use_start"] = "tool_use_start"


@dataclass(frozen=True)
class OtherBlockStart:
    """Block ``index`` is of another Anthropic type, given whole as it starts: a server
    tool's call or result, redacted thinking, ... (Anthropic upstreams pass them on; a
    front door for another API may drop them). Input pieces may follow as
    :class:`ToolInputDelta`."""

    index: int
    block: Mapping[str, Any]
    type: Literal["other_block_start"] = "other_block_start"


@dataclass(frozen=True)
class ToolInputDelta:
    """A piece of the JSON input of the tool call in block ``index``."""

    index: int
    partial_json: str
    type: Literal["tool_input_delta"] = "tool_input_delta"


@dataclass(frozen=True)
class BlockStop:
    """Block ``index`` is complete."""

    index: int
    type: Literal["block_stop"] = "block_stop"


@dataclass(frozen=True)
class UsageUpdate:
    """Usage so far and, once known, why the model stopped (``end_turn``, ``tool_use``...)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None
    type: Literal["usage"] = "usage"


@dataclass(frozen=True)
class MessageEnd:
    """The call finished; ``completion`` is the whole answer, with usage and cost."""

    completion: Completion
    type: Literal["message_end"] = "message_end"


StreamEvent = (
    MessageStart
    | TextDelta
    | ThinkingDelta
    | ToolUseStart
    | OtherBlockStart
    | ToolInputDelta
    | BlockStop
    | UsageUpdate
    | MessageEnd
)
"""One event of a streamed call; ``event.type`` names its kind."""


async def events_from_completion(completion: Completion) -> AsyncIterator[StreamEvent]:
    """The events of an already complete answer, for providers that cannot stream.

    The host uses it when a provider has no ``stream``: the client still gets a valid
    stream, in one burst.
    """
    yield MessageStart(
        model=completion.model, provider=completion.provider, input_tokens=completion.input_tokens
    )
    index = 0
    if completion.text:
        yield TextDelta(index=index, text=completion.text)
        yield BlockStop(index=index)
        index += 1
    for call in completion.tool_calls:
        yield ToolUseStart(index=index, id=call.id, name=call.name)
        yield ToolInputDelta(index=index, partial_json=json.dumps(call.arguments))
        yield BlockStop(index=index)
        index += 1
    yield UsageUpdate(
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        stop_reason=completion.finish_reason,
    )
    yield MessageEnd(completion=completion)
