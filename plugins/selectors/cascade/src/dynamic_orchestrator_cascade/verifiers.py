"""Verifiers: is a cheap answer good enough to accept?

A verifier sees the answers gathered so far and says ``accept``, ``escalate`` or (when it
needs one more answer to judge) ``more``. Which answer the next call gives is the
verifier's to say: by default the next cheap model answers the request; a verifier with a
:meth:`check_prompt` instead has the first cheap model judge its own answer.

Three are built in, registered through the cascade's ``register_verifiers`` hook like any
plugin's (:mod:`.hookspecs`) and chosen by ``plugins.cascade.verifier``:

- ``agreement`` (:class:`Agreement`): two cheap answers agree — exact for choices and
  numbers, normalised for short text, and with ``code: true`` code answers compared by
  normalised source and by behaviour on their own examples
  (:mod:`dynamic_orchestrator.code_answers`, which runs model-written code in a limited
  child process: opt-in);
- ``scorer`` (:class:`Scorer`): a logistic regression on the first answer's features
  (:func:`dynamic_orchestrator.answers.answer_features`) and the second's agreement with
  it; weights from the settings, as ``router eval --cascade`` fits them;
- ``self_check`` (:class:`SelfCheck`): the first cheap model is asked whether its answer
  is right and the answer is kept on a yes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from dynamic_orchestrator.answers import FEATURES, agree, answer_features, answer_key
from dynamic_orchestrator.code_answers import code_agree

Verdict = Literal["accept", "escalate", "more"]


class Verifier(Protocol):
    @property
    def name(self) -> str:
        """The verifier's name, in the cascade's reasons."""
        ...

    def judge(self, answers: Sequence[str | None]) -> tuple[Verdict, str]:
        """The verdict on the answers so far, and the reason."""
        ...


def _agree(first: str | None, second: str | None, code: bool) -> bool:
    if answer_key(first) is not None:
        return agree(first, second)
    return code and code_agree(first, second)


def _comparable(text: str | None, code: bool) -> bool:
    from dynamic_orchestrator.code_answers import code_answer

    return answer_key(text) is not None or (code and code_answer(text) is not None)


@dataclass(frozen=True)
class Agreement:
    """Accept when ``needed`` cheap answers agree with the first (see the module); an
    answer with no comparable form escalates at once."""

    needed: int = 2
    code: bool = False
    name: str = "agreement"

    def judge(self, answers: Sequence[str | None]) -> tuple[Verdict, str]:
        if not answers or not _comparable(answers[0], self.code):
            return "escalate", "the first answer has no comparable form (free text)"
        if len(answers) < self.needed:
            return "more", "a second cheap answer is needed to compare"
        first = answers[0]
        if all(_agree(first, other, self.code) for other in answers[1 : self.needed]):
            key = answer_key(first) or "same code behaviour"
            return "accept", f"{self.needed} cheap answers agree ({key})"
        keys = ", ".join(str(answer_key(a) or "code") for a in answers[: self.needed])
        return "escalate", f"cheap answers disagree ({keys})"


@dataclass(frozen=True)
class Scorer:
    """Accept the first answer when a logistic regression on its features says it is right
    with probability at least ``threshold``. ``weights``: one per feature of
    :data:`dynamic_orchestrator.answers.FEATURES` (its agreement share is the second
    answer's agreement, 0 or 1), then one for the second answer's log length (as
    ``router eval --cascade`` fits them)."""

    weights: tuple[float, ...]
    intercept: float = 0.0
    threshold: float = 0.7
    code: bool = False
    name: str = "scorer"

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES) + 1:
            raise ValueError(
                f"scorer: expected {len(FEATURES) + 1} weights "
                f"({', '.join(FEATURES)}, second_log_length), got {len(self.weights)}"
            )

    def probability(self, answers: Sequence[str | None]) -> float:
        first, second = answers[0], answers[1]
        agreed = int(_agree(first, second, self.code))
        values = [*answer_features(first, agreed, 1), answer_features(second)[1]]
        z = self.intercept + sum(w * v for w, v in zip(self.weights, values, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def judge(self, answers: Sequence[str | None]) -> tuple[Verdict, str]:
        if len(answers) < 2:
            return "more", "the scorer compares the first answer with a second"
        p = self.probability(answers)
        verdict: Verdict = "accept" if p >= self.threshold else "escalate"
        return verdict, f"scorer: {p:.2f} {'≥' if p >= self.threshold else '<'} {self.threshold}"


_YES = re.compile(r"^\W*(yes|correct|right)\b", re.IGNORECASE)

SELF_CHECK_PROMPT = """Here is a request and an answer to it.

Request:
{request}

Answer:
{answer}

Is the answer correct and complete? Reply with YES or NO first, then one short reason."""


@dataclass(frozen=True)
class SelfCheck:
    """Ask the first cheap model whether its own answer is right; keep it on a yes."""

    request: str = ""
    name: str = "self_check"
    prompt: str = field(default=SELF_CHECK_PROMPT, repr=False)

    def check_prompt(self, answer: str | None) -> str:
        """The prompt that asks the cheap model to judge its answer."""
        return self.prompt.format(request=self.request, answer=answer or "")

    def judge(self, answers: Sequence[str | None]) -> tuple[Verdict, str]:
        if len(answers) < 2:
            return "more", "the cheap model is asked to check its answer"
        if answers[1] and _YES.match(answers[1]):
            return "accept", "self-check: the cheap model says its answer is right"
        return "escalate", "self-check: the cheap model does not confirm its answer"
