"""The OpenAI provider through the official SDK over real HTTP against the fake server."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import dynamic_orchestrator_openai as plugin
import pytest
from dynamic_orchestrator.catalog import ModelInfo, lookup_prices
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.models import ChatMessage, ToolCall, ToolSpec
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer
from genai_prices import Usage, calc_price

KEY = "sk-test-openai-key-0123456789"
ADD = ToolSpec(
    name="add",
    description="Add two numbers.",
    input_schema={"type": "object", "properties": {"a": {"type": "number"}}},
)


@pytest.fixture
def srv(fake_provider_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return fake_provider_server


async def orchestrator(make_orchestrator: Any, srv: FakeProviderServer, **providers: Any) -> Any:
    settings = {"openai": {"base_url": srv.openai_base_url}, **providers}
    config = parse_config({"providers": settings, "retry": {"initial_wait": 0, "max_wait": 0}})
    return await make_orchestrator(config, plugins=(plugin,))


def call(model: str, *messages: ChatMessage, **kw: Any) -> ProviderCall:
    info = lookup_prices(model) or ModelInfo(name=model, provider="openai")
    return ProviderCall(
        model=info, system=kw.pop("system", "Be brief."), messages=list(messages), **kw
    )


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


async def test_success_reports_the_answering_model_usage_and_cost(
    srv: FakeProviderServer, make_orchestrator: Any
) -> None:
    orch = await orchestrator(make_orchestrator, srv)
    srv.script("openai", fs.reply("hello", input_tokens=1200, output_tokens=300))
    done = await orch.providers["openai"].complete(call("gpt-4o-mini", user("hi"), max_tokens=64))
    assert (done.text, done.model, done.provider) == ("hello", "gpt-4o-mini", "openai")
    assert (done.input_tokens, done.output_tokens, done.usage_estimated) == (1200, 300, False)
    expected = calc_price(Usage(input_tokens=1200, output_tokens=300), "gpt-4o-mini").total_price
    assert done.cost_usd == pytest.approx(float(expected)) and done.cost_usd > 0
    assert done.finish_reason == "stop" and done.tool_calls == []
    (request,) = srv.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert request.body["max_completion_tokens"] == 64 and "max_tokens" not in request.body


async def test_tools_are_sent_tool_calls_parsed_and_the_follow_up_accepted(
    srv: FakeProviderServer, make_orchestrator: Any
) -> None:
    orch = await orchestrator(make_orchestrator, srv)
    provider = orch.providers["openai"]
    first = user('sum it [call:add {"a": 1, "b": 2}]')
    done = await provider.complete(call("gpt-4o-mini", first, tools=[ADD]))
    assert done.text is None and done.finish_reason == "tool_calls"
    (tool_call,) = done.tool_calls
    assert (tool_call.name, tool_call.arguments) == ("add", {"a": 1, "b": 2})
    assert srv.requests[0].body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "add",
                "parameters": ADD.input_schema,
                "description": "Add two numbers.",
            },
        }
    ]
    follow = [
        first,
        ChatMessage(role="assistant", content="", tool_calls=[tool_call]),
        ChatMessage(role="tool", content="3", tool_call_id=tool_call.id),
    ]
    answer = await provider.complete(call("gpt-4o-mini", *follow, tools=[ADD]))
    assert answer.text == "tool result: 3" and answer.tool_calls == []
    sent = srv.requests[1].body["messages"]
    assert sent[2]["tool_calls"][0]["id"] == tool_call.id
    assert sent[2]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 1, "b": 2}'}
    assert sent[3] == {"role": "tool", "tool_call_id": tool_call.id, "content": "3"}


def test_malformed_tool_arguments_are_kept_not_lost() -> None:
    assert plugin._arguments('{"a": 1}') == {"a": 1}
    assert plugin._arguments("{not json") == {"_raw": "{not json"}
    assert plugin._arguments("[1]") == {"_raw": "[1]"}
    assert plugin._arguments(None) == {}


async def test_a_compatible_endpoint_never_gets_the_openai_key(
    srv: FakeProviderServer, make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTER_KEY", "router-key-0123456789")
    orch = await orchestrator(
        make_orchestrator,
        srv,
        ollama={"type": "openai", "base_url": srv.openai_base_url, "models": ["llama3.1"]},
        router={
            "type": "openai",
            "base_url": srv.openai_base_url,
            "api_key_env": "ROUTER_KEY",
            "models": ["router-model"],
        },
    )
    assert {"openai", "ollama", "router"} <= set(orch.providers)
    result = await orch.orchestrate(
        "Show the contents of config.yaml", options={"model": "llama3.1", "max_tokens": 50}
    )
    assert result.status == "completed", result.error
    assert (result.model, result.provider) == ("llama3.1", "ollama")
    assert result.cost_usd is None  # a self-hosted model has no list price: cost unknown
    assert "no dollar saving claimed" in result.savings_basis
    request = srv.requests[-1]
    assert request.headers["authorization"] == "Bearer unused"
    assert request.body["max_tokens"] == 50 and "max_completion_tokens" not in request.body
    result = await orch.orchestrate(
        "Show the contents of config.yaml", options={"model": "router-model"}
    )
    assert result.status == "completed" and result.provider == "router"
    assert srv.requests[-1].headers["authorization"] == "Bearer router-key-0123456789"
    assert all(KEY not in str(r.headers) for r in srv.requests)


async def test_unavailable_reasons_say_what_is_missing(
    fake_provider_server: FakeProviderServer, make_orchestrator: Any
) -> None:
    config = parse_config(
        {
            "providers": {
                "lmstudio": {"type": "openai", "models": ["local-model"]},
                "router": {
                    "type": "openai",
                    "base_url": "http://127.0.0.1:1/v1",
                    "api_key_env": "NO_SUCH_KEY_VAR",
                },
            }
        }
    )
    orch = await make_orchestrator(config, plugins=(plugin,))
    model = ModelInfo(name="m", provider="openai")
    assert orch.providers["openai"].unavailable_reason(model) == "OPENAI_API_KEY is not set"
    assert orch.catalog.unusable_reason("gpt-4o-mini") == "OPENAI_API_KEY is not set"
    assert orch.providers["lmstudio"].unavailable_reason(model) == (
        "providers.lmstudio.base_url is not set (needed for type 'openai')"
    )
    assert orch.providers["router"].unavailable_reason(model) == "NO_SUCH_KEY_VAR is not set"
    bad = parse_config({"providers": {"openai": {"options": {"max_token_field": "x"}}}})
    provider = plugin.OpenAIProvider("openai", bad)
    assert provider.unavailable_reason(model) == (
        "providers.openai.options.max_token_field: unknown option (known: max_tokens_field)"
    )


async def test_one_client_built_on_first_use_and_closed_at_shutdown(
    srv: FakeProviderServer, make_orchestrator: Any
) -> None:
    orch = await orchestrator(make_orchestrator, srv)
    assert orch.providers["openai"]._client is None  # nothing imported until needed
    for _ in range(2):
        result = await orch.orchestrate(
            "Show the contents of config.yaml", options={"model": "gpt-4o-mini"}
        )
        assert result.status == "completed"
    client = orch.providers["openai"]._client
    assert client is not None and client.max_retries == 0
    assert str(client.base_url).rstrip("/") == srv.openai_base_url
    await orch.close()
    assert client.is_closed() and orch.providers["openai"]._client is None


def test_importing_the_plugin_does_not_import_the_sdk() -> None:
    code = "import sys, dynamic_orchestrator_openai; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tool_call_arguments_round_trip_as_json() -> None:
    message = ChatMessage(
        role="assistant", content="", tool_calls=[ToolCall(id="c1", name="f", arguments={"x": [1]})]
    )
    sent = plugin._message(message)
    assert (
        sent["content"] is None and sent["tool_calls"][0]["function"]["arguments"] == '{"x": [1]}'
    )
