"""Token estimates (labelled as estimates wherever they are shown).

No tokenizer is downloaded at run time, so counts before a call are estimates: about one
token per four characters of English or code, never fewer than one per word. Provider-
reported usage replaces them after a call (and is marked measured).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import ToolSpec

MESSAGE_OVERHEAD = 4
"""Tokens a chat API adds per message (role markers and separators)."""

# Expected output tokens by intent and complexity, for cost estimates before a call.
OUTPUT_TOKENS: dict[str, dict[str, int]] = {
    "read": {"simple": 150, "moderate": 400, "complex": 900},
    "write": {"simple": 300, "moderate": 900, "complex": 2000},
    "search": {"simple": 150, "moderate": 350, "complex": 800},
    "analyze": {"simple": 300, "moderate": 800, "complex": 1600},
    "manage": {"simple": 150, "moderate": 400, "complex": 1000},
}


def estimate_tokens(text: str) -> int:
    """Estimated tokens in ``text``."""
    if not text:
        return 0
    by_chars = (len(text) + 3) // 4
    words = text.count(" ") + text.count("\n") + 1
    return max(by_chars, words)


def estimate_json_tokens(value: Any) -> int:
    """Estimated tokens of a JSON value serialised compactly."""
    if value in (None, {}, []):
        return 0
    return estimate_tokens(json.dumps(value, separators=(",", ":"), default=str))


def estimate_tool_tokens(tool: ToolSpec) -> int:
    """Estimated tokens of one tool definition as sent to a model (name, description, schema)."""
    return estimate_json_tokens(
        {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
    )


def estimate_output_tokens(intent: str, complexity: str, cap: int | None = None) -> int:
    """Expected answer length for a request of this kind, capped by ``max_tokens``."""
    expected = OUTPUT_TOKENS.get(intent, {}).get(complexity, 500)
    return min(expected, cap) if cap else expected
