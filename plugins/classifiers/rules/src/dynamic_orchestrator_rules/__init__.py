"""The default classifier: intent and complexity from readable rules with learned weights.

Each request is reduced to readable features (:mod:`.features`: cue patterns, the
opening verb and its object, words, length, steps, context keys). A linear model per
question (:mod:`.model`) weighs them; the reasons of a decision are the features that
pushed it most, with their weights. The shipped weights were learned from the labelled
requests in the repository's ``tests/data/requests/train``; retrain on your own with
``dynamic-orchestrator classifier train`` and point ``plugins.settings.rules.weights`` at
the folder it writes. Both hooks are ``trylast``, so any installed classifier wins.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import click
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.models import ComplexityResult, IntentResult, Request

from .features import extract
from .model import LinearModel

__all__ = ["classify", "load_models", "register_commands", "score_complexity", "startup"]

WEIGHTS = Path(__file__).parent / "weights"
_LEVEL_SCORE = {"simple": 0.0, "moderate": 0.5, "complex": 1.0}


@cache
def load_models(folder: str | None = None) -> tuple[LinearModel, LinearModel]:
    """The intent and complexity models from ``folder`` (default: the shipped weights)."""
    base = Path(folder) if folder else WEIGHTS
    return LinearModel.load(base / "intent.json"), LinearModel.load(base / "complexity.json")


_settings: dict[str, str | None] = {"weights": None}


_last: list[tuple[Request, list[str]]] = []


def _request_features(request: Request) -> list[str]:
    """Features of a request, computed once for both hooks (the last request is kept)."""
    if _last and _last[0][0] is request:
        return _last[0][1]
    features = extract(request.text, request.context)
    _last[:] = [(request, features)]
    return features


@hookimpl
def startup(orchestrator: Orchestrator) -> None:
    """Use the weights folder named by ``plugins.settings.rules.weights`` (process-wide)."""
    folder = orchestrator.config.plugin_settings("rules").get("weights")
    if folder is not None and not (Path(folder) / "intent.json").is_file():
        raise ValueError(f"plugins.settings.rules.weights: no intent.json in {folder}")
    _settings["weights"] = folder


@hookimpl(trylast=True)
def classify(request: Request) -> IntentResult:
    """Intent with its probability as confidence and the features that decided it."""
    intent_model, _ = load_models(_settings["weights"])
    prediction = intent_model.predict(_request_features(request))
    return IntentResult(
        intent=prediction.label,  # type: ignore[arg-type]
        confidence=round(prediction.confidence, 4),
        reasons=prediction.reasons,
    )


@hookimpl(trylast=True)
def score_complexity(request: Request, intent: IntentResult) -> ComplexityResult:
    """Level by the most probable class; score = expected level on a 0 / 0.5 / 1 scale."""
    _, complexity_model = load_models(_settings["weights"])
    features = [*_request_features(request), f"intent:{intent.intent}"]
    prediction = complexity_model.predict(features)
    score = sum(_LEVEL_SCORE[c] * p for c, p in prediction.probabilities.items())
    return ComplexityResult(
        level=prediction.label,  # type: ignore[arg-type]
        score=round(score, 4),
        reasons=prediction.reasons,
    )


@hookimpl
def register_commands(register: Callable[[click.Command], None]) -> None:
    """``dynamic-orchestrator classifier train``: learn weights from labelled requests."""
    from .commands import classifier

    register(classifier)
