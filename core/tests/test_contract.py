"""The contract: stream events, the optional streamed call, plugin-given tiers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import dynamic_orchestrator
from dynamic_orchestrator.catalog import build_catalog
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import (
    BlockStop,
    Completion,
    MessageEnd,
    MessageStart,
    ModelInfo,
    Provider,
    ProviderCall,
    StreamEvent,
    StreamingProvider,
    TextDelta,
    ToolCall,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
    can_stream,
    events_from_completion,
)


class PlainProvider:
    name = "plain"

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        return None

    async def complete(self, call: ProviderCall) -> Completion:
        return Completion(
            text="hi", model=call.model.name, provider=self.name, input_tokens=1, output_tokens=1
        )


class StreamingPlain(PlainProvider):
    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        completion = await self.complete(call)
        async for event in events_from_completion(completion):
            yield event


def test_the_streamed_call_is_optional() -> None:
    assert isinstance(PlainProvider(), Provider)
    assert not isinstance(PlainProvider(), StreamingProvider)
    assert not can_stream(PlainProvider())
    assert isinstance(StreamingPlain(), StreamingProvider)
    assert can_stream(StreamingPlain())


def test_events_from_a_completion_follow_the_documented_order() -> None:
    completion = Completion(
        text="Looking it up.",
        model="m",
        provider="p",
        input_tokens=12,
        output_tokens=7,
        tool_calls=[ToolCall(id="t1", name="search", arguments={"q": "x"})],
        finish_reason="tool_use",
    )

    async def collect() -> list[StreamEvent]:
        return [event async for event in events_from_completion(completion)]

    events = anyio.run(collect)
    assert [e.type for e in events] == [
        "message_start",
        "text_delta",
        "block_stop",
        "tool_use_start",
        "tool_input_delta",
        "block_stop",
        "usage",
        "message_end",
    ]
    assert events[0] == MessageStart(model="m", provider="p", input_tokens=12)
    assert events[1] == TextDelta(index=0, text="Looking it up.")
    assert events[2] == BlockStop(index=0)
    assert events[3] == ToolUseStart(index=1, id="t1", name="search")
    assert events[4] == ToolInputDelta(index=1, partial_json='{"q": "x"}')
    assert events[6] == UsageUpdate(input_tokens=12, output_tokens=7, stop_reason="tool_use")
    assert events[7] == MessageEnd(completion=completion)


def test_contract_names_are_importable_from_the_package() -> None:
    assert dynamic_orchestrator.ModelInfo is ModelInfo
    assert dynamic_orchestrator.StreamingProvider is StreamingProvider
    assert "Host" in dir(dynamic_orchestrator)


def test_tiers_a_plugin_registers_are_kept_unless_config_names_the_model() -> None:
    plugin_model = ModelInfo(name="acme-small", provider="acme", tiers=("simple", "moderate"))
    named = ModelInfo(name="gpt-5-mini", provider="openai", tiers=("complex",))
    catalog = build_catalog(Config(), registered=[plugin_model, named])
    assert catalog.models["acme-small"].tiers == ("simple", "moderate")
    assert [m.name for m in catalog.tier_models("simple")].count("acme-small") == 1
    # the config's execution section names gpt-5-mini for the moderate tier: it decides
    assert catalog.models["gpt-5-mini"].tiers == ("moderate",)
