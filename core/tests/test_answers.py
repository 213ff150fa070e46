from __future__ import annotations

import pytest
from dynamic_orchestrator.answers import agree, answer_key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("B", "choice:B"),
        ("['C\\n']", "choice:C"),
        ("(a)", "choice:A"),
        ("Answer: d.", "choice:D"),
        ("The total is 4.50", "number:4.5"),
        ("42", "number:42"),
        ("  Paris. ", "text:paris"),
        ("def f(x):\n" + "    return x + 1\n" * 10, None),
        ("", None),
        (None, None),
    ],
)
def test_answer_key(text: str | None, key: str | None) -> None:
    assert answer_key(text) == key


def test_agreement_is_exact_on_choices_and_numbers_and_normalised_on_short_text() -> None:
    assert agree("B", "['B\\n']")
    assert not agree("A", "B")
    assert agree("x = 3.0", "3")
    assert not agree("3", "4")
    assert agree("Paris!", "paris")
    long = "word " * 40
    assert not agree(long, long)  # no key: free text never counts as agreement
