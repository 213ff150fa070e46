"""The official openai SDK as a client of the gateway, served by each wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

from .conftest import gateway_config

MODELS = {"anthropic": "claude-haiku-4-5", "openai": "gpt-5-mini", "gemini": "gemini-2.5-flash"}
READ = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


@pytest.fixture
def pinned(fake_provider_server: FakeProviderServer, keys: None) -> Iterator[GatewayServer]:
    config = gateway_config(fake_provider_server, gateway={"passthrough": list(MODELS.values())})
    with GatewayServer(config) as gw:
        yield gw


def client(gw: GatewayServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key="sk-client-own-0123456789", max_retries=0)


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_streamed_tool_calls_arrive_in_chunks_then_the_result_round_trips(
    pinned: GatewayServer, fake_provider_server: FakeProviderServer, provider: str
) -> None:
    fake_provider_server.script(provider, fs.tool_call("read_file", {"path": "/etc/motd"}))  # type: ignore[arg-type]
    sdk = client(pinned)
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "show me /etc/motd"},
    ]
    stream = sdk.chat.completions.create(
        model=MODELS[provider],
        messages=messages,
        tools=[READ],
        stream=True,  # type: ignore[arg-type,list-item]
        stream_options={"include_usage": True},
    )
    pieces: dict[int, dict[str, str]] = {}
    finish = None
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                slot = pieces.setdefault(call.index, {"id": "", "name": "", "args": ""})
                slot["id"] += call.id or ""
                if call.function:
                    slot["name"] += call.function.name or ""
                    slot["args"] += call.function.arguments or ""
    assert finish == "tool_calls" and usage is not None and usage.completion_tokens > 0
    (call,) = pieces.values()
    assert call["name"] == "read_file" and json.loads(call["args"]) == {"path": "/etc/motd"}
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "read_file", "arguments": call["args"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": "welcome"},
    ]
    raw = sdk.chat.completions.with_raw_response.create(
        model=MODELS[provider],
        messages=messages,
        tools=[READ],  # type: ignore[arg-type,list-item]
    )
    done = raw.parse()
    assert raw.headers["x-orchestrator-provider"] == provider
    assert raw.headers["x-orchestrator-model"] == MODELS[provider]
    assert done.choices[0].message.content == "tool result: welcome"
    assert done.choices[0].finish_reason == "stop" and done.usage and done.usage.prompt_tokens > 0
    sent = fake_provider_server.requests[-1]
    assert "sk-client-own" not in str(sent.headers)


def test_a_plain_streamed_answer_and_a_cheap_route(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-5.1", messages=[{"role": "user", "content": "What is 2+2?"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == "echo: What is 2+2?"
    assert raw.headers["x-orchestrator-model"] != "gpt-5.1"


def test_errors_have_the_openai_shape(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    sdk = client(gateway)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="gpt-5-mini", messages=[])
    assert caught.value.body["message"].startswith("messages")  # type: ignore[index]
    for provider in ("openai", "anthropic", "gemini"):
        fake_provider_server.script(provider, *[fs.rate_limit(retry_after=4)] * 6)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.chat.completions.create(model="gpt-5.1", messages=[{"role": "user", "content": "hi"}])
    assert limited.value.response.headers["retry-after"] == "4"
    assert limited.value.code == "rate_limit_exceeded"


def test_models_list_reads_in_the_openai_shape(gateway: GatewayServer) -> None:
    names = {m.id for m in client(gateway).models.list()}
    assert {"gpt-5-mini", "claude-haiku-4-5"} <= names
