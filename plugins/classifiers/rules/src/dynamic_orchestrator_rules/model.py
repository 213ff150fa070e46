"""A linear model over readable features: fast to apply, easy to explain, easy to retrain.

Prediction is a sum of learned weights per class followed by a softmax; the reasons are
the features that pushed the winning class up the most. Applying it needs only the
standard library. Training (:func:`train`) is multinomial logistic regression with L2
regularisation, fitted by scikit-learn (``pip install 'dynamic-orchestrator-rules[train]'``).
"""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]
    reasons: list[str]


class LinearModel:
    """Weights per feature per class, loaded from a JSON file."""

    def __init__(
        self, classes: Sequence[str], weights: dict[str, list[float]], meta: dict[str, Any]
    ):
        self.classes = list(classes)
        self.weights = weights
        self.meta = meta

    @classmethod
    def load(cls, path: str | Path) -> LinearModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["classes"], data["weights"], data.get("meta", {}))

    def save(self, path: str | Path) -> None:
        rounded = {f: [round(x, 4) for x in w] for f, w in sorted(self.weights.items())}
        Path(path).write_text(
            json.dumps(
                {"classes": self.classes, "meta": self.meta, "weights": rounded},
                separators=(",", ":"),
            ),
            encoding="utf-8",
        )

    def predict(self, features: Sequence[str], explain: int = 4) -> Prediction:
        weights = self.weights
        known = [(f, weights[f]) for f in features if f in weights]
        if not known:
            return _decide(self.classes, [0.0] * len(self.classes), [], explain)
        scores = [sum(column) for column in zip(*(row for _, row in known), strict=True)]
        return _decide(self.classes, scores, known, explain)


UNEXPLAINED = ("c:", "bias")
"""Features that count in a decision but are not shown as its reasons."""


class JointModel:
    """The intent model and the complexity model in one table: one lookup per feature.

    Each row holds the feature's weights for every intent, then for every level, then its
    mean weight for each of the two questions (for the reasons). The complexity model also
    weighs the predicted intent (feature ``intent:<name>``).
    """

    def __init__(self, intent: LinearModel, complexity: LinearModel):
        self.intent = intent
        self.complexity = complexity
        ni, nc = len(intent.classes), len(complexity.classes)
        self._ni, self._nc = ni, nc
        rows: dict[str, list[float]] = {}
        for feature, row in intent.weights.items():
            rows[feature] = [*row, *([0.0] * nc)]
        for feature, row in complexity.weights.items():
            rows.setdefault(feature, [0.0] * (ni + nc))[ni:] = row
        self._table = {
            feature: (*row, sum(row[:ni]) / ni, sum(row[ni:]) / nc) for feature, row in rows.items()
        }

    def predict(self, features: Sequence[str], explain: int = 4) -> tuple[Prediction, Prediction]:
        table, ni, nc = self._table, self._ni, self._nc
        get = table.get
        rows = [row for row in map(get, features) if row is not None]
        sums = [sum(column) for column in zip(*rows, strict=True)] or [0.0] * (ni + nc + 2)
        # Reasons come from the readable features only: letter n-grams and the bias weigh
        # in the decision but explain nothing to a person.
        readable = [
            (f, row)
            for f in features
            if not f.startswith(UNEXPLAINED) and (row := get(f)) is not None
        ]
        intent = _explained(self.intent.classes, sums[:ni], readable, 0, ni + nc, explain)
        level_scores = sums[ni : ni + nc]
        extra = self.complexity.weights.get(f"intent:{intent.label}")
        if extra is not None:
            level_scores = [a + b for a, b in zip(level_scores, extra, strict=True)]
        level = _explained(
            self.complexity.classes, level_scores, readable, ni, ni + nc + 1, explain
        )
        return intent, level


def _explained(
    classes: Sequence[str],
    scores: Sequence[float],
    readable: Sequence[tuple[str, Sequence[float]]],
    offset: int,
    mean_at: int,
    explain: int,
) -> Prediction:
    """The decision for one question, whose weights start at ``offset`` in each row and
    whose mean weight is at ``mean_at``."""
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    best = list(scores).index(top)
    probabilities = {c: e / total for c, e in zip(classes, exps, strict=True)}
    column = offset + best
    # A feature's push towards the winner: its weight there minus its mean weight.
    pushes = heapq.nlargest(explain, ((row[column] - row[mean_at], f) for f, row in readable))
    reasons = [f"{_describe(f)} ({p:+.2f})" for p, f in pushes if p > 0]
    return Prediction(classes[best], probabilities[classes[best]], probabilities, reasons)


def _decide(
    classes: Sequence[str],
    scores: Sequence[float],
    known: Sequence[tuple[str, Sequence[float]]],
    explain: int,
) -> Prediction:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    best = list(scores).index(top)
    probabilities = {c: e / total for c, e in zip(classes, exps, strict=True)}
    share = 1.0 / len(classes)
    # A feature's push towards the winner: its weight there minus its mean weight.
    pushes = heapq.nlargest(
        explain,
        ((row[best] - sum(row) * share, f) for f, row in known if not f.startswith(UNEXPLAINED)),
    )
    reasons = [f"{_describe(f)} ({p:+.2f})" for p, f in pushes if p > 0]
    return Prediction(classes[best], probabilities[classes[best]], probabilities, reasons)


def _describe(feature: str) -> str:
    kind, _, value = feature.partition(":")
    if kind == "leadobj":
        verb, _, obj = value.partition("/")
        return f"opens with '{verb}' on a{'n' if obj[:1] in 'aeiou' else ''} {obj} object"
    template = {
        "cue": "cue '{}'",
        "w": "word '{}'",
        "b": "words '{}'",
        "lead": "opens with '{}'",
        "lead2": "opens with '{}'",
        "s": "word stem '{}'",
        "c": "letters '{}'",
        "alead": "the ask opens with '{}'",
        "alead2": "the ask opens with '{}'",
        "aw": "word '{}' in the ask",
        "len": "{} words",
        "steps": "{} parts",
        "ctx": "context '{}'",
        "ctxsize": "context size {}",
    }.get(kind)
    return template.format(value) if template else feature


def train(
    rows: Sequence[tuple[list[str], str]],
    classes: Sequence[str],
    *,
    c: float = 1.0,
    min_count: int = 2,
) -> LinearModel:
    """Fit multinomial logistic regression (scikit-learn) on (features, label) rows.

    Features seen in fewer than ``min_count`` rows are dropped; ``c`` is the inverse of the
    L2 regularisation strength.
    """
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    counts = Counter(f for features, _ in rows for f in set(features))
    vocab = sorted(f for f, n in counts.items() if n >= min_count and f != "bias")
    index = {f: i for i, f in enumerate(vocab)}
    indptr, indices = [0], []
    for features, _ in rows:
        indices.extend(sorted({index[f] for f in features if f in index}))
        indptr.append(len(indices))
    x = csr_matrix(([1.0] * len(indices), indices, indptr), shape=(len(rows), len(vocab)))
    labels = [label for _, label in rows]
    present = [cls for cls in classes if cls in set(labels)]
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(x, labels)
    fitted = list(model.classes_)
    coef = model.coef_ if len(fitted) > 2 else [-model.coef_[0] / 2, model.coef_[0] / 2]
    intercept = (
        model.intercept_ if len(fitted) > 2 else [-model.intercept_[0] / 2, model.intercept_[0] / 2]
    )
    order = [fitted.index(cls) if cls in fitted else None for cls in classes]

    def row(values: Any) -> list[float]:
        return [float(values[i]) if i is not None else -30.0 for i in order]

    weights = {"bias": row(intercept)}
    for feature, j in index.items():
        column = [coef[k][j] for k in range(len(fitted))]
        if max(abs(v) for v in column) > 1e-3:
            weights[feature] = [float(column[i]) if i is not None else 0.0 for i in order]
    meta = {
        "examples": len(rows),
        "features": len(weights),
        "c": c,
        "min_count": min_count,
        "classes_seen": present,
    }
    return LinearModel(classes, weights, meta)
