"""{{ cookiecutter.description }}

A keyword classifier (hook ``classify``): a request that contains one of the words in
:data:`KEYWORDS` gets that word's intent, with the word as its reason. Any other request is
left to the next classifier (the default rules), because the hook returns None for it.

An installed plugin runs before the defaults (they are ``trylast``), so this one decides
first. Decision hooks are plain functions: an ``async def`` would be refused.
"""

from __future__ import annotations

import re

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.models import Intent, IntentResult, Request

__all__ = ["CONFIDENCE", "KEYWORDS", "SOURCE", "classify"]

KEYWORDS: dict[str, Intent] = {
    "audit": "analyze",
    "benchmark": "analyze",
    "deploy": "manage",
    "rollback": "manage",
    "scaffold": "write",
    "grep": "search",
}
"""Word (lowercase) to intent: one of read, write, search, analyze, manage."""

SOURCE = "{{ cookiecutter.project_slug }}"
"""Named in each reason, so a reader of ``analyze`` sees which plugin decided."""

CONFIDENCE = 0.9
"""How sure a keyword makes this classifier, in [0, 1]."""

_WORDS = re.compile(r"[a-z]+")


@hookimpl
def classify(request: Request) -> IntentResult | None:
    """The intent of the first keyword in the request; None lets another plugin decide."""
    for word in _WORDS.findall(request.text.lower()):
        intent = KEYWORDS.get(word)
        if intent is not None:
            return IntentResult(
                intent=intent,
                confidence=CONFIDENCE,
                reasons=[f"keyword {word!r} ({SOURCE})"],
            )
    return None
