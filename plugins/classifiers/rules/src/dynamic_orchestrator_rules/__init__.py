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
from typing import TYPE_CHECKING

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.models import ComplexityResult, IntentInfo, IntentResult, Request
from pydantic import BaseModel, ConfigDict, Field

from .features import extract, extract_parts
from .intents import INTENTS
from .model import JointModel, LinearModel, Prediction

if TYPE_CHECKING:
    import click
    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.contract import Host

__all__ = [
    "Classifier",
    "RulesSettings",
    "classifier",
    "classify",
    "load_models",
    "plugin_settings",
    "register_commands",
    "register_intents",
    "score_complexity",
    "startup",
]

NAME = "rules"
WEIGHTS = Path(__file__).parent / "weights"
_LEVEL_SCORE = {"simple": 0.0, "moderate": 0.5, "complex": 1.0}


@cache
def load_models(folder: str | None = None) -> JointModel:
    """The intent and complexity models from ``folder`` (default: the shipped weights).

    Building the lookup tables from the weights takes a noticeable part of a second, so
    they are kept in the user's cache folder (:mod:`.table_cache`), keyed by the weight
    files and the Python version; a cache that cannot be read or written is rebuilt.
    """
    from .table_cache import cached_tables, store_tables

    base = Path(folder) if folder else WEIGHTS
    files = (base / "intent.json", base / "complexity.json")

    def linear() -> tuple[LinearModel, LinearModel]:
        return LinearModel.load(files[0]), LinearModel.load(files[1])

    tables = cached_tables(files)
    if tables is not None:
        try:
            return JointModel.from_tables(tables, linear)
        except (ValueError, TypeError):
            pass
    model = JointModel(*linear())
    store_tables(files, model.tables())
    return model


class Classifier:
    """One orchestrator's classifier: its weights folder and its last request's decisions."""

    def __init__(self, weights: str | None = None) -> None:
        self.weights = weights
        self.last: tuple[Request, tuple[Prediction, Prediction]] | None = None

    @property
    def models(self) -> JointModel:
        return load_models(self.weights)

    def predict(self, request: Request) -> tuple[Prediction, Prediction]:
        """Both decisions for a request, computed once for the two hooks (the last is kept)."""
        if self.last is not None and self.last[0] is request:
            return self.last[1]
        result = self.models.predict_parts(extract_parts(request.text, request.context))
        self.last = (request, result)
        return result


def classifier(host: Host | None) -> Classifier:
    """The orchestrator's classifier, made from its ``plugins.rules`` on first use (the
    shipped weights for a call with no orchestrator behind it)."""
    if host is None:
        return Classifier()
    return host.plugin_state(
        NAME, lambda: Classifier(host.config.plugin_settings(NAME, RulesSettings).weights)
    )


class RulesSettings(BaseModel):
    """The rules classifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: str | None = Field(
        default=None, description="Folder of weights from 'classifier train'; none: shipped."
    )


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.rules`` (or ``plugins.settings.rules``): the weights folder."""
    return PluginSettings(NAME, RulesSettings)


@hookimpl
def startup(orchestrator: Host) -> None:
    """Check the weights folder named by ``plugins.rules.weights``: a bad one fails at once."""
    folder = classifier(orchestrator).weights
    if folder is not None and not (Path(folder) / "intent.json").is_file():
        raise ValueError(f"plugins.settings.rules.weights: no intent.json in {folder}")


@hookimpl(trylast=True)
def register_intents(register: Callable[[IntentInfo], None], config: Config) -> None:
    """The five intents this classifier answers with, with its output-token estimates."""
    for intent in INTENTS:
        register(intent)


@hookimpl(trylast=True)
def classify(request: Request, host: Host) -> IntentResult:
    """Intent with its probability as confidence and the features that decided it."""
    prediction, _ = classifier(host).predict(request)
    return IntentResult(
        intent=prediction.label,
        confidence=round(prediction.confidence, 4),
        reasons=prediction.reasons,
    )


@hookimpl(trylast=True)
def score_complexity(request: Request, intent: IntentResult, host: Host) -> ComplexityResult:
    """Level by the most probable class; score = expected level on a 0 / 0.5 / 1 scale."""
    state = classifier(host)
    predicted_intent, prediction = state.predict(request)
    if predicted_intent.label != intent.intent:  # another plugin decided the intent
        complexity_model = state.models.complexity
        features = [*extract(request.text, request.context), f"intent:{intent.intent}"]
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
