"""A child's environment holds no provider key: checked by real children reporting theirs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_mcp_services import McpService
from dynamic_orchestrator_mcp_services.testing import reference_services

from .conftest import probe_service

CANARIES = {
    "OPENAI_API_KEY": "sk-canary-openai-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-canary-0123456789",
    "GOOGLE_API_KEY": "AIzaCanaryGoogle0123456789abcdef",
    "GEMINI_API_KEY": "canary-gemini-0123456789",
    "MY_LLM_KEY": "canary-custom-0123456789",
}


@pytest.fixture
def keys_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UNRELATED_PARENT_VARIABLE", "parent-only")


def _config(services: dict[str, Any], **settings: Any) -> Any:
    return parse_config(
        {
            "mcp_services": services,
            "providers": {"openai": {"api_key_env": "MY_LLM_KEY"}},
            "plugins": {"settings": {"mcp_services": settings}},
        }
    )


def _assert_no_key(env: dict[str, str]) -> None:
    dumped = json.dumps(env)
    for name, value in CANARIES.items():
        assert name not in env, name
        assert value not in dumped, name


@pytest.mark.usefixtures("keys_in_environment")
async def test_a_python_child_gets_a_minimal_environment(orchestrator_factory: Any) -> None:
    service_env = {
        "PROBE_SETTING": "on",
        "OPENAI_API_KEY": "sk-from-config-0123456789",  # a provider key: never passed
        "SEARCH_API_KEY": "search-0123456789",  # key-like: only with pass_env
        "WEATHER_API_KEY": "weather-0123456789",
    }
    config = _config({"probe": probe_service(env=service_env)}, pass_env=["WEATHER_API_KEY"])
    orch = await orchestrator_factory(config)
    probe = orch.services[0]
    assert isinstance(probe, McpService) and probe.state == "ready"
    env = json.loads(await probe.call_tool("environment", {}, timeout=20))
    _assert_no_key(env)
    assert "sk-from-config-0123456789" not in json.dumps(env)
    assert "SEARCH_API_KEY" not in env
    assert env["WEATHER_API_KEY"] == "weather-0123456789"
    assert env["PROBE_SETTING"] == "on"
    assert "UNRELATED_PARENT_VARIABLE" not in env
    assert "PATH" in env


@pytest.mark.slow
@pytest.mark.usefixtures("keys_in_environment")
async def test_server_everything_reports_no_provider_key(
    orchestrator_factory: Any, npm_servers: Path, tmp_path: Path
) -> None:
    everything = reference_services(tmp_path, npm_servers)["everything"]
    orch = await orchestrator_factory(_config({"everything": everything}))
    service = orch.services[0]
    env = json.loads(await service.call_tool("get-env", {}, timeout=20))  # type: ignore[attr-defined]
    assert env, "server-everything reported no environment"
    _assert_no_key(env)
    assert "UNRELATED_PARENT_VARIABLE" not in env
