"""Prompt rewriting, the compact plugin's optional first step: a cheap model rewrites the
user message before the chain runs; its tokens count, its answers are cached."""

from __future__ import annotations

from typing import Any

from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_testing.fakes import EchoProvider


async def test_prompt_rewrite_counts_its_tokens_and_is_cached(make_orchestrator: Any) -> None:
    config = parse_config({"prompt": {"rewrite": True}})
    gemini = EchoProvider("gemini", prices_provider="google")
    orch = await make_orchestrator(config, providers=(gemini,))
    first = await orch.orchestrate("Show the contents of config.yaml")
    assert first.status == "completed"
    rewrite_call, main_call = gemini.calls
    assert "Rewrite the user's request" in rewrite_call.system
    # the main call received the rewritten text (the echo of the original)
    assert main_call.messages[0].content == "echo: Show the contents of config.yaml"
    main_only = main_call.messages[0].content
    assert first.usage.input_tokens > len(main_only) // 4  # rewrite tokens are included
    assert [a.model for a in first.attempts] == [main_call.model.name]  # not the rewrite's
    second = await orch.orchestrate("Show the contents of config.yaml")
    assert len(gemini.calls) == 3  # the rewrite came from the cache
    assert second.usage.input_tokens < first.usage.input_tokens


async def test_each_orchestrator_has_its_own_rewrite_cache(make_orchestrator: Any) -> None:
    config = parse_config({"prompt": {"rewrite": True}})
    gemini = EchoProvider("gemini", prices_provider="google")
    one = await make_orchestrator(config, providers=(gemini,))
    two = await make_orchestrator(config)
    await one.orchestrate("Show the contents of config.yaml")
    await two.orchestrate("Show the contents of config.yaml")
    assert len(gemini.calls) == 4  # two rewrites, two answers


async def test_rewriting_off_sends_the_prompt_as_made(make_orchestrator: Any) -> None:
    gemini = EchoProvider("gemini", prices_provider="google")
    orch = await make_orchestrator(providers=(gemini,))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed"
    (call,) = gemini.calls
    assert call.messages[0].content == "Show the contents of config.yaml"
