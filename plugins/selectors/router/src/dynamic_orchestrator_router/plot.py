"""The cost-quality plot of ``router eval`` (matplotlib, drawn off-screen to a PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .evaluation import Point, Sweep, anchors, value_at
from .outcomes import OutcomeTable

STYLE = {
    "router_utility": ("tab:red", "-"),
    "router_threshold": ("tab:orange", "--"),
    "per_task": ("tab:blue", "-."),
    "random_mix": ("tab:gray", ":"),
    "oracle": ("tab:green", ":"),
}


def write_plot(
    path: Path,
    table: OutcomeTable,
    sweeps: dict[str, Sweep],
    share_sweeps: dict[str, Sweep],
    title: str,
) -> Path:
    """Quality against cost (share of the best single model's) and against strong calls.

    Each line is the best quality a method reaches within a budget, as the figures of
    ``router eval`` read it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = sweeps["best_single"]
    best_cost, best_quality = best.cost[0], best.quality[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    cost_ends, share_ends = anchors(sweeps, "cost"), anchors(share_sweeps, "share")
    cost_grid = np.geomspace(cost_ends[0][0], best_cost, 300)
    share_grid = np.linspace(0, 1, 301)
    for key, (color, dash) in STYLE.items():
        sweep = sweeps[key]
        xs, ys = _envelope(sweep.path("cost", *cost_ends), cost_grid)
        left.plot(100 * xs / best_cost, ys, dash, color=color, label=sweep.name)
        xs, ys = _envelope(share_sweeps[key].path("share", *share_ends), share_grid)
        right.plot(100 * xs, ys, dash, color=color, label=sweep.name)
    rows = np.isfinite(table.success).all(axis=1)
    for j, model in enumerate(table.models):
        cost = 100 * table.cost[rows, j].sum() / best_cost
        quality = table.success[rows, j].mean()
        left.scatter([cost], [quality], s=18, color="black", zorder=3)
        left.annotate(model.rsplit("/", 1)[-1], (cost, quality), fontsize=7, alpha=0.8)
    left.axvline(10, color="lightgray", lw=0.8)
    left.axvline(35, color="lightgray", lw=0.8)
    left.axhline(best_quality, color="lightgray", lw=0.8)
    left.set_xscale("log")
    left.set_xlabel("cost, % of the best single model's (log scale)")
    left.set_ylabel("quality (mean score, held-out folds)")
    left.set_title("quality against cost")
    left.legend(fontsize=8, loc="lower right")
    right.set_xlabel("% of prompts sent to the strong model (the best single one)")
    right.set_ylabel("quality")
    right.set_title("quality against strong-model calls")
    right.axhline(0.95 * best_quality, color="lightgray", lw=0.8)
    right.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _envelope(path: list[Point], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = [value_at(path, float(x)) for x in grid]
    keep = [i for i, v in enumerate(values) if v is not None]
    return grid[keep], np.array([values[i] for i in keep])
