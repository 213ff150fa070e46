"""The official anthropic SDK as a client of the gateway, upstreams in every wire format."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

from .conftest import KEYS, gateway_config

READ = {
    "name": "Read",
    "description": "Read a file from the local filesystem.",
    "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}},
}


PINNED = {"openai": "gpt-5-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}


@pytest.fixture
def pinned(fake_provider_server: FakeProviderServer, keys: None) -> Iterator[GatewayServer]:
    config = gateway_config(fake_provider_server, gateway={"passthrough": list(PINNED.values())})
    with GatewayServer(config) as gw:
        yield gw


def client(gw: GatewayServer, key: str = "client-own-key-0123456789") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0)


def test_a_simple_streamed_turn_goes_to_a_cheap_model_under_the_ceiling(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    with client(gateway).messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        system=[{"type": "text", "text": "You are terse."}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>skills: a, b, c</system-reminder>"},
                    {"type": "text", "text": "What is 2+2?"},
                ],
            }
        ],
    ) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
        headers = stream.response.headers
    assert text.startswith("echo: ") and "What is 2+2?" in text
    answered = headers["x-orchestrator-model"]
    assert answered != "claude-sonnet-4-6" and headers["x-orchestrator-provider"] in (
        "gemini",
        "openai",
    )
    assert headers["x-orchestrator-request-id"]
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    upstream = fake_provider_server.requests[-1]
    assert upstream.model == answered
    # the gateway's own key went upstream, never the client's
    assert "client-own-key" not in str(upstream.headers)


def test_a_hard_turn_stays_on_the_strong_model(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    hard = (
        "Design and implement a distributed, fault-tolerant consensus protocol with leader "
        "election, log replication and snapshotting; refactor the storage engine for it, "
        "analyze the concurrency and security trade-offs, and write the migration plan."
    )
    answer = client(gateway).messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=2048,
        messages=[{"role": "user", "content": hard}],
    )
    assert answer.headers["x-orchestrator-model"] == "claude-sonnet-4-6"
    assert answer.parse().content[0].text.startswith("echo: Design")  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_tool_round_trip_streamed_through_each_wire_format(
    pinned: GatewayServer, fake_provider_server: FakeProviderServer, provider: str
) -> None:
    gateway = pinned
    model = PINNED[provider]
    fake_provider_server.script(provider, fs.tool_call("Read", {"file_path": "/tmp/notes.txt"}))  # type: ignore[arg-type]
    messages: list[anthropic.types.MessageParam] = [
        {"role": "user", "content": "Read /tmp/notes.txt"}
    ]
    sdk = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0, default_headers={})
    with sdk.messages.stream(
        model=model,
        max_tokens=4096,
        tools=[READ],
        messages=messages,  # type: ignore[list-item]
        extra_headers={},
    ) as stream:
        first = stream.get_final_message()
        assert stream.response.headers["x-orchestrator-provider"] == provider
    use = next(b for b in first.content if b.type == "tool_use")
    assert (use.name, use.input, first.stop_reason) == (
        "Read",
        {"file_path": "/tmp/notes.txt"},
        "tool_use",
    )
    messages += [
        {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "hello notes"}],
        },
    ]
    second = sdk.messages.create(model=model, max_tokens=4096, tools=[READ], messages=messages)  # type: ignore[list-item]
    assert second.content[0].text == "tool result: hello notes"  # type: ignore[union-attr]


def test_anthropic_to_anthropic_passes_blocks_cache_control_and_beta_untouched(
    fake_provider_server: FakeProviderServer, keys: None
) -> None:
    config = gateway_config(fake_provider_server, gateway={"passthrough": ["claude-sonnet-4-6"]})
    with GatewayServer(config) as gw:
        body = {
            "model": "claude-sonnet-4-6",
            "max_tokens": 8000,
            "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
                    ],
                }
            ],
            "metadata": {"user_id": '{"device_id": "d"}'},
        }
        extra = {
            "thinking": {"type": "adaptive"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        }
        sdk = client(gw)
        answer = sdk.messages.with_raw_response.create(
            **body,
            extra_body=extra,
            extra_headers={"anthropic-beta": "claude-code-20250219,context-1m-2025-08-07"},
            extra_query={"beta": "true"},
        )
        assert answer.headers["x-orchestrator-model"] == "claude-sonnet-4-6"
        sent = fake_provider_server.requests[-1]
        assert sent.body == {**body, **extra, "stream": True}
        assert sent.headers["anthropic-beta"] == "claude-code-20250219,context-1m-2025-08-07"
        assert sent.query == {"beta": "true"}
        assert KEYS["ANTHROPIC_API_KEY"] in sent.headers.get(
            "authorization", ""
        ) + sent.headers.get("x-api-key", "")
        assert "client-own-key" not in str(sent.headers)


def test_client_key_passthrough_reaches_only_the_anthropic_upstream(
    fake_provider_server: FakeProviderServer, keys: None
) -> None:
    config = gateway_config(
        fake_provider_server,
        providers={
            "anthropic": {
                "base_url": fake_provider_server.anthropic_base_url,
                "client_key": "passthrough",
            },
            "openai": {"base_url": fake_provider_server.openai_base_url},
            "gemini": {"base_url": fake_provider_server.gemini_base_url},
        },
        gateway={"passthrough": ["claude-sonnet-4-6"]},
    )
    with GatewayServer(config) as gw:
        client(gw, "sk-ant-users-own-key-42").messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        sent = fake_provider_server.requests[-1].headers
        assert "sk-ant-users-own-key-42" in sent.get("authorization", "") + sent.get(
            "x-api-key", ""
        )
        assert KEYS["ANTHROPIC_API_KEY"] not in str(sent)
        client(gw, "sk-ant-users-own-key-42").messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=[{"role": "user", "content": "What is 2+2?"}],
        )


def test_rate_limit_everywhere_is_a_429_with_retry_after(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    for provider in ("openai", "anthropic", "gemini"):
        fake_provider_server.script(provider, *[fs.rate_limit(retry_after=2)] * 6)  # type: ignore[arg-type]
    with pytest.raises(anthropic.RateLimitError) as caught:
        client(gateway).messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_overloaded_everywhere_is_a_529_overloaded_error(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    for provider in ("openai", "anthropic", "gemini"):
        fake_provider_server.script(provider, *[fs.overloaded()] * 6)  # type: ignore[arg-type]
    with pytest.raises(anthropic.APIStatusError) as caught:
        client(gateway).messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_fallback_before_the_first_byte(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("gemini", fs.server_error(), model="gemini-2.5-flash-lite")
    answer = client(gateway).messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        stream=False,
        messages=[{"role": "user", "content": "What is 2+2?"}],
    )
    assert answer.headers["x-orchestrator-model"] != "gemini-2.5-flash-lite"
    assert answer.parse().content[0].text == "echo: What is 2+2?"  # type: ignore[union-attr]


def test_bad_requests_get_anthropic_errors(gateway: GatewayServer) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(gateway).messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=[])
    assert "messages" in caught.value.body["error"]["message"]  # type: ignore[index]


def test_count_tokens_and_models(gateway: GatewayServer) -> None:
    sdk = client(gateway)
    counted = sdk.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hello " * 100}]
    )
    assert 100 < counted.input_tokens < 400
    names = [m.id for m in sdk.models.list()]
    assert {"claude-sonnet-4-6", "gpt-5-mini", "gemini-2.5-flash"} <= set(names)


def test_a_failure_after_the_first_byte_ends_the_stream_with_an_error_event(
    pinned: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    fake_provider_server.script("openai", fs.stream_error("this answer breaks in the middle"))
    sdk = anthropic.Anthropic(base_url=pinned.url, api_key="x", max_retries=0)
    seen: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        sdk.messages.stream(
            model="gpt-5-mini", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        for event in stream:
            seen.append(event.type)
    assert "message_start" in seen and "content_block_delta" in seen  # bytes went out first
    assert "overloaded_error" in str(caught.value) or "server_error" in str(caught.value)
    # the model never changed mid-answer: one upstream call
    assert len([r for r in fake_provider_server.requests if r.provider == "openai"]) == 1
