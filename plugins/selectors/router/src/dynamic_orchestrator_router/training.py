"""Training a router from an outcome table (scikit-learn; imported only here).

Per model: a logistic regression on the prompts' TF-IDF terms predicts success (a quality
in [0, 1] counts as that fraction of a success), and a ridge regression on the same terms
plus the prompt's length predicts its cost. A model whose outcomes are all alike gets a
constant (smoothed) probability. Nothing is tuned on held-out data: the settings are
:class:`TrainOptions`' defaults (scikit-learn's own ``C=1`` for the classifier) unless
the caller changes them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from dynamic_orchestrator.tokens import estimate_tokens

from .features import Terms, find_templates
from .model import Router
from .outcomes import OutcomeTable


@dataclass(frozen=True)
class TrainOptions:
    """How a router is trained; stored in the router file so ``eval`` can retrain alike."""

    c: float = 1.0
    """Inverse L2 strength of the success classifiers (scikit-learn's default)."""
    min_df: int = 2
    """A term must occur in this many training prompts to be used."""
    ngram_max: int = 2
    template_share: float = 0.01
    """A block found in this share of prompts (and at least 3) is part of the template."""
    cost_alpha: float = 1.0
    """L2 strength of the cost regressions."""
    max_features: int = 200_000

    @classmethod
    def from_meta(cls, data: dict[str, Any]) -> TrainOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _vectorize(prompts: list[str], terms: Terms, options: TrainOptions) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    min_df = options.min_df
    while True:
        vectorizer = TfidfVectorizer(
            analyzer=terms,
            min_df=min_df,
            sublinear_tf=True,
            dtype=np.float32,
            max_features=options.max_features,
        )
        try:
            return vectorizer, vectorizer.fit_transform(prompts)
        except ValueError:  # empty vocabulary: too few prompts for min_df
            if min_df == 1:
                raise
            min_df = 1


def _success_model(x: Any, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Weights and intercept of P(success) for one model; y in [0, 1]."""
    n_features = x.shape[1]
    positives = float(y.sum())
    if np.all(y == y[0]) or len(y) < 2:
        p = (positives + 0.5) / (len(y) + 1.0)
        return np.zeros(n_features), math.log(p / (1 - p))
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    fractional = (y > 0) & (y < 1)
    if fractional.any():
        # a quality q counts as q of a success and 1 - q of a failure
        x = sparse.vstack([x, x[fractional]]).tocsr()
        labels = np.concatenate([(y > 0).astype(int), np.zeros(int(fractional.sum()), int)])
        weights = np.concatenate([np.where(fractional, y, 1.0), 1.0 - y[fractional]])
    else:
        labels, weights = y.astype(int), np.ones(len(y))
    classifier = LogisticRegression(C=c, max_iter=2000)
    classifier.fit(x, labels, sample_weight=weights)
    return classifier.coef_[0], float(classifier.intercept_[0])


def _cost_model(x: Any, ktokens: np.ndarray, cost: np.ndarray, alpha: float) -> tuple[Any, ...]:
    """Weights, per-1000-token slope and intercept (micro-USD) of one model's cost."""
    n_features = x.shape[1]
    micro = cost * 1e6
    if len(micro) < 3 or np.allclose(micro, micro[0]):
        return np.zeros(n_features), 0.0, float(micro.mean()) if len(micro) else 0.0
    from scipy import sparse
    from sklearn.linear_model import Ridge

    design = sparse.hstack([x, sparse.csr_matrix(ktokens[:, None])]).tocsr()
    regression = Ridge(alpha=alpha)
    regression.fit(design, micro)
    coef = regression.coef_
    return coef[:-1], float(coef[-1]), float(regression.intercept_)


def train(table: OutcomeTable, options: TrainOptions | None = None) -> Router:
    """Fit a router on every row of ``table`` (missing outcomes are skipped per model)."""
    options = options or TrainOptions()
    if len(table) < 2:
        raise ValueError("need at least 2 prompts to train a router")
    templates = find_templates(table.prompts, options.template_share)
    terms = Terms(templates, options.ngram_max)
    vectorizer, x = _vectorize(table.prompts, terms, options)
    vocabulary = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
    size, k = len(vocabulary), len(table.models)
    ktokens = np.array([estimate_tokens(p) / 1000.0 for p in table.prompts])
    quality_coef = np.zeros((size, k), dtype=np.float32)
    quality_intercept = np.zeros(k)
    cost_coef = np.zeros((size, k), dtype=np.float32)
    cost_per_ktok = np.zeros(k)
    cost_intercept = np.zeros(k)
    floor = np.zeros(k)
    ceiling = np.zeros(k)
    stats: dict[str, dict[str, float]] = {}
    for j, model in enumerate(table.models):
        seen = ~np.isnan(table.success[:, j])
        rows = np.flatnonzero(seen)
        if len(rows) == 0:
            raise ValueError(f"model {model!r} has no recorded outcome")
        coef, intercept = _success_model(x[rows], table.success[rows, j], options.c)
        quality_coef[:, j], quality_intercept[j] = coef, intercept
        priced = np.flatnonzero(seen & ~np.isnan(table.cost[:, j]))
        costs = table.cost[priced, j]
        c_coef, c_slope, c_intercept = _cost_model(
            x[priced], ktokens[priced], costs, options.cost_alpha
        )
        cost_coef[:, j], cost_per_ktok[j], cost_intercept[j] = c_coef, c_slope, c_intercept
        floor[j] = float(costs.min()) if len(costs) else 0.0
        ceiling[j] = float(costs.max()) if len(costs) else 0.0
        stats[model] = {
            "outcomes": len(rows),
            "mean_success": float(table.success[rows, j].mean()),
            "mean_cost_usd": float(costs.mean()) if len(costs) else 0.0,
        }
    meta: dict[str, Any] = {
        "trained_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "prompts": len(table),
        "files": list(table.sources),
        "cost_estimated": table.cost_estimated,
        "notes": list(table.notes),
        "options": asdict(options),
        "models": stats,
    }
    router = Router(
        models=list(table.models),
        terms=terms,
        vocabulary=vocabulary,
        idf=vectorizer.idf_.astype(np.float64),
        quality_coef=quality_coef,
        quality_intercept=quality_intercept,
        cost_coef=cost_coef,
        cost_per_ktok=cost_per_ktok,
        cost_intercept=cost_intercept,
        cost_floor=floor,
        cost_ceiling=ceiling,
        meta=meta,
    )
    router.set_defaults(**default_knobs(stats))
    return router


def default_knobs(stats: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Knobs before any calibration.

    ``willingness_to_pay`` is the price at which the most accurate model's extra success
    over the cheapest model is exactly worth its extra cost on average, so the router
    pays for it where it predicts more than the average gain. ``target`` is 95% of the
    most accurate model's mean success.
    """
    best = max(stats, key=lambda m: stats[m]["mean_success"])
    cheapest = min(stats, key=lambda m: stats[m]["mean_cost_usd"])
    gain = stats[best]["mean_success"] - stats[cheapest]["mean_success"]
    extra = stats[best]["mean_cost_usd"] - stats[cheapest]["mean_cost_usd"]
    wtp = extra / gain if gain > 0 and extra > 0 else 1.0
    return {
        "mode": "utility",
        "willingness_to_pay": float(f"{wtp:.6g}"),
        "target": round(0.95 * stats[best]["mean_success"], 4),
    }
