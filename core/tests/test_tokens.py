"""Token estimates of JSON values: the compact serialisation, non-JSON values as text."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from dynamic_orchestrator.tokens import estimate_json_tokens, estimate_tokens


@pytest.mark.parametrize(
    "value",
    [
        {"framework": "FastAPI", "files": ["a.py", "b.py"], "depth": 3, "ok": True},
        {"nested": {"list": [1, 2.5, None, "x y z"]}, "unicode": "naïve — café"},
        {"when": datetime.date(2026, 1, 2), "path": "src/app/handlers.py"},
        ["one", "two"],
        "a plain string",
    ],
)
def test_json_tokens_are_those_of_the_compact_serialisation(value: Any) -> None:
    compact = json.dumps(value, separators=(",", ":"), default=str)
    assert estimate_json_tokens(value) == estimate_tokens(compact)


def test_empty_values_have_no_tokens() -> None:
    assert [estimate_json_tokens(v) for v in (None, {}, [])] == [0, 0, 0]
