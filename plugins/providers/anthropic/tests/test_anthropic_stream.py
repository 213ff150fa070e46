"""Anthropic streaming through the official SDK over real HTTP against the fake server."""

from __future__ import annotations

import json
from typing import Any

import dynamic_orchestrator_anthropic as plugin
import pytest
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.contract import (
    MessageEnd,
    MessageStart,
    TextDelta,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
)
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import ChatMessage
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

KEY = "sk-ant-test-key-0123456789"
MODEL = ModelInfo(name="claude-haiku-4-5", provider="anthropic")


def StreamCall(model: ModelInfo, body: dict[str, Any], **kw: Any) -> ProviderCall:
    return ProviderCall(model=model, system="", messages=[], request=body, **kw)


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
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    url = fake_provider_server.anthropic_base_url
    config = parse_config({"providers": {"anthropic": {"base_url": url}}})
    orch = await make_orchestrator(config, plugins=(plugin,))
    return orch.providers["anthropic"]


async def test_the_body_goes_upstream_untouched_with_the_beta_header(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("anthropic", fs.reply("streamed words from claude", 30, 6))
    body = {
        "max_tokens": 64000,
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
        "context_management": {"edits": []},
        "output_config": {"effort": "high"},
        "thinking": {"type": "adaptive"},
    }
    headers = {"anthropic-beta": "claude-code-20250219,context-1m-2025-08-07"}
    events = [
        e
        async for e in provider.stream(
            StreamCall(model=MODEL, body=body, headers=headers, query={"beta": "true"})
        )
    ]
    assert isinstance(events[0], MessageStart) and events[0].input_tokens == 30
    assert (
        "".join(e.text for e in events if isinstance(e, TextDelta)) == "streamed words from claude"
    )
    assert isinstance(events[-2], UsageUpdate) and events[-2].output_tokens == 6
    assert isinstance(events[-1], MessageEnd) and events[-1].completion.output_tokens == 6
    sent = fake_provider_server.requests[-1]
    assert sent.body == {**body, "model": "claude-haiku-4-5", "stream": True}
    assert sent.headers["anthropic-beta"] == headers["anthropic-beta"]
    assert sent.query == {"beta": "true"}
    assert KEY in sent.headers.get("authorization", "") + sent.headers.get("x-api-key", "")


async def test_a_client_key_replaces_the_gateway_key(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    await collect(
        provider.stream(
            StreamCall(model=MODEL, body=body, headers={"x-api-key": "client-own-key-123"})
        )
    )
    sent = fake_provider_server.requests[-1].headers
    assert sent["x-api-key"] == "client-own-key-123" and "authorization" not in sent


async def test_tool_use_input_arrives_as_json_pieces(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("anthropic", fs.tool_call("Read", {"file_path": "/a"}))
    body = {
        "max_tokens": 10,
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "go"}],
    }
    events = [e async for e in provider.stream(StreamCall(model=MODEL, body=body))]
    start = next(e for e in events if isinstance(e, ToolUseStart))
    assert start.name == "Read"
    assert json.loads("".join(e.partial_json for e in events if isinstance(e, ToolInputDelta))) == {
        "file_path": "/a"
    }
    assert events[-2].stop_reason == "tool_use"  # type: ignore[union-attr]


async def test_a_plain_provider_call_streams_too(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    call = ProviderCall(
        model=MODEL, system="Be brief.", messages=[ChatMessage(role="user", content="ping")]
    )
    done = await collect(provider.stream(call))
    assert done.completion.text == "echo: ping" and done.completion.finish_reason == "end_turn"


async def test_overloaded_is_a_transient_provider_error(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("anthropic", fs.overloaded())
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ProviderError) as caught:
        await collect(provider.stream(StreamCall(model=MODEL, body=body)))
    assert caught.value.kind is ErrorKind.TRANSIENT
