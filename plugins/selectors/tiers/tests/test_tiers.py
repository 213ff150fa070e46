"""The tier selector: tiers, usability, preferences, max_cost, forcing, delegation."""

from __future__ import annotations

from typing import Any

import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import CLIENT_PROVIDER, ModelInfo
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.models import Constraints
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_tiers import select_by_tier

SIMPLE = "Show the contents of config.yaml"
COMPLEX = (
    "Design a multi-region failover strategy for our Postgres cluster with zero downtime, "
    "covering replication, DNS, and the migration of every service across regions"
)


def providers(*names: str) -> object:
    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            for name in names:
                register(EchoProvider(name))

    return Plugin()


async def select(orch: Any, text: str, **constraints: Any) -> Any:
    req = orch.make_request(text)
    analysis, _, _ = orch.run_analysis(req, Constraints())
    return analysis, select_by_tier(analysis, orch.catalog, Constraints(**constraints))


async def test_simple_and_complex_requests_get_their_tiers(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(providers("openai", "anthropic", "gemini"),))
    _, simple = await select(orch, SIMPLE)
    assert simple.tier == "simple"
    assert [c.model for c in simple.chain] == Config().execution["simple"].models
    _, complex_ = await select(orch, COMPLEX)
    assert complex_.tier == "complex"
    assert complex_.chain[0].model == Config().execution["complex"].preferred
    # every candidate carries an estimate from list prices
    assert all(c.estimated_cost_usd and c.estimated_cost_usd > 0 for c in complex_.chain)
    assert simple.chain[0].estimated_cost_usd < complex_.chain[0].estimated_cost_usd


async def test_models_without_a_usable_provider_are_skipped_with_a_reason(
    make_orchestrator: Any,
) -> None:
    orch = await make_orchestrator(plugins=(providers("anthropic"),))
    _, selection = await select(orch, SIMPLE)
    assert [c.model for c in selection.chain] == ["claude-haiku-4-5"]
    text = " ".join(selection.reasons)
    assert "gemini-2.5-flash-lite (provider 'gemini' is not " in text


async def test_nothing_usable_means_an_empty_chain_and_a_delegate(make_orchestrator: Any) -> None:
    orch = await make_orchestrator()
    _, selection = await select(orch, COMPLEX)
    assert selection.chain == [] and selection.error is None
    assert selection.delegate_to == Config().claude_code_models["complex"][0]
    no_client = await make_orchestrator(config=Config(use_claude_code=False))
    _, selection = await select(no_client, COMPLEX)
    assert selection.delegate_to == Config().execution["complex"].preferred


async def test_preferred_models_come_first_when_usable(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(providers("openai", "anthropic", "gemini"),))
    _, selection = await select(orch, COMPLEX, preferred_models=["gpt-4o-mini", "no-such-model"])
    assert selection.chain[0].model == "gpt-4o-mini"
    assert selection.chain[0].reason == "preferred by the request"
    assert "no-such-model (unknown model" in " ".join(selection.reasons)


@pytest.mark.parametrize("max_cost", [0.5, 0.01, 0.002, 0.0005])
async def test_max_cost_is_never_exceeded(make_orchestrator: Any, max_cost: float) -> None:
    orch = await make_orchestrator(plugins=(providers("openai", "anthropic", "gemini"),))
    for text in (SIMPLE, COMPLEX):
        _, selection = await select(orch, text, max_cost=max_cost)
        for candidate in selection.chain:
            assert candidate.estimated_cost_usd is not None
            assert candidate.estimated_cost_usd <= max_cost
        assert selection.chain or selection.error


async def test_max_cost_downgrades_with_a_stated_reason(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(providers("openai", "anthropic", "gemini"),))
    analysis, full = await select(orch, COMPLEX)
    cheapest_simple = min(
        orch.catalog.get(m).estimate_cost(
            analysis.estimated_input_tokens, analysis.estimated_output_tokens
        )
        for m in Config().execution["simple"].models
    )
    cheapest_complex = min(c.estimated_cost_usd for c in full.chain)
    budget = (cheapest_simple + cheapest_complex) / 2
    _, selection = await select(orch, COMPLEX, max_cost=budget)
    assert selection.chain, selection.error
    assert "downgraded from complex" in " ".join(selection.reasons)


async def test_nothing_fits_max_cost_says_so(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(providers("openai", "anthropic", "gemini"),))
    _, selection = await select(orch, COMPLEX, max_cost=1e-9)
    assert selection.chain == []
    assert selection.error.startswith("no usable model fits max_cost $0.000000")
    assert "the cheapest usable model" in selection.error


async def test_forced_model(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(providers("openai"),))
    _, forced = await select(orch, SIMPLE, model="gpt-4o")
    assert [c.model for c in forced.chain] == ["gpt-4o"]
    _, unusable = await select(orch, SIMPLE, model="claude-haiku-4-5")
    assert unusable.chain == [] and "forced model unusable" in unusable.error
    _, too_dear = await select(orch, COMPLEX, model="gpt-4o", max_cost=1e-7)
    assert too_dear.chain == [] and "above max_cost" in too_dear.error


async def test_context_window_too_small_is_skipped(make_orchestrator: Any) -> None:
    config = parse_config({"models": {"gpt-5-nano": {"context_window": 10}}})
    orch = await make_orchestrator(config=config, plugins=(providers("openai", "gemini"),))
    _, selection = await select(orch, SIMPLE)
    assert "gpt-5-nano" not in [c.model for c in selection.chain]
    assert "gpt-5-nano (context window 10 <" in " ".join(selection.reasons)


async def test_client_model_first_when_the_client_can_sample(make_orchestrator: Any) -> None:
    class Client:
        name = CLIENT_PROVIDER

        def unavailable_reason(self, model: ModelInfo, *, client_can_sample: bool = False) -> Any:
            return None if client_can_sample else "the client cannot sample"

        async def complete(self, call: Any) -> Any:
            raise NotImplementedError

    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(Client())
            register(EchoProvider("gemini"))

    orch = await make_orchestrator(plugins=(Plugin(),))
    _, sampling = await select(orch, SIMPLE, client_can_sample=True)
    assert sampling.chain[0].provider == CLIENT_PROVIDER
    assert sampling.chain[0].estimated_cost_usd is None  # billed to the client, unknown here
    _, not_sampling = await select(orch, SIMPLE, client_can_sample=False)
    assert CLIENT_PROVIDER not in [c.provider for c in not_sampling.chain]
    later = await make_orchestrator(config=Config(use_claude_code_first=False))
    _, last = await select(later, SIMPLE, client_can_sample=True)
    assert last.chain[-1].provider == CLIENT_PROVIDER and last.chain[0].provider == "gemini"


async def test_a_plugin_model_with_tiers_is_chosen_with_no_config_naming_it(
    make_orchestrator: Any,
) -> None:
    class Acme:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(EchoProvider("acme"))

        @hookimpl
        def register_models(self, register: Any) -> None:
            register(ModelInfo(name="acme-mini", provider="acme", tiers=("simple",)))

    orch = await make_orchestrator(plugins=(Acme(),))
    _, simple = await select(orch, SIMPLE)
    assert [c.model for c in simple.chain] == ["acme-mini"]
    assert simple.chain[0].reason == "registered for the simple tier"
    _, complex_ = await select(orch, COMPLEX)
    assert "acme-mini" not in [c.model for c in complex_.chain]
