"""Fixtures for tests that run the provider plugins against the fake provider server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-test-0123456789",
    "GOOGLE_API_KEY": "AIza-test-google-0123456789",
}

# One cheap model per provider, all known to genai-prices.
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}


@pytest.fixture
def provider_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set a test key for each provider."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    return dict(KEYS)


@pytest.fixture
def provider_plugins() -> tuple[object, ...]:
    """The three SDK provider plugin modules."""
    import dynamic_orchestrator_anthropic
    import dynamic_orchestrator_gemini
    import dynamic_orchestrator_openai

    return (
        dynamic_orchestrator_openai,
        dynamic_orchestrator_anthropic,
        dynamic_orchestrator_gemini,
    )


def fake_config(srv: FakeProviderServer, **sections: Any) -> dict[str, Any]:
    """Config data pointing every provider at ``srv``, with fast retries."""
    data: dict[str, Any] = {
        "providers": {
            "openai": {"base_url": srv.openai_base_url, "timeout": 5},
            "anthropic": {"base_url": srv.anthropic_base_url, "timeout": 5},
            "gemini": {"base_url": srv.gemini_base_url, "timeout": 5},
        },
        "retry": {"attempts": 3, "initial_wait": 0, "max_wait": 0, "max_retry_after": 1},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@pytest.fixture
def server_config_data(fake_provider_server: FakeProviderServer) -> Callable[..., dict[str, Any]]:
    """``server_config_data(**sections)``: config data aimed at the fake server."""
    return lambda **sections: fake_config(fake_provider_server, **sections)


@pytest.fixture
def server_config(fake_provider_server: FakeProviderServer) -> Callable[..., Config]:
    """``server_config(**sections)``: a Config aimed at the fake server."""
    return lambda **sections: parse_config(fake_config(fake_provider_server, **sections))
