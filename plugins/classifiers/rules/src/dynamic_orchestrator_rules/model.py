"""A linear model over readable features: fast to apply, easy to explain, easy to retrain.

Prediction is a sum of learned weights per class followed by a softmax; the reasons are
the features that pushed the winning class up the most. Applying it needs only the
standard library. Training (:func:`train`) is multinomial logistic regression with L2
regularisation, fitted by gradient descent with numpy (``pip install
'dynamic-orchestrator-rules[train]'``).
"""

from __future__ import annotations

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
        n = len(self.classes)
        scores = [0.0] * n
        known = []
        for feature in features:
            row = self.weights.get(feature)
            if row is None:
                continue
            known.append((feature, row))
            for i in range(n):
                scores[i] += row[i]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        probabilities = {c: e / total for c, e in zip(self.classes, exps, strict=True)}
        best = max(range(n), key=lambda i: scores[i])
        # A feature's push towards the winner: its weight there minus its mean weight.
        pushes = sorted(
            ((row[best] - sum(row) / n, feature) for feature, row in known if feature != "bias"),
            reverse=True,
        )
        reasons = [f"{_describe(f)} ({p:+.2f})" for p, f in pushes[:explain] if p > 0]
        return Prediction(
            self.classes[best], probabilities[self.classes[best]], probabilities, reasons
        )


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
    l2: float = 1.0,
    min_count: int = 2,
    epochs: int = 400,
    learning_rate: float = 0.1,
    seed: int = 0,
) -> LinearModel:
    """Fit softmax regression on (features, label) rows; features seen < min_count dropped."""
    import numpy as np

    counts = Counter(f for features, _ in rows for f in set(features))
    vocab = sorted(f for f, c in counts.items() if c >= min_count or f == "bias")
    index = {f: i for i, f in enumerate(vocab)}
    x = np.zeros((len(rows), len(vocab)), dtype=np.float32)
    for r, (features, _) in enumerate(rows):
        for f in features:
            if f in index:
                x[r, index[f]] = 1.0
    label_index = {c: i for i, c in enumerate(classes)}
    y = np.zeros((len(rows), len(classes)), dtype=np.float32)
    for r, (_, label) in enumerate(rows):
        y[r, label_index[label]] = 1.0
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.01, (len(vocab), len(classes))).astype(np.float32)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    reg = np.full((len(vocab), 1), l2 / len(rows), dtype=np.float32)
    if "bias" in index:
        reg[index["bias"]] = 0.0
    for step in range(1, epochs + 1):
        logits = x @ w
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = x.T @ (p - y) / len(rows) + reg * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= learning_rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    weights = {f: [float(a) for a in w[i]] for f, i in index.items() if np.abs(w[i]).max() > 1e-3}
    meta = {"examples": len(rows), "features": len(weights), "l2": l2, "min_count": min_count}
    return LinearModel(classes, weights, meta)
