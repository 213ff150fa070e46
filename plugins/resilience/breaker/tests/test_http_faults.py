"""Fault sequences over real HTTP: the OpenAI plugin's SDK against the fake provider
server, through the breaker plugin's executor."""

from __future__ import annotations

from typing import Any

import dynamic_orchestrator_breaker
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_testing import fake_server as fs

openai_plugin = pytest.importorskip("dynamic_orchestrator_openai")


@pytest.fixture
def srv(fake_provider_server: fs.FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-breaker-0123456789")
    return fake_provider_server


async def test_a_fault_sequence_opens_skips_and_cools_down(
    srv: fs.FakeProviderServer, make_orchestrator: Any
) -> None:
    tier = {"preferred": "gpt-4o-mini", "fallback": ["gpt-4o"]}
    config = parse_config(
        {
            "use_claude_code": False,
            "providers": {"openai": {"base_url": srv.openai_base_url}},
            "execution": {"simple": tier, "moderate": tier, "complex": tier},
            "retry": {"attempts": 2, "initial_wait": 0, "max_wait": 0, "max_retry_after": 1},
            "circuit_breaker": {"minimum_calls": 1},
            "cache": {"enabled": False},
        }
    )
    orch = await make_orchestrator(config, plugins=(openai_plugin, dynamic_orchestrator_breaker))
    srv.script("openai", fs.server_error(), fs.overloaded(), model="gpt-4o-mini")

    first = await orch.orchestrate("Show the contents of config.yaml")
    assert first.status == "completed" and first.model.startswith("gpt-4o")
    assert [(a.model, a.outcome, a.error_kind) for a in first.attempts] == [
        ("gpt-4o-mini", "error", "transient"),
        ("gpt-4o-mini", "error", "transient"),
        ("gpt-4o", "ok", None),
    ]
    assert (await orch.metrics("5m")).circuit_breakers["gpt-4o-mini"] == "open"

    srv.script("openai", fs.rate_limit(retry_after=60), model="gpt-4o")
    second = await orch.orchestrate("Show the contents of other.yaml")
    assert second.status == "failed"
    assert [(a.model, a.outcome, a.error_kind) for a in second.attempts] == [
        ("gpt-4o-mini", "skipped", "unavailable"),
        ("gpt-4o", "error", "rate_limited"),
    ]
    assert [r.model for r in srv.requests].count("gpt-4o-mini") == 2  # none while open
    registry = dynamic_orchestrator_breaker.attached(orch).breakers
    snap = registry.breaker("gpt-4o").snapshot()
    assert snap.state == "open" and "Retry-After 60s" in snap.reason
