"""Comparing two models' answers: the agreement test a verifying cascade relies on.

An answer is reduced to a *key*: a single choice letter when the answer is one (``"B"``,
``"(b)"``, ``"Answer: B."``), else its last number when it has one (``"x = 4.50"`` →
``"4.5"``), else its lower-cased words without punctuation when it is short (at most
:data:`SHORT_WORDS` words). Longer free text (code, essays) has no key: two such answers
are never said to agree, so a cascade escalates them (code has its own comparison in
:mod:`.code_answers`). Also the features a trained scorer judges one answer by
(:func:`answer_features`). Pure functions, no model calls.
"""

from __future__ import annotations

import math
import re

SHORT_WORDS = 12
_CHOICE = re.compile(r"^\W*(?:answer\W*|option\W*)?\(?([A-Ea-e])\)?\W*$", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_WORD = re.compile(r"\w+")
_LIST_LITERAL = re.compile(r"^\[\s*(['\"])(.*)\1\s*\]$", re.DOTALL)
_HEDGES = re.compile(
    r"\b(?:not sure|unsure|maybe|perhaps|might|possibly|i think|i believe|unclear|"
    r"cannot determine|can't determine|i don't know|it depends|either)\b",
    re.IGNORECASE,
)
FEATURES = ("agreeing_share", "log_length", "hedges", "comparable", "empty")
"""The names of :func:`answer_features`' values, in order."""


def answer_key(text: str | None) -> str | None:
    """The comparable core of an answer, or None when it has none (see the module)."""
    if text is None:
        return None
    body = text.strip()
    literal = _LIST_LITERAL.match(body)  # RouterBench stores ['...']
    if literal:
        body = literal.group(2).replace("\\n", "\n").strip()
    if not body:
        return None
    choice = _CHOICE.match(body)
    if choice:
        return f"choice:{choice.group(1).upper()}"
    words = _WORD.findall(body.lower())
    if len(words) > SHORT_WORDS:
        return None
    numbers = _NUMBER.findall(body)
    if numbers:
        value = float(numbers[-1].replace(",", "."))
        return f"number:{value:g}"
    return "text:" + " ".join(words) if words else None


def agree(first: str | None, second: str | None) -> bool:
    """Whether two answers have the same key (answers without a key never agree)."""
    a, b = answer_key(first), answer_key(second)
    return a is not None and a == b


def answer_features(text: str | None, agreeing: int = 0, others: int = 0) -> list[float]:
    """One answer's features for a trained scorer (:data:`FEATURES`): the share of the
    ``others`` cheap answers that agree with it, its log length, its hedging words, whether
    it has a comparable form (a key, or code that parses) and whether it is empty."""
    from .code_answers import code_blocks

    body = text or ""
    comparable = answer_key(body) is not None or code_blocks(body) is not None
    return [
        agreeing / others if others else 0.0,
        math.log1p(len(body)),
        float(len(_HEDGES.findall(body))),
        float(comparable),
        float(not body.strip()),
    ]
