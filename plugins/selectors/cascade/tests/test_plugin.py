"""The cascade plugin inside a real orchestrator, with a deterministic fake provider."""

from __future__ import annotations

from typing import Any

import dynamic_orchestrator_cascade
import pytest
import structlog
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.log import configure_logging
from dynamic_orchestrator.models import Completion
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_testing.fakes import EchoProvider

pytestmark = pytest.mark.anyio


class Answers(EchoProvider):
    """Answers with a fixed text per model (the strong one last in price answers 'C')."""

    def __init__(self, answers: dict[str, str], default: str) -> None:
        super().__init__("openai", cost_usd=None)
        self.answers, self.default = answers, default

    async def complete(self, call: ProviderCall) -> Completion:
        done = await super().complete(call)
        text = self.answers.get(call.model.name, self.default)
        return done.model_copy(update={"text": text})


CHAIN = {"preferred": "gpt-4o", "fallback": ["gpt-4o-mini", "gpt-5-nano"]}
CONFIG = {
    "use_claude_code": False,
    "execution": {tier: CHAIN for tier in ("simple", "moderate", "complex")},
    "plugins": {"settings": {"cascade": {"enabled": True}}},
}


CHEAP = ["gpt-5-nano", "gpt-4o-mini"]  # the two cheapest of CHAIN, cheapest first
TEXT = "Which option, A or B?"


async def build(make_orchestrator: Any, provider: Answers) -> Any:
    return await make_orchestrator(
        parse_config(CONFIG), plugins=(dynamic_orchestrator_cascade,), providers=(provider,)
    )


async def test_agreeing_cheap_answers_are_accepted(make_orchestrator: Any) -> None:
    orch = await build(make_orchestrator, Answers({}, default="B"))
    result = await orch.orchestrate(TEXT)
    assert result.status == "completed" and result.output == "B"
    assert [a.model for a in result.attempts] == CHEAP
    assert result.model == "gpt-5-nano"
    assert result.cost_usd == pytest.approx(sum(a.cost_usd or 0 for a in result.attempts))


async def test_disagreement_escalates_and_costs_the_sum(make_orchestrator: Any) -> None:
    orch = await build(make_orchestrator, Answers({CHEAP[0]: "A", CHEAP[1]: "B"}, default="C"))
    result = await orch.orchestrate(TEXT)
    assert [a.model for a in result.attempts] == [*CHEAP, "gpt-4o"]
    assert "disagree" in (result.attempts[2].reason or "")
    assert result.output == "C" and result.model == "gpt-4o"
    assert result.cost_usd == pytest.approx(sum(a.cost_usd or 0 for a in result.attempts))


async def test_an_escalation_beyond_max_cost_is_not_started(make_orchestrator: Any) -> None:
    orch = await build(make_orchestrator, Answers({CHEAP[0]: "A", CHEAP[1]: "B"}, default="C"))
    strong_estimate = (await orch.analyze(TEXT)).estimated_cost_usd
    budget = strong_estimate  # gpt-4o alone fits; after the cheap calls it does not
    result = await orch.orchestrate(TEXT, options={"max_cost": budget})
    assert [a.model for a in result.attempts] == [*CHEAP, "gpt-4o"]
    assert result.attempts[-1].outcome == "skipped"
    assert "max_cost" in (result.attempts[-1].reason or "")
    assert result.output == "A" and result.cost_usd <= budget


async def test_an_unknown_verifier_is_refused_naming_the_known_ones(
    make_orchestrator: Any,
) -> None:
    config = parse_config(
        {**CONFIG, "plugins": {"settings": {"cascade": {"enabled": True, "verifier": "vibes"}}}}
    )
    provider = Answers({}, default="B")
    # Configured first: the host configures logging on its first event, which inside the
    # capture would replace the capturing processors (the test then saw nothing when run alone).
    configure_logging()
    with structlog.testing.capture_logs() as logs:
        orch = await make_orchestrator(
            config, plugins=(dynamic_orchestrator_cascade,), providers=(provider,)
        )
    message = "unknown verifier 'vibes'; known: agreement, scorer, self_check"
    said = [e["error"] for e in logs if e.get("event") == "startup_hook_failed"]
    assert any(message in error for error in said), logs  # reported at start-up
    result = await orch.orchestrate(TEXT)
    assert result.status == "failed" and message in (result.error or "")
    assert provider.calls == []  # no model ran on a configuration that names no verifier
