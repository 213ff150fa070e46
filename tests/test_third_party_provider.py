"""A provider plugin written from the docs alone (the hook reference's example): it declares
its genai-prices provider id, its install hint and its models' tiers, and the host routes
to it over real HTTP with no configuration naming any of its models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.contract import (
    Completion,
    ErrorKind,
    ModelInfo,
    Provider,
    ProviderCall,
    ProviderError,
)
from dynamic_orchestrator.providers import APIProvider
from dynamic_orchestrator_testing.fake_server import FakeProviderServer


class GrokProvider(APIProvider):
    plugin = "grok"
    key_envs = ("XAI_API_KEY",)
    default_base_url = "https://api.x.ai/v1"
    sdk = "httpx2"
    install_hint = "pip install 'dynamic-orchestrator-grok[http]'"
    prices_id = "x-ai"  # genai-prices lists Grok models under x-ai

    def make_client(self, api_key: str | None, base_url: str | None) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=base_url or "", headers={"Authorization": f"Bearer {api_key}"}
        )

    async def close_client(self, client: Any) -> None:
        await client.aclose()

    async def complete(self, call: ProviderCall) -> Completion:
        client = await self.get_client()
        messages = [{"role": "system", "content": call.system}]
        messages += [{"role": m.role, "content": m.content} for m in call.messages]
        response = await client.post(
            "/chat/completions", json={"model": call.model.name, "messages": messages}
        )
        if response.status_code >= 400:
            raise ProviderError(ErrorKind.TRANSIENT, response.text, provider=self.name)
        data = response.json()
        usage = data["usage"]
        return Completion(
            text=data["choices"][0]["message"]["content"],
            model=data["model"],
            provider=self.name,
            input_tokens=usage["prompt_tokens"],
            output_tokens=usage["completion_tokens"],
            cost_usd=self.cost(call, usage["prompt_tokens"], usage["completion_tokens"]),
        )


class GrokPlugin:
    """The plugin module of the docs' example, as an object."""

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None], config: Config) -> None:
        register(GrokProvider("grok", config))

    @hookimpl
    def register_models(self, register: Callable[[ModelInfo], None]) -> None:
        register(ModelInfo(name="grok-3-mini", provider="grok", tiers=("simple",)))


@pytest.fixture
def grok_config(
    fake_provider_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv("XAI_API_KEY", "xai-test-key-0123456789")
    # The provider's endpoint only: no section names a Grok model.
    return parse_config({"providers": {"grok": {"base_url": fake_provider_server.openai_base_url}}})


async def test_its_registered_model_is_chosen_for_its_tier_and_priced(
    grok_config: Config, fake_provider_server: FakeProviderServer, make_orchestrator: Any
) -> None:
    orch = await make_orchestrator(grok_config, plugins=(GrokPlugin(),))
    model = orch.catalog.get("grok-3-mini")
    assert model is not None and model.priced and model.tiers == ("simple",)
    assert model.price_source.startswith("genai-prices (x-ai/")

    result = await orch.orchestrate("Show the contents of config.yaml", options={"max_cost": 1})
    assert result.status == "completed", result.error
    assert result.analysis is not None and result.analysis.tier == "simple"
    assert (result.provider, result.model) == ("grok", "grok-3-mini")
    assert result.cost_usd is not None and result.cost_usd > 0
    (sent,) = fake_provider_server.requests
    assert sent.body["model"] == "grok-3-mini"
    assert sent.headers["authorization"] == "Bearer xai-test-key-0123456789"


async def test_any_model_of_its_prices_provider_is_its_own(
    grok_config: Config, fake_provider_server: FakeProviderServer, make_orchestrator: Any
) -> None:
    orch = await make_orchestrator(grok_config, plugins=(GrokPlugin(),))
    # Neither registered nor configured: genai-prices lists it under x-ai, which grok declared.
    assert orch.catalog.get("grok-3").provider == "grok"
    result = await orch.orchestrate("explain this error", options={"model": "grok-3"})
    assert (result.status, result.provider, result.model) == ("completed", "grok", "grok-3")


def test_a_compatible_endpoint_does_not_claim_the_prices_provider() -> None:
    config = parse_config({"providers": {"relay": {"type": "grok", "base_url": "http://x/v1"}}})
    assert GrokProvider("grok", config).prices_provider == "x-ai"
    assert GrokProvider("relay", config).prices_provider is None


def test_a_missing_sdk_names_the_plugins_own_install_hint() -> None:
    class Missing(GrokProvider):
        sdk = "no_such_sdk_module_4f2a"

    reason = Missing("grok", Config()).unavailable_reason(ModelInfo("grok-3", "grok"))
    assert reason == (
        "the no_such_sdk_module_4f2a SDK is not installed: "
        "pip install 'dynamic-orchestrator-grok[http]'"
    )
