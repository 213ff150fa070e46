"""Training a router from an outcome table (scikit-learn; imported only here).

Per model: a logistic regression on the prompts' TF-IDF terms predicts success (a quality
in [0, 1] counts as that fraction of a success), and a ridge regression on the same terms
plus the prompt's length predicts its cost. A model whose outcomes are all alike gets a
constant (smoothed) probability.

Per-task priors (see :mod:`.model`): a multinomial logistic regression on the same terms
tells the task (the file's ``eval_name``/``task`` label); per task and model the success
rate is shrunk toward the model's overall rate (``prior_strength`` pseudo-prompts) and the
cost is the task's mean. How far the text model may move a prompt away from its task's
prior is a weight per model, chosen by ``blend_folds``-fold cross-validation *inside the
training data* (the log-loss of out-of-fold predictions, over a fixed grid); on
RouterBench it comes out near 0 for most models, since the text tells little beyond
the task. Nothing is tuned on held-out data: the settings are
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
    prior_strength: float = 2.0
    """Pseudo-prompts pulling a task's success rate toward the model's overall rate."""
    blend_folds: int = 3
    """Inner folds choosing each model's text-model weight (< 2: weight 0, priors only)."""

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


BLEND_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def task_index(tasks: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct task names (sorted) and each row's index into them."""
    names = sorted(set(tasks))
    position = {t: i for i, t in enumerate(names)}
    return names, np.array([position[t] for t in tasks], dtype=int)


def _task_classifier(x: Any, labels: np.ndarray, n_tasks: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax weights (V, T) and intercepts (T,) telling a prompt's task."""
    n_features = x.shape[1]
    if n_tasks == 1:
        return np.zeros((n_features, 1)), np.zeros(1)
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=10.0, max_iter=2000)
    classifier.fit(x, labels)
    coef, intercept = classifier.coef_, classifier.intercept_
    if n_tasks == 2:  # binary: one vector; as a softmax, half of it each way
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef.T.copy(), np.asarray(intercept, dtype=np.float64)


def task_rates(
    success: np.ndarray, cost: np.ndarray, labels: np.ndarray, n_tasks: int, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per task and model: success rate shrunk toward the model's overall rate, mean cost."""
    k = success.shape[1]
    overall = np.nanmean(success, axis=0)
    overall_cost = np.nanmean(cost, axis=0)
    rates = np.zeros((n_tasks, k))
    costs = np.zeros((n_tasks, k))
    for t in range(n_tasks):
        rows = labels == t
        for j in range(k):
            y = success[rows, j]
            y = y[~np.isnan(y)]
            rates[t, j] = (y.sum() + strength * overall[j]) / (len(y) + strength)
            c = cost[rows, j]
            c = c[~np.isnan(c)]
            costs[t, j] = c.mean() if len(c) else overall_cost[j]
    return rates, np.nan_to_num(costs)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(p / (1 - p)))


def _log_loss(y: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Per-row log-loss of logits for outcomes y in [0, 1] (a quality q weighs q and 1 - q)."""
    log_p = -np.logaddexp(0.0, -logits)
    log_q = -np.logaddexp(0.0, logits)
    return np.asarray(-(y * log_p + (1 - y) * log_q))


def blend_weights(
    x: Any, table: OutcomeTable, labels: np.ndarray, n_tasks: int, options: TrainOptions
) -> np.ndarray:
    """Per model, the text model's weight against the task prior, by out-of-fold log-loss
    inside these rows with the one-standard-error rule: the smallest weight whose loss is
    within one standard error of the least loss (0 when there are too few rows to tell).
    The rule leans to the prior because a text model that is not clearly better costs
    quality at some budgets."""
    k = len(table.models)
    if options.blend_folds < 2 or len(table) < 4 * options.blend_folds:
        return np.zeros(k)
    from .evaluation import fold_ids

    ids = fold_ids(len(table), options.blend_folds, seed=1)
    text = np.full(table.success.shape, np.nan)
    prior = np.full(table.success.shape, np.nan)
    for fold in range(options.blend_folds):
        fit, held = np.flatnonzero(ids != fold), np.flatnonzero(ids == fold)
        rates, _ = task_rates(
            table.success[fit], table.cost[fit], labels[fit], n_tasks, options.prior_strength
        )
        prior[held] = _logit(rates[labels[held]])
        for j in range(k):
            seen = fit[~np.isnan(table.success[fit, j])]
            coef, intercept = _success_model(x[seen], table.success[seen, j], options.c)
            text[held, j] = x[held] @ coef + intercept
    weights = np.zeros(k)
    for j in range(k):
        seen = ~np.isnan(table.success[:, j])
        y = table.success[seen, j]
        losses = [_log_loss(y, (1 - w) * prior[seen, j] + w * text[seen, j]) for w in BLEND_GRID]
        means = [float(loss.mean()) for loss in losses]
        best = int(np.argmin(means))
        error = float(losses[best].std() / np.sqrt(len(y)))
        weights[j] = next(
            w for w, m in zip(BLEND_GRID, means, strict=True) if m <= means[best] + error
        )
    return weights


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
    names, labels = task_index(table.tasks)
    router.tasks = names
    router.task_coef, router.task_intercept = _task_classifier(x, labels, len(names))
    router.task_success, router.task_cost = task_rates(
        table.success, table.cost, labels, len(names), options.prior_strength
    )
    router.blend = blend_weights(x, table, labels, len(names), options)
    meta["blend"] = {m: float(w) for m, w in zip(table.models, router.blend, strict=True)}
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
