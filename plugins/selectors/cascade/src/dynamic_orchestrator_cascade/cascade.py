"""The cascade itself, independent of how it is wired: which model runs next, what it may
cost, and which answer is kept.

Plan: the two cheapest candidates of the chain answer first; the strong model is the
selector's first choice (its next one when the first is among the two cheapest). A
verifier judges the cheap answers; on ``escalate`` the strong model answers and its answer
is kept. A verifier with a ``check_prompt`` (the self-check) has the first cheap model
judge its own answer instead of asking the second. Money: the total is the sum of every
call that ran; a call whose estimate does not fit what is left of ``max_cost`` is not
started (the best answer so far is kept, and the reason says so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
from dynamic_orchestrator.models import Candidate, Completion

from .verifiers import Agreement, Verifier

Call = Callable[[Candidate, str | None], Awaitable[Completion]]
"""Run one candidate (with its usual prompt, or this user prompt instead); raise on failure."""


@dataclass
class Step:
    """One call the cascade made (or declined to make), with why and what it cost."""

    candidate: Candidate
    reason: str
    cost_usd: float = 0.0
    completion: Completion | None = None
    error: str | None = None
    started: bool = True


@dataclass
class Outcome:
    accepted: Completion | None
    steps: list[Step] = field(default_factory=list)
    decision: str = ""

    @property
    def total_cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.steps)


def plan(chain: Sequence[Candidate]) -> tuple[list[Candidate], Candidate] | None:
    """(the two cheapest priced candidates, cheapest first; the strong candidate: the
    selector's first choice, or when that is one of the two, its next choice), or None
    when the chain has fewer than three priced models."""
    priced = [c for c in chain if c.estimated_cost_usd is not None]
    if len(priced) < 3:
        return None
    cheap = sorted(priced, key=lambda c: c.estimated_cost_usd or 0.0)[:2]
    strong = next(c for c in priced if c not in cheap)
    return cheap, strong


def _cost(candidate: Candidate, completion: Completion) -> float:
    if completion.cost_usd is not None:
        return completion.cost_usd
    return candidate.estimated_cost_usd or 0.0


async def run_cascade(
    cheap: Sequence[Candidate],
    strong: Candidate,
    call: Call,
    *,
    max_cost: float | None = None,
    verifier: Verifier | None = None,
) -> Outcome:
    """Run the cascade (see the module); ``call`` runs one candidate and raises on failure."""
    judge: Verifier = verifier or Agreement()
    outcome = Outcome(accepted=None)
    answers: list[str | None] = []
    first: Completion | None = None

    def fits(candidate: Candidate) -> bool:
        if max_cost is None:
            return True
        return outcome.total_cost_usd + (candidate.estimated_cost_usd or 0.0) <= max_cost

    async def run(
        candidate: Candidate, reason: str, prompt: str | None = None
    ) -> Completion | None:
        if not fits(candidate):
            outcome.steps.append(
                Step(
                    candidate,
                    f"{reason}; not started: estimate ${candidate.estimated_cost_usd:.6g} "
                    f"does not fit what is left of max_cost ${max_cost:.6g}",
                    started=False,
                )
            )
            return None
        step = Step(candidate, reason)
        outcome.steps.append(step)
        try:
            completion = await call(candidate, prompt)
        except Exception as exc:
            step.error = str(exc) or type(exc).__name__
            return None
        step.completion, step.cost_usd = completion, _cost(candidate, completion)
        return completion

    reason = "cheapest model first"
    verdict, why = "escalate", "no cheap answer"
    check = getattr(judge, "check_prompt", None)
    for index, candidate in enumerate(cheap):
        if index and check is not None and first is not None:  # the first model checks itself
            candidate = cheap[0]
            completion = await run(candidate, reason, check(first.text))
        else:
            completion = await run(candidate, reason)
        if completion is None:
            verdict, why = "escalate", f"{candidate.model} gave no answer"
            break
        first = first or completion
        answers.append(completion.text)
        verdict, why = await anyio.to_thread.run_sync(judge.judge, answers)  # may run code
        if verdict != "more":
            break
        reason = why
    if verdict == "accept" and first is not None:
        outcome.accepted, outcome.decision = first, f"accepted: {why}"
        return outcome
    strong_answer = await run(strong, f"escalated: {why}")
    if strong_answer is not None:
        outcome.accepted, outcome.decision = strong_answer, f"escalated: {why}"
    else:
        outcome.accepted = first
        outcome.decision = f"kept the cheap answer: {outcome.steps[-1].reason}"
    return outcome
