"""Prompt rewriting, the compact plugin's optional first step: a cheap model rewrites the
user message before the chain runs; its tokens count, its answers are cached."""

from __future__ import annotations

from typing import Any

import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.errors import ConfigError
from dynamic_orchestrator_compact.settings import CompactSettings, settings_of
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


def test_rewriting_is_this_plugins_setting_and_the_seed_keys_still_set_it() -> None:
    seed = parse_config({"prompt": {"rewrite": True, "rewrite_model": "gpt-5-nano"}})
    own = parse_config({"plugins": {"compact": {"rewrite": True, "rewrite_model": "gpt-5-nano"}}})
    assert (
        settings_of(seed)
        == settings_of(own)
        == CompactSettings(rewrite=True, rewrite_model="gpt-5-nano")
    )
    assert seed.prompt.max_context_chars == 4000  # the host's key beside them is untouched
    with pytest.raises(ConfigError, match=r"prompt\.rewrtie: unknown key"):
        parse_config({"prompt": {"rewrtie": True}})
    with pytest.raises(ConfigError, match=r"prompt\.rewrite: Input should be a valid boolean"):
        parse_config({"prompt": {"rewrite": "often"}})


class _Client:
    """An MCP client that offers sampling; never asked here."""

    can_sample = True

    async def sample(self, params: Any) -> Any:
        raise AssertionError("not asked ahead")


async def test_the_client_model_is_not_asked_ahead_when_rewriting_is_on(
    make_orchestrator: Any,
) -> None:
    # Rewriting calls a cheap model first, so the front door must not ask the client ahead.
    text = "Show the contents of config.yaml"
    plain = await make_orchestrator()
    assert plain.plan_client_call(plain.make_request(text), client=_Client()) is not None
    on = await make_orchestrator(parse_config({"prompt": {"rewrite": True}}))
    assert on.plan_client_call(on.make_request(text), client=_Client()) is None
