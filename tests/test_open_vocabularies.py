"""Open vocabularies: a third-party classifier adds a sixth intent, and a request routes
with it end to end (decided, prompted, run on a provider over real HTTP, recorded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dynamic_orchestrator_memory
import dynamic_orchestrator_openai
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.contract import (
    ComplexityResult,
    IntentInfo,
    IntentResult,
    ModelInfo,
    PriceTiers,
    Request,
)
from dynamic_orchestrator_compact import GENERAL
from dynamic_orchestrator_testing.fake_server import FakeProviderServer


class TranslationClassifier:
    """What a third-party classifier writes: its intent, registered, then answered."""

    @hookimpl
    def register_intents(self, register: Callable[[IntentInfo], None], config: Config) -> None:
        register(
            IntentInfo(
                "translate",
                description="put text into another language",
                output_tokens={"simple": 120, "moderate": 300, "complex": 700},
            )
        )

    @hookimpl
    def classify(self, request: Request) -> IntentResult | None:
        if request.text.lower().startswith("translate"):
            return IntentResult(intent="translate", confidence=0.95, reasons=["starts so"])
        return None  # the default classifier decides the rest

    @hookimpl
    def score_complexity(self, request: Request, intent: IntentResult) -> ComplexityResult | None:
        if intent.intent == "translate":
            return ComplexityResult(level="simple", score=0.1, reasons=["one sentence"])
        return None


async def test_a_sixth_intent_routes_end_to_end(
    fake_provider_server: FakeProviderServer,
    provider_keys: dict[str, str],
    make_orchestrator: Any,
) -> None:
    config = parse_config(
        {"providers": {"openai": {"base_url": fake_provider_server.openai_base_url}}}
    )
    orch = await make_orchestrator(
        config,
        plugins=(TranslationClassifier(), dynamic_orchestrator_openai, dynamic_orchestrator_memory),
    )
    result = await orch.orchestrate("Translate 'good morning' into French")

    assert result.status == "completed", result.error
    assert result.analysis is not None
    assert (result.analysis.intent, result.analysis.tier) == ("translate", "simple")
    assert result.analysis.estimated_output_tokens == 120  # the registrant's estimate
    assert result.provider == "openai" and result.model in config.execution["simple"].models
    (sent,) = fake_provider_server.requests
    assert sent.body["messages"][0] == {
        "role": "system",
        "content": f"{GENERAL} Keep it to a few lines.",
    }
    summary = await orch.metrics("5m")
    assert summary.intent_distribution == {"translate": 1}
    # The five defaults still classify as before.
    assert (await orch.analyze("Find all usages of parse()")).intent == "search"


async def test_a_tier_of_its_own_is_not_a_complexity_level(make_orchestrator: Any) -> None:
    """A tier named in the configuration serves a plugin's models; complexity stays the three."""

    class Local:
        @hookimpl
        def register_models(self, register: Callable[[ModelInfo], None]) -> None:
            register(
                ModelInfo(
                    name="house-small",
                    provider="house",
                    tiers=("local",),
                    input_price=PriceTiers(0.0),
                    output_price=PriceTiers(0.0),
                )
            )

    config = parse_config({"execution": {"local": {"preferred": "house-large"}}})
    orch = await make_orchestrator(config, plugins=(Local(),))
    assert list(config.execution) == ["simple", "moderate", "complex", "local"]
    assert {m.name for m in orch.catalog.tier_models("local")} == {"house-small", "house-large"}
    assert orch.catalog.get("house-small").tier == "local"
