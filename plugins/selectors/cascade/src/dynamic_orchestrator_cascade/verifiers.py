"""Verifiers: is a cheap answer good enough to accept?

A verifier sees the answers gathered so far and says ``accept``, ``escalate`` or (when it
needs one more cheap answer to judge) ``more``. Pure objects, no model calls of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from dynamic_orchestrator.answers import agree, answer_key

Verdict = Literal["accept", "escalate", "more"]


class Verifier(Protocol):
    name: str

    def judge(self, answers: Sequence[str | None]) -> tuple[Verdict, str]:
        """The verdict on the cheap answers so far, and the reason."""
        ...


@dataclass(frozen=True)
class Agreement:
    """Accept when ``needed`` cheap answers have the same key (exact for choices and
    numbers, normalised for short text); long free text never agrees, so it escalates."""

    needed: int = 2
    name: str = "agreement"

    def judge(self, answers: Sequence[str | None]) -> tuple[Verdict, str]:
        if not answers or answer_key(answers[0]) is None:
            return "escalate", "the first answer has no comparable form (free text)"
        if len(answers) < self.needed:
            return "more", "a second cheap answer is needed to compare"
        if all(agree(answers[0], other) for other in answers[1 : self.needed]):
            return "accept", f"{self.needed} cheap answers agree ({answer_key(answers[0])})"
        keys = ", ".join(str(answer_key(a)) for a in answers[: self.needed])
        return "escalate", f"cheap answers disagree ({keys})"
