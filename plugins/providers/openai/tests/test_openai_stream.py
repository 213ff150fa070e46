"""OpenAI streaming over real HTTP against the fake server: the pooled session and the SDK."""

from __future__ import annotations

import json
from typing import Any

import dynamic_orchestrator_openai as plugin
import pytest
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.contract import (
    MessageEnd,
    ProviderCall,
    TextDelta,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
)
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

TOOLS = [{"name": "Read", "description": "Read a file.", "input_schema": {"type": "object"}}]


@pytest.fixture
async def provider(
    fake_provider_server: FakeProviderServer,
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-key-0123456789")
    config = parse_config(
        {"providers": {"openai": {"base_url": fake_provider_server.openai_base_url}}}
    )
    orch = await make_orchestrator(config, plugins=(plugin,))
    return orch.providers["openai"]


def call(body: dict[str, Any]) -> ProviderCall:
    model = ModelInfo(name="gpt-5-mini", provider="openai")
    return ProviderCall(model=model, system="", messages=[], request=body)


async def collect(events: Any) -> MessageEnd:
    items = [e async for e in events]
    assert isinstance(items[-1], MessageEnd)
    return items[-1]


async def test_text_streams_in_pieces_with_usage(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("openai", fs.reply("a fairly long answer, in pieces", 40, 9))
    body = {
        "system": [{"type": "text", "text": "Be brief."}],
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stop_sequences": ["END"],
        "temperature": 0.2,
    }
    events = [e async for e in provider.stream(call(body))]
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(texts) > 1 and "".join(texts) == "a fairly long answer, in pieces"
    usage = events[-2]
    assert isinstance(usage, UsageUpdate) and usage.stop_reason == "end_turn"
    end = events[-1]
    assert isinstance(end, MessageEnd)
    assert (end.completion.input_tokens, end.completion.output_tokens) == (40, 9)
    assert end.completion.text == "a fairly long answer, in pieces"
    assert not end.completion.usage_estimated
    sent = fake_provider_server.requests[-1].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["stop"] == ["END"] and sent["max_completion_tokens"] == 100


async def test_tool_call_and_tool_result_round_trip(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("openai", fs.tool_call("Read", {"file_path": "/tmp/x"}))
    body = {
        "max_tokens": 100,
        "tools": TOOLS,
        "tool_choice": {"type": "any"},
        "messages": [{"role": "user", "content": "read it"}],
    }
    events = [e async for e in provider.stream(call(body))]
    start = next(e for e in events if isinstance(e, ToolUseStart))
    assert start.name == "Read" and start.id
    args = "".join(e.partial_json for e in events if isinstance(e, ToolInputDelta))
    assert json.loads(args) == {"file_path": "/tmp/x"}
    assert events[-1].completion.tool_calls[0].arguments == {"file_path": "/tmp/x"}  # type: ignore[union-attr]
    assert events[-2].stop_reason == "tool_use"  # type: ignore[union-attr]
    assert fake_provider_server.requests[-1].body["tool_choice"] == "required"
    body["messages"] = [
        *body["messages"],
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": start.id,
                    "name": "Read",
                    "input": {"file_path": "/tmp/x"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": start.id,
                    "content": [{"type": "text", "text": "file body"}],
                }
            ],
        },
    ]
    done = await collect(provider.stream(call(body)))
    assert done.completion.text == "tool result: file body"
    sent = fake_provider_server.requests[-1].body["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == start.id
    assert sent[-1] == {"role": "tool", "tool_call_id": start.id, "content": "file body"}


async def test_an_error_before_the_first_event_is_a_provider_error(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("openai", fs.rate_limit(retry_after=3))
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ProviderError) as caught:
        await anext(provider.stream(call(body)))
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.retry_after == 3


async def test_the_streamed_request_carries_what_the_sdk_sends(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    await collect(provider.stream(call(body)))
    streamed = fake_provider_server.requests[-1]
    await provider.complete(ProviderCall(model=call(body).model, system="", messages=[]))
    plain = fake_provider_server.requests[-1]
    assert streamed.path == plain.path == "/v1/chat/completions"
    for name in ("authorization", "user-agent", "x-stainless-lang"):
        assert streamed.headers[name] == plain.headers[name]
    assert streamed.body["stream"] is True and streamed.body["model"] == "gpt-5-mini"


@pytest.mark.parametrize(
    ("step", "kind"),
    [(fs.server_error(), ErrorKind.TRANSIENT), (fs.unauthorized(), ErrorKind.AUTH)],
)
async def test_http_errors_keep_the_sdk_meaning(
    provider: Any, fake_provider_server: FakeProviderServer, step: Any, kind: ErrorKind
) -> None:
    fake_provider_server.script("openai", step)
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ProviderError) as caught:
        await anext(provider.stream(call(body)))
    assert caught.value.kind is kind and caught.value.provider == "openai"


async def test_a_refused_connection_is_transient(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-key-0123456789")
    config = parse_config({"providers": {"openai": {"base_url": f"http://127.0.0.1:{port}/v1"}}})
    orch = await make_orchestrator(config, plugins=(plugin,))
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ProviderError) as caught:
        await anext(orch.providers["openai"].stream(call(body)))
    assert caught.value.kind is ErrorKind.TRANSIENT and "connection failed" in str(caught.value)


async def test_with_a_proxy_set_the_sdk_sends_the_stream(
    fake_provider_server: FakeProviderServer,
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-key-0123456789")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # only https URLs would use it
    config = parse_config(
        {"providers": {"openai": {"base_url": fake_provider_server.openai_base_url}}}
    )
    orch = await make_orchestrator(config, plugins=(plugin,))
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    done = await collect(orch.providers["openai"].stream(call(body)))
    assert done.completion.text == "echo: hi"
