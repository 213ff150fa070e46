"""The intents this classifier answers with, and how long an answer of each usually is.

The five are the design's defaults, which the host always knows; registering them gives
them this classifier's output-token estimates, the figures a model's cost is estimated on
before it runs. A classifier of your own registers its intents the same way.
"""

from __future__ import annotations

from dynamic_orchestrator.models import IntentInfo

__all__ = ["INTENTS", "OUTPUT_TOKENS"]

OUTPUT_TOKENS: dict[str, dict[str, int]] = {
    "read": {"simple": 150, "moderate": 400, "complex": 900},
    "write": {"simple": 300, "moderate": 900, "complex": 2000},
    "search": {"simple": 150, "moderate": 350, "complex": 800},
    "analyze": {"simple": 300, "moderate": 800, "complex": 1600},
    "manage": {"simple": 150, "moderate": 400, "complex": 1000},
}
"""Expected output tokens by intent and complexity level (estimates)."""

_DESCRIPTIONS = {
    "read": "explain or summarise given material",
    "write": "create or change code or text",
    "search": "locate something",
    "analyze": "assess, review or debug",
    "manage": "operate: deploy, configure, run commands",
}

INTENTS: tuple[IntentInfo, ...] = tuple(
    IntentInfo(name, description=_DESCRIPTIONS[name], output_tokens=tokens)
    for name, tokens in OUTPUT_TOKENS.items()
)
