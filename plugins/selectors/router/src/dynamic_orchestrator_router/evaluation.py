"""Honest evaluation of a router: k-fold cross-validation on outcome files, with baselines.

Protocol. The rows of the outcome files (those with every model's score) are shuffled with
a fixed seed and cut into k folds. For each fold a router is trained on the other folds,
with the training options stored in the router file, and predicts the held-out prompts.
Every baseline that needs choosing (which model is best, cheapest, best per task) chooses
on the same training folds. Nothing is tuned on a held-out fold: a curve is the sweep of
the knob over a fixed grid, reported whole.

Figures. Cost is the sum of the per-prompt costs in the files (measured in RouterBench,
estimated from list prices where a file has none) of the model each method picks; quality
is the mean score. A method's curve is its sweep in the knob's order, from "always the
cheapest model" to "always the best single model" (both chosen on the training folds),
with straight lines between neighbouring settings (mixing two settings at random is a
policy anyone can run). Quality at a budget is the best the curve reaches within it; the
cost (or share) to reach a quality is where the curve first reaches it. Share-based
figures (CPT, APGR: RouteLLM's metrics) use the share of prompts sent to the strong model
(the best single model) instead of cost.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .decide import choose_many
from .model import Router
from .outcomes import OutcomeTable
from .training import TrainOptions, train

Point = tuple[float, float]


# --- curves ---------------------------------------------------------------------------


def value_at(path: Sequence[Point], x: float) -> float | None:
    """The best y the path reaches at an x no greater than ``x`` (None if it never does).

    Points of segments count, interpolated: mixing two neighbouring settings at random
    is a policy anyone can run.
    """
    best: float | None = None
    for (x1, y1), (x2, y2) in itertools.pairwise(path):
        for xi, yi in ((x1, y1), (x2, y2)):
            if xi <= x and (best is None or yi > best):
                best = yi
        if min(x1, x2) < x < max(x1, x2):
            y = y1 + (y2 - y1) * (x - x1) / (x2 - x1)
            best = y if best is None else max(best, y)
    return best


def x_to_reach(path: Sequence[Point], y: float) -> float | None:
    """The path's x where it first reaches ``y``, interpolated (None if it never does)."""
    if not path:
        return None
    if path[0][1] >= y:
        return path[0][0]
    for (x1, y1), (x2, y2) in itertools.pairwise(path):
        if y1 < y <= y2:
            return x1 + (x2 - x1) * (y - y1) / (y2 - y1)
    return None


# --- predictions by cross-validation -----------------------------------------------------


@dataclass
class FoldPredictions:
    """Out-of-fold router predictions and, per row, its fold's training statistics."""

    probability: np.ndarray  # (n, k)
    cost: np.ndarray  # (n, k) predicted USD
    best: np.ndarray  # (n,) index of the fold's best single model
    cheapest: np.ndarray  # (n,) index of the fold's cheapest model
    task_success: np.ndarray  # (n, k) the fold's mean success for the row's task
    task_cost: np.ndarray  # (n, k) the fold's mean cost for the row's task
    folds: int
    seed: int
    train_seconds: float = 0.0


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """A fold number per row: a seeded shuffle cut into ``folds`` near-equal parts."""
    order = np.random.default_rng(seed).permutation(n)
    ids = np.empty(n, dtype=int)
    ids[order] = np.arange(n) % folds
    return ids


def _task_stats(table: OutcomeTable, rows: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
    by_task: dict[str, list[int]] = {}
    for i in rows:
        by_task.setdefault(table.tasks[i], []).append(int(i))
    return {
        task: (table.success[idx].mean(axis=0), table.cost[idx].mean(axis=0))
        for task, idx in by_task.items()
    }


def cross_validate(
    table: OutcomeTable,
    options: TrainOptions,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> FoldPredictions:
    """Train on k-1 folds, predict the k-th, for every fold; ``table`` must be complete."""
    n, k = len(table), len(table.models)
    if folds < 2 or folds > n:
        raise ValueError(f"folds must be between 2 and the number of prompts ({n}), not {folds}")
    ids = fold_ids(n, folds, seed)
    probability = np.zeros((n, k))
    cost = np.zeros((n, k))
    best = np.zeros(n, dtype=int)
    cheapest = np.zeros(n, dtype=int)
    task_success = np.zeros((n, k))
    task_cost = np.zeros((n, k))
    started = time.perf_counter()
    for fold in range(folds):
        train_rows = np.flatnonzero(ids != fold)
        test_rows = np.flatnonzero(ids == fold)
        if progress:
            progress(f"fold {fold + 1}/{folds}: training on {len(train_rows)} prompts")
        router = train(table.subset(train_rows), options)
        p, c = router.predict_many([table.prompts[i] for i in test_rows])
        probability[test_rows], cost[test_rows] = p, c
        mean_success = table.success[train_rows].mean(axis=0)
        mean_cost = table.cost[train_rows].mean(axis=0)
        best[test_rows] = int(np.argmax(mean_success))
        cheapest[test_rows] = int(np.argmin(mean_cost))
        stats = _task_stats(table, train_rows)
        for i in test_rows:
            s, c_ = stats.get(table.tasks[i], (mean_success, mean_cost))
            task_success[i], task_cost[i] = s, c_
    return FoldPredictions(
        probability,
        cost,
        best,
        cheapest,
        task_success,
        task_cost,
        folds,
        seed,
        time.perf_counter() - started,
    )


def as_is(router: Router, table: OutcomeTable) -> FoldPredictions:
    """The router file's own predictions, baselines chosen on ``table`` itself (no folds)."""
    n = len(table)
    p, c = router.predict_many(table.prompts)
    mean_success, mean_cost = table.success.mean(axis=0), table.cost.mean(axis=0)
    stats = _task_stats(table, np.arange(n))
    task_success = np.array([stats[t][0] for t in table.tasks])
    task_cost = np.array([stats[t][1] for t in table.tasks])
    return FoldPredictions(
        p,
        c,
        np.full(n, int(np.argmax(mean_success))),
        np.full(n, int(np.argmin(mean_cost))),
        task_success,
        task_cost,
        folds=0,
        seed=0,
    )


# --- methods and their sweeps --------------------------------------------------------------


@dataclass
class Sweep:
    """One method's points: total cost (USD), mean quality, share of strong-model calls."""

    name: str
    knob: str
    settings: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)
    share: list[float] = field(default_factory=list)

    def add(self, setting: float, cost: float, quality: float, share: float) -> None:
        self.settings.append(setting)
        self.cost.append(cost)
        self.quality.append(quality)
        self.share.append(share)

    def path(self, x: str, start: Point, end: Point) -> list[Point]:
        """The curve over ``x`` ("cost" or "share"), from ``start`` to ``end``."""
        xs = self.cost if x == "cost" else self.share
        return [start, *zip(xs, self.quality, strict=True), end]


def wtp_grid(cost: np.ndarray, size: int = 2000) -> list[float]:
    """Willingness-to-pay values from "the cheapest always" to "the likeliest always".

    Geometric from a hundredth of the smallest cost (price differences dominate) to 10^5
    times the largest (probability differences dominate), then infinity.
    """
    positive = cost[cost > 0]
    low = float(positive.min()) / 100 if positive.size else 1e-9
    high = float(cost.max()) * 1e5 if cost.size and cost.max() > 0 else 1.0
    return [*np.geomspace(low, max(high, low * 10), size).tolist(), math.inf]


def _evaluate(
    table: OutcomeTable, choice: np.ndarray, strong: np.ndarray
) -> tuple[float, float, float]:
    rows = np.arange(len(table))
    return (
        float(table.cost[rows, choice].sum()),
        float(table.success[rows, choice].mean()),
        float(np.mean(choice == strong)),
    )


def per_call(cost: np.ndarray) -> np.ndarray:
    """Each model's mean cost on every row: prices per call, as call shares count them."""
    return np.broadcast_to(cost.mean(axis=0), cost.shape)


def sweeps(table: OutcomeTable, pred: FoldPredictions, flat: bool = False) -> dict[str, Sweep]:
    """Every method's sweep: the router in both modes and the baselines.

    With ``flat``, decisions price every call to a model alike (its mean cost): the right
    rule when what counts is the share of calls to the strong model, as in RouteLLM's
    metrics, rather than the money spent.
    """
    if flat:
        pred = FoldPredictions(
            pred.probability,
            per_call(pred.cost),
            pred.best,
            pred.cheapest,
            pred.task_success,
            per_call(pred.task_cost),
            pred.folds,
            pred.seed,
        )
    out: dict[str, Sweep] = {}
    strong = pred.best

    utility = Sweep("router (utility)", "willingness_to_pay")
    for wtp in wtp_grid(pred.cost):
        utility.add(
            wtp, *_evaluate(table, choose_many(pred.probability, pred.cost, "utility", wtp), strong)
        )
    out["router_utility"] = utility

    threshold = Sweep("router (threshold)", "target")
    targets = np.unique(
        np.concatenate(
            [np.linspace(0, 1, 201), np.quantile(pred.probability, np.linspace(0, 1, 201))]
        )
    )
    for target in targets:
        threshold.add(
            float(target),
            *_evaluate(
                table, choose_many(pred.probability, pred.cost, "threshold", target), strong
            ),
        )
    out["router_threshold"] = threshold

    single = Sweep("best single model", "-")
    single.add(0.0, *_evaluate(table, pred.best, strong))
    out["best_single"] = single
    cheap = Sweep("cheapest model", "-")
    cheap.add(0.0, *_evaluate(table, pred.cheapest, strong))
    out["cheapest"] = cheap

    # RouteLLM's random router, in expectation: each prompt goes to the best single model
    # with probability s, else to the cheapest (no sampling noise to get lucky with).
    mix = Sweep("random mix (cheapest/best)", "share")
    for share in np.linspace(0, 1, 101):
        mix.add(
            float(share),
            (1 - share) * cheap.cost[0] + share * single.cost[0],
            (1 - share) * cheap.quality[0] + share * single.quality[0],
            (1 - share) * cheap.share[0] + share * single.share[0],
        )
    out["random_mix"] = mix

    per_task = Sweep("best model per task", "willingness_to_pay")
    for wtp in wtp_grid(pred.task_cost):
        per_task.add(
            wtp,
            *_evaluate(
                table, choose_many(pred.task_success, pred.task_cost, "utility", wtp), strong
            ),
        )
    out["per_task"] = per_task

    oracle = Sweep("oracle", "willingness_to_pay")
    truth = np.nan_to_num(table.success)
    true_cost = per_call(table.cost) if flat else table.cost
    for wtp in wtp_grid(true_cost):
        oracle.add(wtp, *_evaluate(table, choose_many(truth, true_cost, "utility", wtp), strong))
    out["oracle"] = oracle
    return out


# --- figures -------------------------------------------------------------------------------


@dataclass
class Figures:
    """The headline numbers of one method."""

    name: str
    quality_at_10: float | None
    quality_at_35: float | None
    cost_to_match: float | None  # fraction of the best single model's cost
    best_quality: float
    cpt50: float | None = None
    cpt80: float | None = None
    cpt95: float | None = None
    share_95_quality: float | None = None
    apgr: float | None = None


def anchors(all_sweeps: dict[str, Sweep], x: str) -> tuple[Point, Point]:
    """The start ("always the cheapest") and end ("always the best") of every curve."""
    cheap, best = all_sweeps["cheapest"], all_sweeps["best_single"]
    if x == "cost":
        return (cheap.cost[0], cheap.quality[0]), (best.cost[0], best.quality[0])
    return (cheap.share[0], cheap.quality[0]), (1.0, best.quality[0])


def figures(
    cost_sweeps: dict[str, Sweep], share_sweeps: dict[str, Sweep] | None = None
) -> dict[str, Figures]:
    """Quality at 10% / 35% of the best single model's cost and cost to match it (from
    ``cost_sweeps``); CPT, APGR and the share for 95% quality (from ``share_sweeps``,
    default the same sweeps)."""
    share_sweeps = share_sweeps or cost_sweeps
    best = cost_sweeps["best_single"]
    best_cost, best_quality = best.cost[0], best.quality[0]
    weak_quality = cost_sweeps["cheapest"].quality[0]
    gap = best_quality - weak_quality
    cost_ends, share_ends = anchors(cost_sweeps, "cost"), anchors(share_sweeps, "share")
    out: dict[str, Figures] = {}
    for key, sweep in cost_sweeps.items():
        if len(sweep.cost) == 1:  # a single model: one point, no curve
            cost, quality = sweep.cost[0], sweep.quality[0]
            out[key] = Figures(
                name=sweep.name,
                quality_at_10=quality if cost <= 0.10 * best_cost else None,
                quality_at_35=quality if cost <= 0.35 * best_cost else None,
                cost_to_match=cost / best_cost if quality >= best_quality else None,
                best_quality=quality,
            )
            continue
        path = sweep.path("cost", *cost_ends)
        reach = x_to_reach(path, best_quality - 1e-12)
        fig = Figures(
            name=sweep.name,
            quality_at_10=value_at(path, 0.10 * best_cost),
            quality_at_35=value_at(path, 0.35 * best_cost),
            cost_to_match=None if reach is None else reach / best_cost,
            best_quality=max(sweep.quality),
        )
        if gap > 0:
            shares = share_sweeps[key].path("share", *share_ends)
            fig.cpt50 = x_to_reach(shares, weak_quality + 0.50 * gap)
            fig.cpt80 = x_to_reach(shares, weak_quality + 0.80 * gap)
            fig.cpt95 = x_to_reach(shares, weak_quality + 0.95 * gap)
            fig.share_95_quality = x_to_reach(shares, 0.95 * best_quality)
            fig.apgr = _apgr(shares, weak_quality, gap)
        out[key] = fig
    return out


BUDGETS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.50, 0.75, 1.00)
"""Budgets, as shares of the best single model's cost, at which curves are compared."""


def at_budgets(
    cost_sweeps: dict[str, Sweep], key: str, budgets: Sequence[float] = BUDGETS
) -> list[tuple[float, float | None, float | None]]:
    """(budget share, the method's quality, the per-task baseline's quality) at each budget."""
    best_cost = cost_sweeps["best_single"].cost[0]
    ends = anchors(cost_sweeps, "cost")
    method = cost_sweeps[key].path("cost", *ends)
    baseline = cost_sweeps["per_task"].path("cost", *ends)
    return [
        (b, value_at(method, b * best_cost), value_at(baseline, b * best_cost)) for b in budgets
    ]


def _apgr(path: Sequence[Point], weak: float, gap: float) -> float:
    """Average performance gap recovered over strong-call shares 0..1 (trapezoid rule)."""
    area = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(path):
        area += (x2 - x1) * ((y1 - weak) + (y2 - weak)) / (2 * gap)
    return area


# --- signal ----------------------------------------------------------------------------------


def discrimination(table: OutcomeTable, probability: np.ndarray) -> dict[str, dict[str, float]]:
    """Per model, the ROC AUC of predicted success: pooled, and averaged within tasks.

    Within-task AUC says whether the router tells apart prompts *of one task*; 0.5 is no
    better than knowing the task.
    """
    from sklearn.metrics import roc_auc_score

    tasks = np.array(table.tasks)
    out: dict[str, dict[str, float]] = {}
    for j, model in enumerate(table.models):
        y, p = table.success[:, j] >= 0.5, probability[:, j]
        pooled = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else math.nan
        within = []
        for task in np.unique(tasks):
            rows = tasks == task
            if 0 < y[rows].sum() < rows.sum():
                within.append((rows.sum(), float(roc_auc_score(y[rows], p[rows]))))
        weight = sum(n for n, _ in within)
        out[model] = {
            "pooled": pooled,
            "within_task": sum(n * a for n, a in within) / weight if weight else math.nan,
        }
    return out


# --- latency ---------------------------------------------------------------------------------


@dataclass
class Latency:
    decisions: int
    wall_p50_us: float
    wall_p99_us: float
    cpu_p50_us: float
    cpu_p99_us: float


def measure_latency(router: Router, prompts: Sequence[str], knobs_mode: str = "utility") -> Latency:
    """Per-decision time of scoring a prompt and ordering the models (wall and CPU time)."""
    from .decide import Knobs, order

    knobs = Knobs(mode=knobs_mode)
    wall: list[float] = []
    cpu: list[float] = []
    for text in prompts[:50]:  # warm-up
        p, c = router.predict(text)
        order(p, c, knobs)
    for text in prompts:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        p, c = router.predict(text)
        order(p.tolist(), c.tolist(), knobs)
        c1, w1 = time.thread_time_ns(), time.perf_counter_ns()
        wall.append((w1 - w0) / 1000)
        cpu.append((c1 - c0) / 1000)
    return Latency(
        len(prompts),
        float(np.percentile(wall, 50)),
        float(np.percentile(wall, 99)),
        float(np.percentile(cpu, 50)),
        float(np.percentile(cpu, 99)),
    )
