"""Offline evaluation of verifying cascades on outcome files that carry every model's answer.

A cascade runs cheap models first and accepts their answer when a verifier says it is good
enough, else escalates to the strong model. On RouterBench-style files every model's
answer is recorded, so a cascade can be replayed without calling any model: what it would
have answered, whether that was right, and what it would have cost (the sum of what ran).

Verifiers replayed here:

- ``agree2``: two cheap models answer; equal answer keys
  (:func:`dynamic_orchestrator.answers.answer_key`: exact for choices and numbers,
  normalised for short text) are accepted (the first's answer), else the strong model;
- ``agree3``: three cheap models, all three equal, else the strong model.

A self-check prompt ("is this answer right?") needs a model call that the files do not
record, so it cannot be replayed offline and is not evaluated here.

Protocol: the same folds as the router's evaluation. On the training folds every cascade
of the kind (every pair, or every triple of the six cheapest models) is scored, the strong
model is the training folds' best single model, and for each budget (a share of the
training folds' best-model cost) the cascade with the best training quality within it is
chosen; that choice is then replayed on the held-out fold. Nothing is chosen on held-out
rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from dynamic_orchestrator.answers import answer_key

from .evaluation import fold_ids
from .outcomes import OutcomeTable

BUDGETS = (0.10, 0.20, 0.26, 0.35, 0.50, 0.75)
KINDS = ("agree2", "agree3")


@dataclass
class CascadePoint:
    verifier: str
    budget: float
    """The budget the cascades were chosen for, as a share of the best model's cost."""
    cost_share: float
    """Held-out cost as a share of the best single model's held-out cost."""
    quality: float
    accepted: float
    """Share of prompts answered without escalation."""
    chains: list[str]


def keys_of(table: OutcomeTable) -> np.ndarray:
    """Each answer's key, (n, k) objects (None: no comparable answer)."""
    if table.responses is None:
        raise ValueError("these files carry no model answers (<model>|model_response columns)")
    keys = np.empty(table.responses.shape, dtype=object)
    for (i, j), text in np.ndenumerate(table.responses):
        keys[i, j] = answer_key(text)
    return keys


def replay(
    table: OutcomeTable, keys: np.ndarray, rows: np.ndarray, cheap: Sequence[int], strong: int
) -> tuple[float, float, float]:
    """(total cost, mean quality, share accepted) of one cascade on some rows."""
    first = keys[rows, cheap[0]]
    accepted = np.array([k is not None for k in first])
    for j in cheap[1:]:
        accepted &= np.array(
            [a is not None and a == b for a, b in zip(first, keys[rows, j], strict=True)]
        )
    cost = table.cost[np.ix_(rows, np.asarray(cheap, dtype=int))].sum(axis=1)
    cost = cost + np.where(accepted, 0.0, table.cost[rows, strong])
    quality = np.where(accepted, table.success[rows, cheap[0]], table.success[rows, strong])
    return float(cost.sum()), float(quality.mean()), float(accepted.mean())


def candidates(
    table: OutcomeTable, rows: np.ndarray, kind: str, strong: int
) -> list[tuple[int, ...]]:
    """The cheap-model tuples a cascade of this kind may use (never the strong model)."""
    mean_cost = table.cost[rows].mean(axis=0)
    others = [j for j in np.argsort(mean_cost) if j != strong]
    if kind == "agree2":
        return [tuple(int(j) for j in p) for p in itertools.permutations(others, 2)]
    return [tuple(int(j) for j in c) for c in itertools.combinations(others[:6], 3)]


def cross_validate_cascades(
    table: OutcomeTable, folds: int = 5, seed: int = 0, budgets: Sequence[float] = BUDGETS
) -> list[CascadePoint]:
    """Held-out cost-quality points of cascades chosen on training folds (see the module)."""
    keys = keys_of(table)
    ids = fold_ids(len(table), folds, seed)
    out: list[CascadePoint] = []
    for kind in KINDS:
        for budget in budgets:
            spent = quality_sum = accepted_sum = best_spent = 0.0
            chains: list[str] = []
            for fold in range(folds):
                fit, held = np.flatnonzero(ids != fold), np.flatnonzero(ids == fold)
                strong = int(np.argmax(table.success[fit].mean(axis=0)))
                limit = budget * float(table.cost[fit, strong].sum())
                scored = [
                    (replay(table, keys, fit, c, strong), c)
                    for c in candidates(table, fit, kind, strong)
                ]
                within = [(r, c) for r, c in scored if r[0] <= limit]
                if not within:
                    within = [min(scored, key=lambda rc: rc[0][0])]
                (_, _, _), chosen = max(within, key=lambda rc: (rc[0][1], -rc[0][0]))
                cost, quality, accepted = replay(table, keys, held, chosen, strong)
                spent += cost
                quality_sum += quality * len(held)
                accepted_sum += accepted * len(held)
                best_spent += float(table.cost[held, strong].sum())
                chains.append(" + ".join(table.models[j] for j in chosen))
            n = len(table)
            out.append(
                CascadePoint(
                    kind, budget, spent / best_spent, quality_sum / n, accepted_sum / n, chains
                )
            )
    return out


def per_task_curve(
    table: OutcomeTable, kind: str, folds: int = 5, seed: int = 0, size: int = 60
) -> list[tuple[float, float]]:
    """Held-out (cost share of the best model, quality) points of a per-task policy: for
    each price λ, every task (``eval_name``) gets the option (a single model or a cascade
    of this kind) with the most training-fold quality minus λ × cost."""
    keys = keys_of(table)
    ids = fold_ids(len(table), folds, seed)
    tasks = np.array(table.tasks)
    k = len(table.models)
    per_fold = []
    for fold in range(folds):
        fit, held = np.flatnonzero(ids != fold), np.flatnonzero(ids == fold)
        strong = int(np.argmax(table.success[fit].mean(axis=0)))
        options: list[tuple[int, ...]] = [(j,) for j in range(k)]
        options += candidates(table, fit, kind, strong)
        by_task = {}
        for task in np.unique(tasks):
            f, h = fit[tasks[fit] == task], held[tasks[held] == task]
            scored = []
            for option in options:
                if len(option) == 1:
                    j = option[0]
                    fq, fc = table.success[f, j].sum(), table.cost[f, j].sum()
                    hq, hc = table.success[h, j].sum(), table.cost[h, j].sum()
                else:
                    c1, q1, _ = replay(table, keys, f, option, strong)
                    c2, q2, _ = replay(table, keys, h, option, strong)
                    fq, fc, hq, hc = q1 * len(f), c1, q2 * len(h), c2
                scored.append((fq, fc, hq, hc))
            by_task[task] = np.array(scored)
        per_fold.append((by_task, float(table.cost[held, strong].sum())))
    all_costs = np.concatenate([s[:, 1] for bt, _ in per_fold for s in bt.values()])
    positive = all_costs[all_costs > 0]
    prices = [0.0, *np.geomspace(1e-3, 1e4, size).tolist()]
    points = []
    for price in prices:
        cost = quality = best = 0.0
        for by_task, best_cost in per_fold:
            for s in by_task.values():
                scale = positive.mean() if positive.size else 1.0
                pick = int(np.argmax(s[:, 0] - price * s[:, 1] / scale))
                quality += s[pick, 2]
                cost += s[pick, 3]
            best += best_cost
        points.append((cost / best, quality / len(table)))
    return sorted(set(points))
