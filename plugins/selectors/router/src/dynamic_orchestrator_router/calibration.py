"""Setting the knob from data, as RouteLLM calibrates its threshold.

Given prompts (and, for a quality target, their outcomes), sweep the mode's knob over a
fixed grid and take the setting whose share of strong-model calls is closest to the wanted
share, or the cheapest setting whose quality reaches the target. Predictions come from the
router file as it is, or (``folds`` >= 2) out-of-fold from routers retrained like it, which
is the honest choice when the files are the router's own training files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .decide import choose_many
from .evaluation import cross_validate, wtp_grid
from .model import Router
from .outcomes import OutcomeTable
from .training import TrainOptions


@dataclass
class Calibration:
    knob: float
    share: float
    quality: float | None
    cost: float | None
    prompts: int
    basis: str


def _aligned(table: OutcomeTable, router: Router) -> OutcomeTable:
    """The rows with every model's outcome, columns in the router's model order."""
    complete = table.with_models(router.models).complete()
    if len(complete) == 0:
        raise ValueError("no prompt has every model's outcome")
    return complete


def knob_grid(mode: str, probability: np.ndarray, cost: np.ndarray) -> list[float]:
    if mode == "utility":
        return wtp_grid(cost, 600)
    grid = np.concatenate(
        [np.linspace(0, 1, 1001), np.quantile(probability, np.linspace(0, 1, 501))]
    )
    return sorted(set(grid.tolist()))


def calibrate(
    router: Router,
    table: OutcomeTable,
    *,
    mode: str,
    strong: str,
    strong_share: float | None = None,
    target_quality: float | None = None,
    folds: int = 0,
    seed: int = 0,
    options: TrainOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """The knob for a wanted strong-call share or quality (exactly one of them)."""
    if (strong_share is None) == (target_quality is None):
        raise ValueError("give exactly one of strong_share and target_quality")
    needs_outcomes = target_quality is not None or folds >= 2
    data = _aligned(table, router) if needs_outcomes else table
    if folds >= 2:
        pred = cross_validate(data, options or TrainOptions(), folds, seed, progress)
        probability, cost = pred.probability, pred.cost
        basis = f"{folds}-fold out-of-fold predictions"
    else:
        probability, cost = router.predict_many(data.prompts)
        basis = "the router file's predictions"
    s = router.models.index(strong)
    rows = np.arange(len(data))
    results = []
    for knob in knob_grid(mode, probability, cost):
        choice = choose_many(probability, cost, mode, knob)
        share = float(np.mean(choice == s))
        quality = float(data.success[rows, choice].mean()) if needs_outcomes else None
        spent = float(data.cost[rows, choice].sum()) if needs_outcomes else None
        results.append(Calibration(knob, share, quality, spent, len(data), basis))
    if strong_share is not None:
        return min(results, key=lambda r: (abs(r.share - strong_share), r.share))
    reaching = [r for r in results if r.quality is not None and r.quality >= (target_quality or 0)]
    if not reaching:
        best = max(r.quality or 0.0 for r in results)
        raise ValueError(
            f"quality {target_quality} is not reached on these prompts (at best {best:.3f})"
        )
    return min(reaching, key=lambda r: (r.cost or 0.0, -(r.quality or 0.0)))
