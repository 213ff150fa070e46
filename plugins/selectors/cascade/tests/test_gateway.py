"""Under the gateway the cascade steps aside: its providers open one upstream stream each
and answer no text to verify, so a turn opens exactly one upstream call."""

from __future__ import annotations

import openai
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_testing.fake_server import FakeProviderServer


@pytest.mark.parametrize("stream", [False, True])
def test_a_gateway_turn_opens_one_upstream_call_with_the_cascade_on(
    fake_provider_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-gateway-openai-0123456789")
    chain = {"preferred": "gpt-4o", "fallback": ["gpt-4o-mini", "gpt-5-nano"]}
    config = parse_config(
        {
            "use_claude_code": False,
            "providers": {"openai": {"base_url": fake_provider_server.openai_base_url}},
            "execution": {tier: chain for tier in ("simple", "moderate", "complex")},
            "retry": {"initial_wait": 0, "max_wait": 0, "attempts": 1},
            "cache": {"enabled": False},
            "metrics": {"persist": False},
            "plugins": {"settings": {"cascade": {"enabled": True}}},
        }
    )
    with GatewayServer(config) as gateway:
        assert gateway.orchestrator.pm.get_plugin("cascade") is not None
        sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0)
        messages = [{"role": "user", "content": "Which option, A or B?"}]
        if stream:
            chunks = sdk.chat.completions.create(
                model="gpt-4o",
                messages=messages,
                stream=True,  # type: ignore[arg-type]
            )
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            answer = sdk.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
            text = answer.choices[0].message.content or ""
    assert text.startswith("echo: ")
    assert len(fake_provider_server.requests) == 1
