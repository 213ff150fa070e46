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
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from .features import BAGS, Parts, gram_code


class Prediction(NamedTuple):
    """One question's decision (a named tuple: made at every request, cheaply)."""

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

MIN_PUSH = 0.005
"""A reason's least push: anything smaller would read ``(+0.00)``."""

Pushed = tuple[float, str]
"""A readable feature's push towards one class (its weight there minus its mean weight for
that question), then its name: how the reasons of a decision are chosen and shown."""

Explained = tuple[Pushed | None, ...]
"""A readable feature's :data:`Pushed` for every class of both questions (the intents,
then the levels), None for a class it pushes less than :data:`MIN_PUSH`."""

FIXED = 10_000
"""Weights are stored with four decimals (:meth:`LinearModel.save`): as integers of
1/10,000 their sums are exact."""
FIELD = 32
"""Bits per class in a packed row, for weights up to :data:`MAX_WEIGHT`: room for the sum
of the features a request can have (fewer than :data:`MAX_FEATURES`); larger weights get
64 bits (:func:`field_for`)."""
MAX_FEATURES = 1 << 10
"""More features than a request can have (see :mod:`.features`: at most 80 of each kind
of word feature, 117 4-grams and a few dozen named ones)."""
MAX_WEIGHT = (1 << (FIELD - 1)) / MAX_FEATURES / FIXED
"""The largest weight (in absolute value) a 32-bit field holds."""
_WORDS: dict[tuple[int, int], tuple[int, int, struct.Struct]] = {}


def field_for(rows: Iterable[Sequence[float]]) -> int:
    """The bits per class (32 or 64) that hold the sums of these weights."""
    largest = max((abs(w) for row in rows for w in row), default=0.0)
    return FIELD if largest <= MAX_WEIGHT else 64


def pack(values: Sequence[float], field: int = FIELD) -> int:
    """One integer holding every class's weight, ``field`` bits apiece (signed fields).

    Adding packed rows adds every class's weights at once: a decision's class scores are
    one ``sum`` over its features' rows, instead of one sum per class.
    """
    total = 0
    for k, value in enumerate(values):
        total += round(value * FIXED) << (field * k)
    return total


def unpack(total: int, count: int, field: int = FIELD) -> list[float]:
    """The ``count`` class sums held in a sum of packed rows.

    Adding half a field's range to every field makes each one non-negative (no borrow
    between fields), so all of them are read at once, as unsigned integers of the bytes.
    """
    known = _WORDS.get((count, field))
    if known is None:
        half = 1 << (field - 1)
        offset = sum(half << (field * k) for k in range(count))
        layout = struct.Struct(f"<{count}{'I' if field == 32 else 'Q'}")
        known = _WORDS[count, field] = (half, offset, layout)
    half, offset, layout = known
    raw = (total + offset).to_bytes(field // 8 * count, "little")
    return [(value - half) / FIXED for value in layout.unpack(raw)]


class JointModel:
    """The intent model and the complexity model in one table: one lookup per feature.

    Each feature's weights for every intent, then for every level, are packed into one
    integer (:func:`pack`), so the scores of both questions are one sum. Features of the
    kinds a request has many of (:data:`~.features.BAGS`: words, stems, word pairs, ask
    words, character 4-grams) are kept in a table per kind, by their bare value (a 4-gram
    by its :func:`~.features.gram_code`), so a request's features are looked up without
    building their names. For the reasons, the readable features that push some class
    have a row of their pushes (:data:`Explained`, by the same keys): one lookup per
    feature finds the few that count, for both questions. The complexity model also
    weighs the predicted intent (feature ``intent:<name>``).
    """

    def __init__(self, intent: LinearModel, complexity: LinearModel):
        self._models: tuple[LinearModel, LinearModel] | Callable[[], tuple[LinearModel, ...]]
        self._models = (intent, complexity)
        self._intent_classes = list(intent.classes)
        self._level_classes = list(complexity.classes)
        ni, nc = len(intent.classes), len(complexity.classes)
        self._ni, self._nc = ni, nc
        self._level_by_intent = {
            f: list(w) for f, w in complexity.weights.items() if f.startswith("intent:")
        }
        rows: dict[str, list[float]] = {}
        for feature, row in intent.weights.items():
            rows[feature] = [*row, *([0.0] * nc)]
        for feature, row in complexity.weights.items():
            rows.setdefault(feature, [0.0] * (ni + nc))[ni:] = row
        self._field = field_for(rows.values())
        self._packed: dict[str, int] = {}
        self._bag_packed: tuple[dict[Any, int], ...] = tuple({} for _ in BAGS)
        self._explained: dict[str, Explained] = {}
        self._bag_explained: tuple[dict[Any, Explained], ...] = tuple({} for _ in BAGS)
        bag_of = {kind: i for i, kind in enumerate(BAGS)}
        grams = bag_of["c"]
        for feature, row in rows.items():
            kind, colon, value = feature.partition(":")
            bag = bag_of.get(kind) if colon else None
            key: Any = feature if bag is None else gram_code(value) if bag == grams else value
            packed = self._packed if bag is None else self._bag_packed[bag]
            packed[key] = pack(row, self._field)
            explained = _explained(feature, row, ni)
            if explained is not None:
                table = self._explained if bag is None else self._bag_explained[bag]
                table[key] = explained

    @property
    def intent(self) -> LinearModel:
        """The intent model (its weights read on first use when built from tables)."""
        return self._linear()[0]

    @property
    def complexity(self) -> LinearModel:
        """The complexity model (its weights read on first use when built from tables)."""
        return self._linear()[1]

    def _linear(self) -> tuple[LinearModel, ...]:
        if callable(self._models):
            self._models = tuple(self._models())  # type: ignore[assignment]
        return self._models  # type: ignore[return-value]

    _TABLES_FORMAT = 7

    def tables(self) -> tuple[object, ...]:
        """The lookup tables, for :meth:`from_tables`."""
        return (
            self._TABLES_FORMAT,
            BAGS,
            self._field,
            self._intent_classes,
            self._level_classes,
            self._level_by_intent,
            self._packed,
            self._bag_packed,
            self._explained,
            self._bag_explained,
        )

    @classmethod
    def from_tables(
        cls, tables: Sequence[Any], models: Callable[[], tuple[LinearModel, LinearModel]]
    ) -> JointModel:
        """A model from tables :meth:`tables` returned; ``models`` reads the two linear
        models when they are asked for."""
        if (
            not isinstance(tables, tuple)
            or len(tables) != 10
            or tables[:2] != (cls._TABLES_FORMAT, BAGS)
            or tables[2] not in (32, 64)
        ):
            raise ValueError("tables of another format")
        model = cls.__new__(cls)
        model._models = models
        model._field = tables[2]
        model._intent_classes, model._level_classes, model._level_by_intent = tables[3:6]
        model._packed, model._bag_packed, model._explained, model._bag_explained = tables[6:]
        model._ni, model._nc = len(model._intent_classes), len(model._level_classes)
        return model

    def predict(self, features: Sequence[str], explain: int = 4) -> tuple[Prediction, Prediction]:
        """Both decisions for a list of features (as :func:`~.features.extract` gives)."""
        bag_of = {kind: i for i, kind in enumerate(BAGS)}
        named: list[str] = []
        grams = bag_of["c"]
        bags: tuple[set[Any], ...] = tuple(set() for _ in BAGS)
        for feature in dict.fromkeys(features):
            kind, colon, value = feature.partition(":")
            bag = bag_of.get(kind) if colon else None
            if bag is None:
                named.append(feature)
            else:
                bags[bag].add(gram_code(value) if bag == grams else value)
        return self.predict_parts((named, bags), explain)

    def predict_parts(self, parts: Parts, explain: int = 4) -> tuple[Prediction, Prediction]:
        """Both decisions for the features of a request as
        :func:`~.features.extract_parts` gives them (named features distinct)."""
        named, bags = parts
        ni, nc = self._ni, self._nc
        total = sum(map(self._packed.get, named, repeat(0)))
        for packed, values in zip(self._bag_packed, bags, strict=True):
            total += sum(map(packed.get, values, repeat(0)))
        sums = unpack(total, ni + nc, self._field)
        explained = self._explained_rows(parts)
        intent = _decide_one(self._intent_classes, sums[:ni], 0, explained, explain)
        level_scores = sums[ni:]
        extra = self._level_by_intent.get(f"intent:{intent.label}")
        if extra is not None:
            level_scores = [a + b for a, b in zip(level_scores, extra, strict=True)]
        level = _decide_one(self._level_classes, level_scores, ni, explained, explain)
        return intent, level

    def _explained_rows(self, parts: Parts) -> list[Explained]:
        """The :data:`Explained` rows of a request's features: those that may be reasons."""
        named, bags = parts
        rows = list(filter(None, map(self._explained.get, named)))
        for table, values in zip(self._bag_explained, bags, strict=True):
            if table:
                rows.extend(filter(None, map(table.get, values)))
        return rows


def _explained(feature: str, row: Sequence[float], ni: int) -> Explained | None:
    """A readable feature's push towards each class (:data:`Explained`); None when it is
    never shown (an :data:`UNEXPLAINED` kind, or no push of at least :data:`MIN_PUSH`)."""
    if feature.startswith(UNEXPLAINED):
        return None
    nc = len(row) - ni
    mean_i, mean_c = sum(row[:ni]) / ni, sum(row[ni:]) / nc
    pushes = [*(w - mean_i for w in row[:ni]), *(w - mean_c for w in row[ni:])]
    if max(pushes) < MIN_PUSH:
        return None
    return tuple((push, feature) if push >= MIN_PUSH else None for push in pushes)


def _decide_one(
    classes: Sequence[str],
    scores: Sequence[float],
    offset: int,
    explained: Sequence[Explained],
    explain: int,
) -> Prediction:
    """The decision for one question, whose classes start at column ``offset`` of the
    request's :data:`Explained` rows."""
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    best = list(scores).index(top)
    probabilities = {c: e / total for c, e in zip(classes, exps, strict=True)}
    # The strongest pushes towards the winner (ties: the feature name decides).
    strongest = sorted(filter(None, map(itemgetter(offset + best), explained)), reverse=True)
    reasons = [_reason(feature, push) for push, feature in strongest[:explain]]
    return Prediction(classes[best], probabilities[classes[best]], probabilities, reasons)


@lru_cache(maxsize=65536)
def _reason(feature: str, push: float) -> str:
    """A reason as shown: the feature in words and its push (each feature's pushes are
    fixed by the weights, so the text of each is made once)."""
    return f"{_describe(feature)} ({push:+.2f})"


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
    reasons = [f"{_describe(f)} ({p:+.2f})" for p, f in pushes if p >= MIN_PUSH]
    return Prediction(classes[best], probabilities[classes[best]], probabilities, reasons)


_TEMPLATES = {
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
    "steps": "{} separators or step words",
    "ctx": "context '{}'",
    "ctxsize": "context {} characters",
}


@lru_cache(maxsize=16384)
def _describe(feature: str) -> str:
    """A feature in words, for a reason."""
    kind, _, value = feature.partition(":")
    if kind == "leadobj":
        verb, _, obj = value.partition("/")
        return f"opens with '{verb}' on a{'n' if obj[:1] in 'aeiou' else ''} {obj} object"
    template = _TEMPLATES.get(kind)
    if template is None:
        return feature
    if kind in ("len", "steps", "ctxsize"):  # buckets: "<=5" or ">60"
        value = value.replace("<=", "at most ").replace(">", "more than ")
        if kind == "steps" and value == "at most 0":
            return "one step (no separators or step words)"
    return template.format(value)


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
