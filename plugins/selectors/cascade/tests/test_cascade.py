from __future__ import annotations

import anyio
import pytest
from dynamic_orchestrator.models import Candidate, Completion
from dynamic_orchestrator_cascade import Agreement, Scorer, SelfCheck, plan, run_cascade

CHEAP_A = Candidate(model="cheap-a", provider="fake", estimated_cost_usd=0.001)
CHEAP_B = Candidate(model="cheap-b", provider="fake", estimated_cost_usd=0.002)
STRONG = Candidate(model="strong", provider="fake", estimated_cost_usd=0.05)


def answering(answers: dict[str, str], ran: list[str]):  # type: ignore[no-untyped-def]
    async def call(candidate: Candidate, prompt: str | None = None) -> Completion:
        ran.append(candidate.model if prompt is None else f"{candidate.model} (check)")
        key = candidate.model if prompt is None else f"{candidate.model} check"
        return Completion(
            text=answers[key],
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


SORT_LOOP = """```python
def sort_desc(items):
    out = list(items)
    out.sort(reverse=True)
    return out

print(sort_desc([3, 1, 2]))
```"""
SORT_BUILTIN = """[PYTHON]
def order(xs):
    return sorted(xs)[::-1]
[/PYTHON]
[TESTS]
assert order([5, 9, 1]) == [9, 5, 1]
[/TESTS]"""
SORT_WRONG = """```python
def order(xs):
    return sorted(xs)

print(order([5, 9, 1]))
```"""


def test_code_answers_agree_by_behaviour_when_code_comparison_is_on() -> None:
    ran: list[str] = []
    answers = {"cheap-a": SORT_LOOP, "cheap-b": SORT_BUILTIN, "strong": "s"}
    outcome = anyio.run(
        lambda: run_cascade(
            [CHEAP_A, CHEAP_B], STRONG, answering(answers, ran), verifier=Agreement(code=True)
        )
    )
    assert ran == ["cheap-a", "cheap-b"] and outcome.decision.startswith("accepted")
    ran.clear()
    answers["cheap-b"] = SORT_WRONG  # ascending: differs on both answers' examples
    outcome = anyio.run(
        lambda: run_cascade(
            [CHEAP_A, CHEAP_B], STRONG, answering(answers, ran), verifier=Agreement(code=True)
        )
    )
    assert ran == ["cheap-a", "cheap-b", "strong"] and "disagree" in outcome.decision


def test_without_code_comparison_code_escalates_at_once() -> None:
    ran: list[str] = []
    answers = {"cheap-a": SORT_LOOP, "cheap-b": SORT_BUILTIN, "strong": "s"}
    anyio.run(lambda: run_cascade([CHEAP_A, CHEAP_B], STRONG, answering(answers, ran)))
    assert ran == ["cheap-a", "strong"]


@pytest.mark.parametrize(("check", "kept"), [("YES, it is right.", "cheap-a"), ("No.", "strong")])
def test_self_check_asks_the_cheap_model_about_its_own_answer(check: str, kept: str) -> None:
    ran: list[str] = []
    answers = {"cheap-a": "Paris", "cheap-a check": check, "strong": "Paris, France"}
    verifier = SelfCheck(request="Capital of France?")
    outcome = anyio.run(
        lambda: run_cascade([CHEAP_A, CHEAP_B], STRONG, answering(answers, ran), verifier=verifier)
    )
    assert ran[:2] == ["cheap-a", "cheap-a (check)"] and "cheap-b" not in ran
    assert outcome.accepted is not None and outcome.accepted.model == kept
    assert outcome.total_cost_usd == pytest.approx(sum(s.cost_usd for s in outcome.steps))
    assert "Capital of France?" in verifier.check_prompt("Paris")


def test_scorer_accepts_above_its_threshold_only() -> None:
    agreeing = ("B", "(b)")
    # weight only on agreement: p = sigmoid(-1 + 3 * agreed)
    weights = (3.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert Scorer(weights, intercept=-1.0, threshold=0.8).judge(agreeing)[0] == "accept"
    assert Scorer(weights, intercept=-1.0, threshold=0.9).judge(agreeing)[0] == "escalate"
    assert Scorer(weights, intercept=-1.0).judge(("B", "C"))[0] == "escalate"
    with pytest.raises(ValueError, match="weights"):
        Scorer((1.0,))
