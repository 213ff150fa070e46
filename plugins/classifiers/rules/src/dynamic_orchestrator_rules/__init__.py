"""The default classifier: intent and complexity by explainable rules.

Both hooks are ``trylast``, so any installed classifier takes precedence.
"""

from __future__ import annotations

import json

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.models import ComplexityResult, IntentResult, Request

from .complexity import RulesScorer
from .intent import RulesClassifier

__all__ = ["RulesClassifier", "RulesScorer", "classify", "score_complexity"]

_classifier = RulesClassifier()
_scorer = RulesScorer()


def _context_text(request: Request) -> str:
    """Short context values that read like part of the request (an error, a symptom)."""
    parts = [
        v for k, v in request.context.items() if isinstance(v, str) and k in ("error", "symptom")
    ]
    return " ".join(parts)


@hookimpl(trylast=True)
def classify(request: Request) -> IntentResult:
    """Intent from weighted cues and the opening verb, with the cues as reasons."""
    extra = _context_text(request)
    text = f"{request.text} {extra}" if extra and len(request.text) < 40 else request.text
    result = _classifier.classify(text)
    return IntentResult(
        intent=result.intent,  # type: ignore[arg-type]
        confidence=result.confidence,
        reasons=result.reasons,
    )


@hookimpl(trylast=True)
def score_complexity(request: Request, intent: IntentResult) -> ComplexityResult:
    """Complexity from scope, size, steps and kind of work, with each feature as a reason."""
    context_chars = len(json.dumps(request.context, default=str)) if request.context else 0
    result = _scorer.score(request.text, intent.intent, context_chars)
    return ComplexityResult(
        level=result.level,  # type: ignore[arg-type]
        score=result.score,
        reasons=result.reasons,
    )
