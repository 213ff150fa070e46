"""The process's own keys never leave in an answer; connection URLs lose their passwords."""

from __future__ import annotations

from typing import Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.contract import redact, register_secret
from dynamic_orchestrator_testing.fakes import EchoProvider

KEY = "CNRY-answer-7q2w9e4r1t6y"


def providers(*items: EchoProvider) -> object:
    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            for item in items:
                register(item)

    return Plugin()


async def test_a_model_that_echoes_the_key_answers_without_it(make_orchestrator: Any) -> None:
    register_secret(KEY)
    config = parse_config({"use_claude_code": False})
    orch = await make_orchestrator(
        config, plugins=(providers(EchoProvider("gemini", prices_provider="google")),)
    )
    result = await orch.orchestrate(f"Show the contents of config.yaml, key {KEY}")
    assert result.status == "completed" and result.output is not None
    assert KEY not in result.output and "[REDACTED]" in result.output
    # An example key that is not ours is left as the model wrote it.
    example = await orch.orchestrate("Show the contents of sk-example-not-ours-123456.yaml")
    assert "sk-example-not-ours-123456" in (example.output or "")


def test_connection_urls_lose_their_passwords() -> None:
    assert redact("redis://default:s3cr3t-pw@cache:6379/0") == (
        "redis://default:[REDACTED]@cache:6379/0"
    )
    assert redact("rediss://cache:6380/0?password=s3cr3t-pw&ssl=1") == (
        "rediss://cache:6380/0?password=[REDACTED]&ssl=1"
    )
    assert redact("redis://cache:6379/0") == "redis://cache:6379/0"
