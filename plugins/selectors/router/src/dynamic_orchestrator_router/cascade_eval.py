"""Offline evaluation of verifying cascades on outcome files that carry every model's answer.

A cascade runs cheap models first and accepts an answer when a verifier says it is good
enough, else escalates to the strong model. On RouterBench-style files every model's
answer is recorded, so a cascade can be replayed without calling any model: what it would
have answered, whether that was right, and what it would have cost (the sum of what ran).

Agreement between two answers (:func:`agreement`): equal answer keys
(:func:`dynamic_orchestrator.answers.answer_key`: exact for choices and numbers,
normalised for short text); for code, which has no key, equal normalised source or equal
behaviour on the inputs of the two answers' own examples
(:mod:`dynamic_orchestrator.code_answers`, run offline in a limited child process).

Verifiers replayed here:

- ``agree2``: two cheap models answer; when they agree the first's answer is kept, else
  the strong model answers;
- ``agree3``: three cheap models, all agree with the first, else the strong model;
- ``vote``: two cheap models answer; agreement is accepted; on disagreement a third cheap
  model answers and the answer it agrees with is kept (two of three), else the strong
  model answers — the third call is paid only when the first two disagree;
- ``scorer``: two cheap models answer; a logistic regression on (prompt, answer) features
  (:func:`dynamic_orchestrator.answers.answer_features`: agreement, answer length,
  hedging words, format validity)
  trained on the training folds gives the first answer's chance of being right; it is
  accepted above a threshold (0.5 … 0.9, chosen per task on the training folds).

A self-check prompt ("is this answer right?") needs a model call that the files do not
record, so it cannot be replayed offline and is not evaluated here.

Protocol: k folds. On the training folds every cascade of a kind (pairs or triples of the
cheaper models, with each threshold for the scorer) is scored; the strong model is the
training folds' best single model. The per-task policy gives each task (``eval_name``)
the option — a single model or a cascade — with the most training-fold quality minus
λ × cost, swept over λ; the options chosen are then replayed on the held-out fold.
Nothing is chosen on held-out rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from dynamic_orchestrator.answers import answer_features, answer_key
from dynamic_orchestrator.code_answers import code_answer, run_programs, same_behaviour
from sklearn.linear_model import LogisticRegression

from .evaluation import fold_ids
from .outcomes import OutcomeTable

BUDGETS = (0.10, 0.20, 0.26, 0.35, 0.50, 0.75)
KINDS = ("agree2", "agree3", "vote", "scorer")
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
CHEAPEST = 6
"""Triples are drawn from the training folds' cheapest models other than the strong one."""


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


def _code_row(answers: Sequence[str | None]) -> np.ndarray:
    """Pairwise code agreement of one prompt's answers (see the module)."""
    k = len(answers)
    out = np.zeros((k, k), dtype=bool)
    parsed = [code_answer(a) for a in answers]
    idx = [j for j, p in enumerate(parsed) if p is not None]
    programs = [parsed[j] for j in idx]
    inputs: list[str] = []
    source: list[int] = []
    for j, p in zip(idx, programs, strict=True):
        for args in p.inputs if p is not None else []:
            inputs.append(args)
            source.append(j)
    outcomes = run_programs([p for p in programs if p is not None], inputs)
    for (x, i), (y, j) in itertools.permutations(enumerate(idx), 2):
        a, b = programs[x], programs[y]
        if a is None or b is None:
            continue
        if a.normalised is not None and a.normalised == b.normalised:
            out[i, j] = True
            continue
        mine = [q for q, s in enumerate(source) if s in (i, j)]
        ra, rb = outcomes[x], outcomes[y]
        if mine and ra is not None and rb is not None:
            out[i, j] = same_behaviour([ra[q] for q in mine], [rb[q] for q in mine])
    return out


def agreement(
    table: OutcomeTable, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """(n, k, k) bools: do answers i and j of a prompt agree (see the module)."""
    keys = keys_of(table)
    assert table.responses is not None
    n, k = keys.shape
    out = np.zeros((n, k, k), dtype=bool)
    for r in range(n):
        row = keys[r]
        for i, j in itertools.permutations(range(k), 2):
            out[r, i, j] = row[i] is not None and row[i] == row[j]
        if sum(key is None for key in row) >= 2:
            code = _code_row(
                [
                    None if key is not None else t
                    for key, t in zip(row, table.responses[r], strict=True)
                ]
            )
            out[r] |= code
        if progress is not None:
            progress(r + 1, n)
    return out


@dataclass
class Replay:
    """Per-prompt results of one option on some rows."""

    cost: np.ndarray
    success: np.ndarray
    accepted: np.ndarray


def replay(
    table: OutcomeTable,
    agree: np.ndarray,
    rows: np.ndarray,
    kind: str,
    cheap: Sequence[int],
    strong: int,
    accept: np.ndarray | None = None,
) -> Replay:
    """One cascade replayed on some rows (``accept``: the scorer's decisions on them)."""
    c, s = table.cost[rows], table.success[rows]
    a = agree[rows]
    if kind == "single":
        j = cheap[0]
        return Replay(c[:, j], s[:, j], np.ones(len(rows), dtype=bool))
    first, second = cheap[0], cheap[1]
    answer = np.full(len(rows), strong)
    if kind == "vote":
        third = cheap[2]
        both = a[:, first, second]
        with_first = ~both & a[:, first, third]
        with_second = ~both & ~with_first & a[:, second, third]
        accepted = both | with_first | with_second
        answer[both | with_first] = first
        answer[with_second] = second
        cost = c[:, first] + c[:, second] + np.where(both, 0.0, c[:, third])
    else:
        if kind == "scorer":
            assert accept is not None
            accepted = accept
        else:
            accepted = np.ones(len(rows), dtype=bool)
            for j in cheap[1:]:
                accepted &= a[:, first, j]
        answer[accepted] = first
        cost = c[:, list(cheap)].sum(axis=1)
    cost = cost + np.where(accepted, 0.0, c[:, strong])
    return Replay(cost, s[np.arange(len(rows)), answer], accepted)


def candidates(
    table: OutcomeTable, rows: np.ndarray, kind: str, strong: int
) -> list[tuple[int, ...]]:
    """The cheap-model tuples a cascade of this kind may use (never the strong model)."""
    mean_cost = table.cost[rows].mean(axis=0)
    others = [int(j) for j in np.argsort(mean_cost) if j != strong]
    if kind in ("agree2", "scorer"):
        return list(itertools.permutations(others, 2))
    if kind == "agree3":
        return list(itertools.combinations(others[:CHEAPEST], 3))
    return list(itertools.permutations(others[:CHEAPEST], 3))


def base_features(table: OutcomeTable) -> np.ndarray:
    """(n, k, 4): the features of each answer that do not depend on the other answers."""
    assert table.responses is not None
    n, k = table.responses.shape
    out = np.zeros((n, k, 4))
    for (r, j), text in np.ndenumerate(table.responses):
        out[r, j] = answer_features(text, 0, 0)[1:]
    return out


def _features(
    base: np.ndarray, agree: np.ndarray, rows: np.ndarray, pair: tuple[int, ...]
) -> np.ndarray:
    first, second = pair[0], pair[1]
    agreed = agree[rows, first, second].astype(float)[:, None]
    return np.hstack([agreed, base[rows, first], base[rows, second][:, :1]])


@dataclass
class _Option:
    kind: str
    cheap: tuple[int, ...]
    threshold: float | None = None

    def label(self, models: Sequence[str]) -> str:
        names = " + ".join(models[j] for j in self.cheap)
        if self.kind == "single":
            return names
        extra = f" ≥{self.threshold:g}" if self.threshold is not None else ""
        return f"{self.kind}{extra}({names})"


def _options(
    table: OutcomeTable,
    agree: np.ndarray,
    fit: np.ndarray,
    held: np.ndarray,
    kind: str,
    strong: int,
) -> list[tuple[_Option, Replay, Replay]]:
    """Every option of an agreement kind, replayed on the training and held-out rows."""
    return [
        (
            _Option(kind, cheap),
            replay(table, agree, fit, kind, cheap, strong),
            replay(table, agree, held, kind, cheap, strong),
        )
        for cheap in candidates(table, fit, kind, strong)
    ]


def per_task_curve(
    table: OutcomeTable,
    agree: np.ndarray,
    kinds: Sequence[str],
    folds: int = 5,
    seed: int = 0,
    size: int = 60,
    scorer_pairs: int = 12,
) -> tuple[list[tuple[float, float]], dict[float, list[str]]]:
    """Held-out (cost share of the best model, quality) points of a per-task policy: for
    each price λ, every task gets the option (a single model or a cascade of these kinds)
    with the most training-fold quality minus λ × cost. Also, per point's cost share, the
    options fold 1 chose (task: option)."""
    ids = fold_ids(len(table), folds, seed)
    tasks = np.array(table.tasks)
    k = len(table.models)
    base = base_features(table) if "scorer" in kinds else np.zeros(0)
    per_fold = []
    for fold in range(folds):
        fit, held = np.flatnonzero(ids != fold), np.flatnonzero(ids == fold)
        strong = int(np.argmax(table.success[fit].mean(axis=0)))
        by_task = {}
        for task in np.unique(tasks):
            f, h = fit[tasks[fit] == task], held[tasks[held] == task]
            rows = [
                (
                    _Option("single", (j,)),
                    replay(table, agree, f, "single", (j,), strong),
                    replay(table, agree, h, "single", (j,), strong),
                )
                for j in range(k)
            ]
            for kind in kinds:
                if kind != "scorer":
                    rows += _options(table, agree, f, h, kind, strong)
                    continue
                # the scorer refines the pairs that agree best on the training folds
                pairs = sorted(
                    _options(table, agree, f, h, "agree2", strong),
                    key=lambda o: (-o[1].success.sum(), o[1].cost.sum()),
                )[:scorer_pairs]
                rows += _scored_options(
                    table, agree, base, f, h, strong, [o[0].cheap for o in pairs]
                )
            by_task[str(task)] = (
                np.array(
                    [
                        [r[1].success.sum(), r[1].cost.sum(), r[2].success.sum(), r[2].cost.sum()]
                        for r in rows
                    ]
                ),
                [r[0] for r in rows],
            )
        per_fold.append((by_task, float(table.cost[held, strong].sum())))
    all_costs = np.concatenate([s[:, 1] for bt, _ in per_fold for s, _ in bt.values()])
    positive = all_costs[all_costs > 0]
    scale = float(positive.mean()) if positive.size else 1.0
    prices = [0.0, *np.geomspace(1e-3, 1e4, size).tolist()]
    points: dict[tuple[float, float], list[str]] = {}
    for price in prices:
        cost = quality = best = 0.0
        chosen: list[str] = []
        for fold, (by_task, best_cost) in enumerate(per_fold):
            for task, (s, options) in by_task.items():
                pick = int(np.argmax(s[:, 0] - price * s[:, 1] / scale))
                quality += s[pick, 2]
                cost += s[pick, 3]
                if fold == 0:
                    chosen.append(f"{task}: {options[pick].label(table.models)}")
            best += best_cost
        points.setdefault((cost / best, quality / len(table)), chosen)
    path = sorted(points)
    return path, {c: points[(c, q)] for c, q in path}


def _scored_options(
    table: OutcomeTable,
    agree: np.ndarray,
    base: np.ndarray,
    fit: np.ndarray,
    held: np.ndarray,
    strong: int,
    pairs: Sequence[tuple[int, ...]],
) -> list[tuple[_Option, Replay, Replay]]:
    """Scorer options: per pair, a logistic regression fitted on the training rows, with
    each threshold."""
    out = []
    for cheap in pairs:
        x_fit = _features(base, agree, fit, cheap)
        y_fit = table.success[fit, cheap[0]] >= 0.5
        if y_fit.all() or not y_fit.any():
            continue
        model = LogisticRegression(max_iter=200).fit(x_fit, y_fit)
        p_fit = model.predict_proba(x_fit)[:, 1]
        p_held = model.predict_proba(_features(base, agree, held, cheap))[:, 1]
        for threshold in THRESHOLDS:
            option = _Option("scorer", cheap, threshold)
            out.append(
                (
                    option,
                    replay(table, agree, fit, "scorer", cheap, strong, p_fit >= threshold),
                    replay(table, agree, held, "scorer", cheap, strong, p_held >= threshold),
                )
            )
    return out


def cross_validate_cascades(
    table: OutcomeTable,
    agree: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    budgets: Sequence[float] = BUDGETS,
    kinds: Sequence[str] = ("agree2", "agree3", "vote"),
) -> list[CascadePoint]:
    """Held-out points of one cascade for every prompt, chosen per budget on training folds."""
    ids = fold_ids(len(table), folds, seed)
    out: list[CascadePoint] = []
    for kind in kinds:
        for budget in budgets:
            spent = quality_sum = accepted_sum = best_spent = 0.0
            chains: list[str] = []
            for fold in range(folds):
                fit, held = np.flatnonzero(ids != fold), np.flatnonzero(ids == fold)
                strong = int(np.argmax(table.success[fit].mean(axis=0)))
                limit = budget * float(table.cost[fit, strong].sum())
                scored = [
                    (replay(table, agree, fit, kind, c, strong), c)
                    for c in candidates(table, fit, kind, strong)
                ]
                if not scored:  # too few cheaper models for this kind
                    break
                within = [(r, c) for r, c in scored if r.cost.sum() <= limit]
                if not within:
                    within = [min(scored, key=lambda rc: rc[0].cost.sum())]
                _, chosen = max(within, key=lambda rc: (rc[0].success.mean(), -rc[0].cost.sum()))
                result = replay(table, agree, held, kind, chosen, strong)
                spent += float(result.cost.sum())
                quality_sum += float(result.success.sum())
                accepted_sum += float(result.accepted.sum())
                best_spent += float(table.cost[held, strong].sum())
                chains.append(" + ".join(table.models[j] for j in chosen))
            if not chains:
                continue
            n = len(table)
            out.append(
                CascadePoint(
                    kind, budget, spent / best_spent, quality_sum / n, accepted_sum / n, chains
                )
            )
    return out


@dataclass
class ScorerFit:
    """A scorer fitted on every given row of one task, as the cascade plugin's settings."""

    task: str
    pair: list[str]
    weights: list[float]
    intercept: float


def fit_scorers(table: OutcomeTable, agree: np.ndarray, budget: float = 0.35) -> list[ScorerFit]:
    """Per task: the agreeing pair with the best quality within ``budget`` of the best
    model's cost on that task, and a scorer for it fitted on all of the task's rows (for
    ``plugins.settings.cascade.scorer``; the figures above never use these fits)."""
    if table.responses is None:
        raise ValueError("these files carry no model answers (<model>|model_response columns)")
    tasks = np.array(table.tasks)
    strong = int(np.argmax(table.success.mean(axis=0)))
    base = np.zeros((*table.responses.shape, 4))
    fits = []
    for task in np.unique(tasks):
        rows = np.flatnonzero(tasks == task)
        limit = budget * float(table.cost[rows, strong].sum())
        scored = [
            (replay(table, agree, rows, "agree2", pair, strong), pair)
            for pair in candidates(table, rows, "agree2", strong)
        ]
        within = [(r, p) for r, p in scored if r.cost.sum() <= limit] or scored
        _, pair = max(within, key=lambda rp: (rp[0].success.mean(), -rp[0].cost.sum()))
        for r in rows:
            for j in pair:
                base[r, j] = answer_features(table.responses[r, j])[1:]
        y = table.success[rows, pair[0]] >= 0.5
        if y.all() or not y.any():
            continue
        model = LogisticRegression(max_iter=200).fit(_features(base, agree, rows, pair), y)
        fits.append(
            ScorerFit(
                str(task),
                [table.models[j] for j in pair],
                [round(float(w), 4) for w in model.coef_[0]],
                round(float(model.intercept_[0]), 4),
            )
        )
    return fits


@dataclass
class FrontierPoint:
    task: str
    option: str
    cost_share: float
    """Cost on the task's rows as a share of the best model's cost on every row."""
    quality: float
    """Quality on the task's rows."""
    accepted: float


def in_sample_frontier(
    table: OutcomeTable, agree: np.ndarray, budget: float = 0.35
) -> tuple[list[FrontierPoint], float, float, float | None]:
    """An upper bound, not a held-out figure: per task, the cost-quality frontier of every
    single model and every agree2 / vote cascade escalating to *any* model, scored on all
    rows; the best quality a mix of one frontier option per task reaches within ``budget``
    of the best model's cost, with its cost share; and the least cost share at which such
    a mix matches the best model's quality (None: never)."""
    tasks = np.array(table.tasks)
    best = int(np.argmax(table.success.mean(axis=0)))
    total = float(table.cost[:, best].sum())
    points: list[FrontierPoint] = []
    fronts: list[list[FrontierPoint]] = []
    for task in np.unique(tasks):
        rows = np.flatnonzero(tasks == task)
        options: list[tuple[_Option, int, Replay]] = []
        for j in range(len(table.models)):
            options.append(
                (_Option("single", (j,)), j, replay(table, agree, rows, "single", (j,), j))
            )
        for strong in range(len(table.models)):
            for kind in ("agree2", "vote"):
                for cheap in candidates(table, rows, kind, best):
                    if strong not in cheap:
                        result = replay(table, agree, rows, kind, cheap, strong)
                        options.append((_Option(kind, cheap), strong, result))
        options.sort(key=lambda o: float(o[2].cost.sum()))
        front: list[FrontierPoint] = []
        for option, strong, result in options:
            quality = float(result.success.mean())
            if front and quality <= front[-1].quality:
                continue
            label = option.label(table.models)
            if option.kind != "single":
                label += f", else {table.models[strong]}"
            front.append(
                FrontierPoint(
                    str(task), label, float(result.cost.sum()) / total, quality,
                    float(result.accepted.mean()),
                )
            )  # fmt: skip
        fronts.append(front)
        points += front
    sizes = [int((tasks == task).sum()) for task in np.unique(tasks)]
    target = float(table.success[:, best].mean()) - 1e-12
    top, top_cost, match = 0.0, 0.0, None
    for combo in itertools.product(*fronts):
        cost = sum(p.cost_share for p in combo)
        quality = sum(p.quality * n for p, n in zip(combo, sizes, strict=True)) / len(table)
        if cost <= budget and quality > top:
            top, top_cost = quality, cost
        if quality >= target and (match is None or cost < match):
            match = cost
    return points, top, top_cost, match
