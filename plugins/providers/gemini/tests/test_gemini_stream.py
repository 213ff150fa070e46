"""Gemini streaming through the official google-genai SDK over real HTTP against the fake server."""

from __future__ import annotations

import json
from typing import Any

import dynamic_orchestrator_gemini as plugin
import pytest
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.contract import (
    MessageEnd,
    ProviderCall,
    TextDelta,
    ToolInputDelta,
    ToolUseStart,
)
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

MODEL = ModelInfo(name="gemini-2.5-flash", provider="gemini")


def StreamCall(model: ModelInfo, body: dict[str, Any]) -> ProviderCall:
    return ProviderCall(model=model, system="", messages=[], request=body)


async def collect(events: Any) -> MessageEnd:
    items = [e async for e in events]
    assert isinstance(items[-1], MessageEnd)
    return items[-1]


@pytest.fixture
async def provider(
    fake_provider_server: FakeProviderServer,
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-key-0123456789")
    url = fake_provider_server.gemini_base_url
    config = parse_config({"providers": {"gemini": {"base_url": url}}})
    orch = await make_orchestrator(config, plugins=(plugin,))
    return orch.providers["gemini"]


async def test_text_streams_over_sse_with_usage(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("gemini", fs.reply("gemini streams this answer in parts", 21, 8))
    body = {
        "system": "Be brief.",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    events = [e async for e in provider.stream(StreamCall(model=MODEL, body=body))]
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(texts) > 1 and "".join(texts) == "gemini streams this answer in parts"
    done = await collect(provider.stream(StreamCall(model=MODEL, body=body)))
    assert done.completion.finish_reason == "end_turn" and done.completion.output_tokens > 0
    sent = fake_provider_server.requests[-1]
    assert sent.path.endswith(":streamGenerateContent") and sent.query.get("alt") == "sse"
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "Be brief."


async def test_function_call_and_its_result_name_the_function(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("gemini", fs.tool_call("Read", {"file_path": "/b"}))
    tools = [{"name": "Read", "description": "Read a file.", "input_schema": {"type": "object"}}]
    body: dict[str, Any] = {
        "max_tokens": 50,
        "tools": tools,
        "messages": [{"role": "user", "content": "go"}],
    }
    events = [e async for e in provider.stream(StreamCall(model=MODEL, body=body))]
    start = next(e for e in events if isinstance(e, ToolUseStart))
    assert start.name == "Read"
    assert json.loads("".join(e.partial_json for e in events if isinstance(e, ToolInputDelta))) == {
        "file_path": "/b"
    }
    assert events[-2].stop_reason == "tool_use"  # type: ignore[union-attr]
    body["messages"] += [
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": start.id, "name": "Read", "input": {"file_path": "/b"}}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": start.id, "content": "bytes"}],
        },
    ]
    done = await collect(provider.stream(StreamCall(model=MODEL, body=body)))
    assert done.completion.text == "tool result: bytes"
    parts = fake_provider_server.requests[-1].body["contents"][-1]["parts"]
    assert parts[0]["functionResponse"]["name"] == "Read"


async def test_an_error_is_a_provider_error(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("gemini", fs.quota_exhausted())
    body = {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ProviderError) as caught:
        await collect(provider.stream(StreamCall(model=MODEL, body=body)))
    assert caught.value.kind is ErrorKind.QUOTA_EXHAUSTED
