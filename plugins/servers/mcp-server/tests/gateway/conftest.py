"""A gateway in front of the fake provider server, speaking all three wire formats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

KEYS = {
    "OPENAI_API_KEY": "sk-gateway-openai-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-gateway-0123456789",
    "GEMINI_API_KEY": "gm-gateway-0123456789",
}


def gateway_config(srv: FakeProviderServer, **extra: Any) -> Config:
    data: dict[str, Any] = {
        "providers": {
            "openai": {"base_url": srv.openai_base_url},
            "anthropic": {"base_url": srv.anthropic_base_url},
            "gemini": {"base_url": srv.gemini_base_url},
        },
        "retry": {"initial_wait": 0, "max_wait": 0, "attempts": 1},
        "cache": {"enabled": False},
        "metrics": {"persist": False},
    }
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_config(data)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def gateway(fake_provider_server: FakeProviderServer, keys: None) -> Iterator[GatewayServer]:
    with GatewayServer(gateway_config(fake_provider_server)) as gw:
        yield gw
