"""The Anthropic provider through the official SDK over real HTTP against the fake server."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import dynamic_orchestrator_anthropic as plugin
import pytest
from dynamic_orchestrator.catalog import ModelInfo, lookup_prices
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.models import ChatMessage, ToolCall, ToolSpec
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator.streaming import anthropic_messages
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer
from genai_prices import Usage, calc_price

KEY = "sk-ant-test-key-0123456789"
LOOKUP = ToolSpec(name="lookup", description="Find things.", input_schema={"type": "object"})


@pytest.fixture
async def provider(
    fake_provider_server: FakeProviderServer,
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    config = parse_config(
        {"providers": {"anthropic": {"base_url": fake_provider_server.anthropic_base_url}}}
    )
    orch = await make_orchestrator(config, plugins=(plugin,))
    return orch.providers["anthropic"]


def call(*messages: ChatMessage, **kw: Any) -> ProviderCall:
    info = lookup_prices("claude-haiku-4-5") or ModelInfo(name="claude-haiku-4-5", provider="x")
    return ProviderCall(
        model=info, system=kw.pop("system", "Be brief."), messages=list(messages), **kw
    )


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


async def test_success_reports_the_answering_model_usage_and_cost(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    srv = fake_provider_server
    srv.script("anthropic", fs.reply("hello", input_tokens=2000, output_tokens=100))
    done = await provider.complete(call(user("hi")))
    assert (done.text, done.model, done.provider) == ("hello", "claude-haiku-4-5", "anthropic")
    assert (done.input_tokens, done.output_tokens, done.usage_estimated) == (2000, 100, False)
    expected = calc_price(Usage(input_tokens=2000, output_tokens=100), "claude-haiku-4-5")
    assert done.cost_usd == pytest.approx(float(expected.total_price)) and done.cost_usd > 0
    assert done.finish_reason == "end_turn"
    (request,) = srv.requests
    assert request.body["system"] == "Be brief."
    assert request.body["max_tokens"] == plugin.DEFAULT_MAX_TOKENS  # the API requires one
    assert request.body["messages"] == [{"role": "user", "content": "hi"}]
    assert KEY in request.headers.get("authorization", "") + request.headers.get("x-api-key", "")


async def test_tools_tool_use_blocks_and_merged_tool_results(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    srv = fake_provider_server
    first = user('find both [call:lookup {"q": "cats"}] [call:lookup {"q": "dogs"}]')
    done = await provider.complete(call(first, tools=[LOOKUP], max_tokens=99))
    assert done.finish_reason == "tool_use" and done.text is None
    assert [(c.name, c.arguments) for c in done.tool_calls] == [
        ("lookup", {"q": "cats"}),
        ("lookup", {"q": "dogs"}),
    ]
    assert srv.requests[0].body["tools"] == [
        {"name": "lookup", "input_schema": {"type": "object"}, "description": "Find things."}
    ]
    assert srv.requests[0].body["max_tokens"] == 99
    a, b = done.tool_calls
    follow = [
        first,
        ChatMessage(role="assistant", content="Looking.", tool_calls=[a, b]),
        ChatMessage(role="tool", content="3 cats", tool_call_id=a.id),
        ChatMessage(role="tool", content="2 dogs", tool_call_id=b.id),
    ]
    answer = await provider.complete(call(*follow, tools=[LOOKUP]))
    assert answer.text == "tool result: 3 cats\n2 dogs"
    sent = srv.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # results share one turn
    assert sent[1]["content"][0] == {"type": "text", "text": "Looking."}
    assert sent[1]["content"][1]["type"] == "tool_use" and sent[1]["content"][1]["id"] == a.id
    assert [block["tool_use_id"] for block in sent[2]["content"]] == [a.id, b.id]


def test_system_messages_join_the_system_prompt() -> None:
    provider = plugin.AnthropicProvider("anthropic", parse_config({}))
    request = provider._request(
        call(ChatMessage(role="system", content="Extra rule."), user("x"), temperature=0.2)
    )
    assert request["system"] == "Be brief.\n\nExtra rule."
    assert request["messages"] == [{"role": "user", "content": "x"}]
    assert request["temperature"] == 0.2


def test_default_max_tokens_option() -> None:
    config = parse_config({"providers": {"anthropic": {"options": {"default_max_tokens": 512}}}})
    provider = plugin.AnthropicProvider("anthropic", config)
    assert provider._request(call(user("x")))["max_tokens"] == 512
    bad = parse_config({"providers": {"anthropic": {"options": {"default_max_tokens": "lots"}}}})
    reason = plugin.AnthropicProvider("anthropic", bad).unavailable_reason(
        ModelInfo(name="m", provider="anthropic")
    )
    assert reason == "providers.anthropic.options.default_max_tokens: expected int, got str"


def test_importing_the_plugin_does_not_import_the_sdk() -> None:
    code = "import sys, dynamic_orchestrator_anthropic; print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tool_calls_carry_their_input() -> None:
    message = ChatMessage(
        role="assistant", content="", tool_calls=[ToolCall(id="t1", name="f", arguments={"k": 1})]
    )
    assert anthropic_messages([message]) == [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"k": 1}}],
        }
    ]
