from __future__ import annotations

import anyio
import pytest
from dynamic_orchestrator.models import Candidate, Completion
from dynamic_orchestrator_cascade import Agreement, plan, run_cascade

CHEAP_A = Candidate(model="cheap-a", provider="fake", estimated_cost_usd=0.001)
CHEAP_B = Candidate(model="cheap-b", provider="fake", estimated_cost_usd=0.002)
STRONG = Candidate(model="strong", provider="fake", estimated_cost_usd=0.05)


def answering(answers: dict[str, str], ran: list[str]):  # type: ignore[no-untyped-def]
    async def call(candidate: Candidate) -> Completion:
        ran.append(candidate.model)
        return Completion(
            text=answers[candidate.model],
            model=candidate.model,
            provider="fake",
            input_tokens=10,
            output_tokens=1,
            cost_usd=candidate.estimated_cost_usd,
        )

    return call


def test_plan_puts_the_two_cheapest_first_and_the_selectors_choice_last() -> None:
    cheap, strong = plan([STRONG, CHEAP_B, CHEAP_A]) or ([], None)
    assert [c.model for c in cheap] == ["cheap-a", "cheap-b"] and strong == STRONG
    assert plan([STRONG, CHEAP_A]) is None  # one cheap model cannot be checked


def test_accepts_when_the_cheap_answers_agree() -> None:
    ran: list[str] = []
    call = answering({"cheap-a": "B", "cheap-b": "(b)", "strong": "C"}, ran)
    outcome = anyio.run(lambda: run_cascade([CHEAP_A, CHEAP_B], STRONG, call))
    assert ran == ["cheap-a", "cheap-b"]
    assert outcome.accepted is not None and outcome.accepted.model == "cheap-a"
    assert outcome.total_cost_usd == pytest.approx(0.003)
    assert outcome.decision.startswith("accepted")


def test_escalates_when_they_disagree_and_counts_every_call() -> None:
    ran: list[str] = []
    call = answering({"cheap-a": "A", "cheap-b": "B", "strong": "C"}, ran)
    outcome = anyio.run(lambda: run_cascade([CHEAP_A, CHEAP_B], STRONG, call))
    assert ran == ["cheap-a", "cheap-b", "strong"]
    assert outcome.accepted is not None and outcome.accepted.text == "C"
    assert "disagree" in outcome.steps[-1].reason
    assert outcome.total_cost_usd == pytest.approx(0.053)


def test_free_text_escalates_without_asking_a_second_cheap_model() -> None:
    ran: list[str] = []
    essay = "word " * 50
    call = answering({"cheap-a": essay, "cheap-b": essay, "strong": "done"}, ran)
    outcome = anyio.run(lambda: run_cascade([CHEAP_A, CHEAP_B], STRONG, call))
    assert ran == ["cheap-a", "strong"]
    assert outcome.accepted is not None and outcome.accepted.text == "done"


@pytest.mark.parametrize("max_cost", [0.003, 0.01, 0.052])
def test_an_escalation_that_cannot_fit_max_cost_is_not_started(max_cost: float) -> None:
    ran: list[str] = []
    call = answering({"cheap-a": "A", "cheap-b": "B", "strong": "C"}, ran)
    outcome = anyio.run(lambda: run_cascade([CHEAP_A, CHEAP_B], STRONG, call, max_cost=max_cost))
    assert ran == ["cheap-a", "cheap-b"]
    assert outcome.total_cost_usd <= max_cost
    assert outcome.accepted is not None and outcome.accepted.model == "cheap-a"
    assert not outcome.steps[-1].started and "max_cost" in outcome.steps[-1].reason


def test_a_second_cheap_call_that_cannot_fit_is_not_started_either() -> None:
    ran: list[str] = []
    call = answering({"cheap-a": "A", "cheap-b": "A", "strong": "C"}, ran)
    outcome = anyio.run(lambda: run_cascade([CHEAP_A, CHEAP_B], STRONG, call, max_cost=0.002))
    assert ran == ["cheap-a"] and outcome.total_cost_usd <= 0.002


def test_agreement_needs_three_when_asked() -> None:
    verdict, _ = Agreement(needed=3).judge(["A", "A"])
    assert verdict == "more"
    assert Agreement(needed=3).judge(["A", "A", "A"])[0] == "accept"
    assert Agreement(needed=3).judge(["A", "A", "B"])[0] == "escalate"
