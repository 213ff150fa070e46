"""Beyond loopback the gateway needs a token, taken as a bearer token or as ``x-api-key``."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import anthropic
import httpx2
import pytest
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import ConfigError
from dynamic_orchestrator_mcp_server.gateway import guarded_app
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

from .conftest import KEYS, gateway_config

TOKEN = "gateway-token-0123456789abcdef"


def test_a_non_loopback_bind_without_a_token_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"server\.auth_token_env"):
        guarded_app(Config(), "0.0.0.0", 8787, Orchestrator(Config()))


def test_a_refused_start_closes_the_socket_it_bound(
    fake_provider_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DO_ABSENT_GATEWAY_TOKEN", raising=False)
    config = gateway_config(
        fake_provider_server, server={"auth_token_env": "DO_ABSENT_GATEWAY_TOKEN"}
    )
    gc.collect()  # what earlier tests left unclosed is collected first: not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(ConfigError, match="DO_ABSENT_GATEWAY_TOKEN is not set"):
            GatewayServer(config).start()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.fixture
def tokened(
    fake_provider_server: FakeProviderServer, keys: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GatewayServer]:
    monkeypatch.setenv("DO_GATEWAY_TOKEN", TOKEN)
    config = gateway_config(fake_provider_server, server={"auth_token_env": "DO_GATEWAY_TOKEN"})
    with GatewayServer(config) as gw:
        yield gw


def test_the_token_is_accepted_as_x_api_key_or_bearer_and_never_sent_upstream(
    tokened: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    message = [{"role": "user", "content": "What is 2+2?"}]
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=tokened.url, api_key="wrong", max_retries=0).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=message,  # type: ignore[arg-type]
        )
    body = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": message}
    by_key = httpx2.post(f"{tokened.url}/v1/messages", json=body, headers={"x-api-key": TOKEN})
    assert by_key.status_code == 200 and by_key.json()["content"][0]["text"] == "echo: What is 2+2?"
    bearer = anthropic.Anthropic(base_url=tokened.url, auth_token=TOKEN, max_retries=0)
    answer = bearer.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=message)  # type: ignore[arg-type]
    assert answer.content[0].text == "echo: What is 2+2?"  # type: ignore[union-attr]
    assert TOKEN not in str(fake_provider_server.requests[-1].headers)


def test_with_client_key_passthrough_our_token_is_never_forwarded_as_the_clients_key(
    fake_provider_server: FakeProviderServer, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DO_GATEWAY_TOKEN", TOKEN)
    config = gateway_config(
        fake_provider_server,
        server={"auth_token_env": "DO_GATEWAY_TOKEN"},
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
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "What is 2+2?"}],
    }
    with GatewayServer(config) as gw:
        # our token as the bearer, the user's own key as x-api-key: only the key goes up
        both = {"authorization": f"Bearer {TOKEN}", "x-api-key": "sk-ant-users-own-key-42"}
        assert httpx2.post(f"{gw.url}/v1/messages", json=body, headers=both).status_code == 200
        sent = fake_provider_server.requests[-1].headers
        assert sent.get("x-api-key") == "sk-ant-users-own-key-42"
        assert TOKEN not in str(sent)
        # our token as x-api-key and nothing else: the upstream gets the gateway's key
        only = {"x-api-key": TOKEN}
        assert httpx2.post(f"{gw.url}/v1/messages", json=body, headers=only).status_code == 200
        sent = fake_provider_server.requests[-1].headers
        assert TOKEN not in str(sent)
        assert KEYS["ANTHROPIC_API_KEY"] in str(sent)
