"""The Gemini provider through the official google-genai SDK over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import dynamic_orchestrator_gemini as plugin
import pytest
from dynamic_orchestrator.catalog import ModelInfo, lookup_prices
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import ChatMessage, ToolSpec
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer
from genai_prices import Usage, calc_price
from google.genai import types

KEY = "AIza-test-gemini-key-0123456789"
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
)


@pytest.fixture
async def provider(
    fake_provider_server: FakeProviderServer,
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    config = parse_config(
        {"providers": {"gemini": {"base_url": fake_provider_server.gemini_base_url}}}
    )
    orch = await make_orchestrator(config, plugins=(plugin,))
    return orch.providers["gemini"]


def call(*messages: ChatMessage, **kw: Any) -> ProviderCall:
    info = lookup_prices("gemini-2.5-flash") or ModelInfo(
        name="gemini-2.5-flash", provider="gemini"
    )
    return ProviderCall(
        model=info, system=kw.pop("system", "Be brief."), messages=list(messages), **kw
    )


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


async def test_success_usage_cost_and_the_key_in_a_header_only(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    srv = fake_provider_server
    srv.script("gemini", fs.reply("hello", input_tokens=4000, output_tokens=250))
    done = await provider.complete(call(user("hi"), max_tokens=77))
    assert (done.text, done.model, done.provider) == ("hello", "gemini-2.5-flash", "gemini")
    assert (done.input_tokens, done.output_tokens, done.usage_estimated) == (4000, 250, False)
    expected = calc_price(Usage(input_tokens=4000, output_tokens=250), "gemini-2.5-flash")
    assert done.cost_usd == pytest.approx(float(expected.total_price)) and done.cost_usd > 0
    assert done.finish_reason == "STOP"
    (request,) = srv.requests
    assert request.path == "/v1/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == KEY and "key" not in request.query
    assert request.body["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert request.body["generationConfig"]["maxOutputTokens"] == 77
    assert request.body["contents"] == [{"parts": [{"text": "hi"}], "role": "user"}]


async def test_function_calls_and_responses_round_trip(
    provider: Any, fake_provider_server: FakeProviderServer
) -> None:
    srv = fake_provider_server
    first = user('weather? [call:get_weather {"city": "Oslo"}]')
    done = await provider.complete(call(first, tools=[WEATHER]))
    (tool_call,) = done.tool_calls
    assert (tool_call.name, tool_call.arguments) == ("get_weather", {"city": "Oslo"})
    declared = srv.requests[0].body["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"
    # the SDK writes the proto field name; the API accepts it as well as lowerCamelCase
    schema = declared.get("parametersJsonSchema", declared.get("parameters_json_schema"))
    assert schema == WEATHER.input_schema
    follow = [
        first,
        ChatMessage(role="assistant", content="", tool_calls=[tool_call]),
        ChatMessage(role="tool", content="sunny", tool_call_id=tool_call.id),
    ]
    answer = await provider.complete(call(*follow, tools=[WEATHER]))
    assert answer.text == "tool result: sunny" and not answer.tool_calls
    sent = srv.requests[1].body["contents"]
    assert [c["role"] for c in sent] == ["user", "model", "user"]
    assert sent[1]["parts"][0]["functionCall"]["name"] == "get_weather"
    assert sent[2]["parts"][0]["functionResponse"] == {
        "name": "get_weather",
        "response": {"result": "sunny"},
    }


def test_thinking_tokens_are_output_and_thought_signatures_go_back() -> None:
    provider = plugin.GeminiProvider("gemini", parse_config({}))
    response = types.GenerateContentResponse(
        candidates=[
            types.Candidate(
                content=types.Content(
                    role="model",
                    parts=[
                        types.Part(text="thinking it over", thought=True),
                        types.Part(text="Calling."),
                        types.Part(
                            function_call=types.FunctionCall(name="f", args={"a": 1}),
                            thought_signature=b"sig-1",
                        ),
                    ],
                ),
                finish_reason=types.FinishReason.STOP,
            )
        ],
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=100,
            candidates_token_count=20,
            thoughts_token_count=300,
            cached_content_token_count=40,
        ),
        model_version="gemini-2.5-flash-001",
    )
    done = provider._completion(response, call(user("x")))
    assert done.text == "Calling."  # the thought summary is not the answer
    assert (done.input_tokens, done.output_tokens) == (100, 320)  # thinking is billed as output
    assert done.model == "gemini-2.5-flash-001"
    usage = Usage(input_tokens=100, output_tokens=320)
    usage.cache_read_tokens = 40
    assert done.cost_usd == pytest.approx(float(calc_price(usage, "gemini-2.5-flash").total_price))
    (tool_call,) = done.tool_calls
    contents = provider._contents(
        [user("x"), ChatMessage(role="assistant", content="", tool_calls=[tool_call])]
    )
    assert contents[1].parts[0].thought_signature == b"sig-1"


def test_a_blocked_prompt_falls_back_rather_than_fails() -> None:
    provider = plugin.GeminiProvider("gemini", parse_config({}))
    blocked = types.GenerateContentResponse(
        prompt_feedback=types.GenerateContentResponsePromptFeedback(
            block_reason=types.BlockedReason.SAFETY
        )
    )
    with pytest.raises(ProviderError) as info:
        provider._completion(blocked, call(user("x")))
    assert info.value.kind is ErrorKind.UNAVAILABLE and "SAFETY" in str(info.value)


def test_per_call_timeout_is_sent_in_milliseconds() -> None:
    provider = plugin.GeminiProvider("gemini", parse_config({}))
    config = provider._config(call(user("x"), timeout=2.5))
    assert config.http_options is not None and config.http_options.timeout == 2500


def test_either_key_variable_works(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ModelInfo(name="gemini-2.5-flash", provider="gemini")
    none = plugin.GeminiProvider("gemini", parse_config({}))
    assert none.unavailable_reason(model) == "GOOGLE_API_KEY or GEMINI_API_KEY is not set"
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    assert plugin.GeminiProvider("gemini", parse_config({})).unavailable_reason(model) is None


def test_importing_the_plugin_does_not_import_the_sdk() -> None:
    code = "import sys, dynamic_orchestrator_gemini; print('google.genai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
