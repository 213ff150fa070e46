"""Token estimates (labelled as estimates wherever they are shown).

No tokenizer is downloaded at run time, so counts before a call are estimates: about one
token per four characters of English or code, never fewer than one per word. Provider-
reported usage replaces them after a call (and is marked measured).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import IntentInfo, ToolSpec

MESSAGE_OVERHEAD = 4
"""Tokens a chat API adds per message (role markers and separators)."""

DEFAULT_OUTPUT_TOKENS = 500
"""Expected answer length when the intent's plugin gave none for the complexity level."""


def estimate_tokens(text: str) -> int:
    """Estimated tokens in ``text``."""
    if not text:
        return 0
    by_chars = (len(text) + 3) // 4
    words = text.count(" ") + text.count("\n") + 1
    return max(by_chars, words)


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), default=str)
"""``json.dumps(value, separators=(",", ":"), default=str)``, without building an encoder
at every call (``json.dumps`` does, whenever it is given options)."""


def estimate_json_tokens(value: Any) -> int:
    """Estimated tokens of a JSON value serialised compactly."""
    if value in (None, {}, []):
        return 0
    return estimate_tokens(_COMPACT_JSON.encode(value))


def estimate_tool_tokens(tool: ToolSpec) -> int:
    """Estimated tokens of one tool definition as sent to a model (name, description, schema)."""
    return estimate_json_tokens(
        {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
    )


def estimate_output_tokens(
    intent: IntentInfo | None, complexity: str, cap: int | None = None
) -> int:
    """Expected answer length for a request of this kind, capped by ``max_tokens``.

    The figure per complexity level is the intent's own (``IntentInfo.output_tokens``,
    given by the plugin that registered it), else :data:`DEFAULT_OUTPUT_TOKENS`.
    """
    expected = (intent.output_tokens if intent else {}).get(complexity, DEFAULT_OUTPUT_TOKENS)
    return min(expected, cap) if cap else expected
