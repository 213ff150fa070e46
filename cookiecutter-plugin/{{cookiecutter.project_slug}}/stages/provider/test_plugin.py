"""The provider against the fake provider server: real HTTP on 127.0.0.1, the OpenAI wire
format, scripted faults."""

from typing import Any

import pytest
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import ChatMessage, ToolSpec
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_testing import fake_server as fs

import {{ cookiecutter.package_name }} as plugin

pytestmark = pytest.mark.anyio

Provider = plugin.{{ cookiecutter.class_prefix }}Provider
KEY = "sk-test-0123456789"
MODEL = ModelInfo(name="house-model", provider=plugin.NAME)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugin.DEFAULT_KEY_ENV, KEY)


def provider(server: Any, **settings: Any) -> Any:
    """The provider as ``providers.<name>`` configures it (the key from the environment)."""
    entry = {"base_url": server.openai_base_url, **settings}
    return Provider(plugin.NAME, Config.model_validate({"providers": {plugin.NAME: entry}}))


def call(text: str = "hello", **fields: Any) -> ProviderCall:
    messages = [ChatMessage(role="user", content=text)]
    return ProviderCall(model=MODEL, system="Be brief.", messages=messages, **fields)


async def test_a_call_sends_the_messages_and_reads_the_usage(fake_provider_server: Any) -> None:
    completion = await provider(fake_provider_server).complete(call("hello", max_tokens=50))
    assert completion.text == "echo: hello"
    assert completion.provider == plugin.NAME and completion.model == "house-model"
    assert completion.usage_estimated is False and completion.output_tokens > 0
    (sent,) = fake_provider_server.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent.body["max_tokens"] == 50


async def test_a_tool_call_comes_back_as_a_tool_call(fake_provider_server: Any) -> None:
    tools = [ToolSpec(name="lookup", description="Look a word up.")]
    completion = await provider(fake_provider_server).complete(
        call('[call:lookup {"word": "pluggy"}]', tools=tools)
    )
    (tool_call,) = completion.tool_calls
    assert (tool_call.name, tool_call.arguments) == ("lookup", {"word": "pluggy"})
    assert fake_provider_server.requests[0].body["tools"][0]["function"]["name"] == "lookup"


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (fs.rate_limit(retry_after=2), ErrorKind.RATE_LIMITED),
        (fs.quota_exhausted(), ErrorKind.QUOTA_EXHAUSTED),
        (fs.server_error(502), ErrorKind.TRANSIENT),
        (fs.overloaded(), ErrorKind.TRANSIENT),
        (fs.unauthorized(), ErrorKind.AUTH),
        (fs.not_found(), ErrorKind.MODEL_NOT_FOUND),
        (fs.bad_request("bad 'temperature'"), ErrorKind.BAD_REQUEST),
        (fs.context_length(), ErrorKind.CONTEXT_OVERFLOW),
    ],
)
async def test_each_http_error_gets_its_kind(
    fake_provider_server: Any, fault: fs.Fault, kind: ErrorKind
) -> None:
    fake_provider_server.script("openai", fault)
    with pytest.raises(ProviderError) as caught:
        await provider(fake_provider_server).complete(call())
    assert caught.value.kind is kind
    assert caught.value.provider == plugin.NAME
    assert KEY not in str(caught.value)
    if fault.kind is fs.FaultKind.RATE_LIMIT:
        assert caught.value.retry_after == 2


async def test_a_slow_answer_is_a_transient_timeout(fake_provider_server: Any) -> None:
    fake_provider_server.script("openai", fs.timeout(2.0))
    with pytest.raises(ProviderError, match="timed out") as caught:
        await provider(fake_provider_server).complete(call(timeout=0.2))
    assert caught.value.kind is ErrorKind.TRANSIENT


async def test_unavailable_until_configured(
    fake_provider_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert provider(fake_provider_server).unavailable_reason(MODEL) is None
    unconfigured = Provider(plugin.NAME, Config())
    assert f"providers.{plugin.NAME}.base_url is not set" in (
        unconfigured.unavailable_reason(MODEL) or ""
    )
    monkeypatch.delenv(plugin.DEFAULT_KEY_ENV)
    without_key = provider(fake_provider_server)
    assert without_key.unavailable_reason(MODEL) == f"{plugin.DEFAULT_KEY_ENV} is not set"
    with pytest.raises(ProviderError) as caught:
        await without_key.complete(call())
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert fake_provider_server.requests == []


async def test_an_orchestrator_runs_requests_on_it(
    make_orchestrator: Any, fake_provider_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugin.DEFAULT_KEY_ENV, KEY)
    tier = {"preferred": "house-model", "fallback": []}
    endpoint = {"base_url": fake_provider_server.openai_base_url, "models": ["house-model"]}
    config = Config.model_validate(
        {
            "providers": {plugin.NAME: endpoint},
            "models": {"house-model": {"input_price_per_mtok": 1.0, "output_price_per_mtok": 2.0}},
            "execution": {"simple": tier, "moderate": tier, "complex": tier},
        }
    )
    orch = await make_orchestrator(config, plugins=(plugin,))
    result = await orch.orchestrate("Summarise the README")
    assert result.status == "completed", result.error
    assert (result.provider, result.model) == (plugin.NAME, "house-model")
    assert result.output.startswith("echo: ")
    # measured usage, priced from the configured list prices
    expected = (result.usage.input_tokens * 1.0 + result.usage.output_tokens * 2.0) / 1e6
    assert result.usage.estimated is False
    assert result.cost_usd == pytest.approx(expected)
