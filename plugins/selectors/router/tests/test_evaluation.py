"""Cross-validation, curves, baselines and RouteLLM's metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dynamic_orchestrator_router.evaluation import (
    cross_validate,
    figures,
    fold_ids,
    sweeps,
    value_at,
    x_to_reach,
)
from dynamic_orchestrator_router.outcomes import read_outcomes
from dynamic_orchestrator_router.training import TrainOptions


def test_curve_reading() -> None:
    path = [(1.0, 0.5), (2.0, 0.7), (4.0, 0.8), (3.0, 0.6)]
    assert value_at(path, 1.5) == pytest.approx(0.6)
    assert value_at(path, 3.5) == pytest.approx(0.775)  # the best within the budget
    assert value_at(path, 0.5) is None
    assert x_to_reach(path, 0.75) == pytest.approx(3.0)
    assert x_to_reach(path, 0.5) == 1.0
    assert x_to_reach(path, 0.9) is None


def test_folds_partition_the_rows() -> None:
    ids = fold_ids(103, 5, seed=3)
    counts = np.bincount(ids)
    assert counts.sum() == 103 and counts.max() - counts.min() <= 1
    assert not np.array_equal(ids, fold_ids(103, 5, seed=4))


@pytest.fixture(scope="module")
def evaluated(routerbench_csv: Path) -> tuple:
    table = read_outcomes([routerbench_csv]).complete()
    pred = cross_validate(table, TrainOptions(), folds=3, seed=0)
    return table, pred, sweeps(table, pred), sweeps(table, pred, flat=True)


def test_cross_validation_predicts_held_out_prompts(evaluated: tuple) -> None:
    table, pred, _, _ = evaluated
    big = table.models.index("big")
    assert pred.probability.shape == (len(table), 3)
    assert (pred.best == big).all() and (pred.cheapest == table.models.index("tiny")).all()
    # per task statistics come from the training folds: math prompts have tiny at 0
    math_rows = [i for i, t in enumerate(table.tasks) if t == "math"]
    assert np.allclose(pred.task_success[math_rows, table.models.index("tiny")], 0.0)


def test_router_beats_the_blind_baselines_on_structured_data(evaluated: tuple) -> None:
    _, _, cost_sweeps, share_sweeps = evaluated
    figs = figures(cost_sweeps, share_sweeps)
    router, mix, oracle = figs["router_utility"], figs["random_mix"], figs["oracle"]
    assert router.quality_at_35 is not None and mix.quality_at_35 is not None
    assert router.quality_at_35 > mix.quality_at_35 + 0.2
    assert router.cost_to_match is not None and router.cost_to_match < 0.5
    assert oracle.quality_at_35 is not None and oracle.quality_at_35 >= router.quality_at_35
    # the random mix is RouteLLM's random router in expectation: CPT(x) = x, APGR = 1/2
    assert mix.cpt50 == pytest.approx(0.5) and mix.cpt80 == pytest.approx(0.8)
    assert mix.apgr == pytest.approx(0.5)
    assert router.apgr is not None and router.apgr > 0.7
    # a single model is a point, not a curve
    assert figs["cheapest"].apgr is None and figs["best_single"].cost_to_match == 1.0


def test_per_task_baseline_knows_the_tasks(evaluated: tuple) -> None:
    _, _, cost_sweeps, _ = evaluated
    figs = figures(cost_sweeps)
    # the tasks are the structure here, so the best model per task is as good as the router
    assert figs["per_task"].quality_at_35 == pytest.approx(
        figs["router_utility"].quality_at_35, abs=0.05
    )


def test_folds_must_fit(routerbench_csv: Path) -> None:
    table = read_outcomes([routerbench_csv]).complete()
    with pytest.raises(ValueError, match="folds"):
        cross_validate(table.subset([0, 1, 2]), TrainOptions(), folds=5)


def test_cascade_replay_counts_every_call_and_escalates_disagreement(routerbench_csv: Path) -> None:
    from dynamic_orchestrator_router.cascade_eval import agreement, keys_of, replay

    table = read_outcomes([routerbench_csv]).complete()
    keys = keys_of(table)
    agree = agreement(table)
    rows = np.arange(len(table))
    strong = int(np.argmax(table.success.mean(axis=0)))
    cheap = [j for j in range(len(table.models)) if j != strong][:2]
    result = replay(table, agree, rows, "agree2", cheap, strong)
    agreed = np.array([a is not None and a == b for a, b in keys[:, cheap]])
    expected_cost = table.cost[:, cheap].sum() + table.cost[~agreed, strong].sum()
    assert result.cost.sum() == pytest.approx(expected_cost)
    assert result.accepted.mean() == pytest.approx(agreed.mean())
    expected = np.where(agreed, table.success[:, cheap[0]], table.success[:, strong]).mean()
    assert result.success.mean() == pytest.approx(expected)


def test_vote_pays_the_third_call_only_on_disagreement() -> None:
    from dynamic_orchestrator_router.cascade_eval import replay
    from dynamic_orchestrator_router.outcomes import OutcomeTable

    # four prompts: the first two cheap answers agree / the third sides with the first /
    # with the second / with neither; model 3 is the strong one
    cost = np.array([[1.0, 2.0, 4.0, 100.0]] * 4)
    success = np.array([[1, 0, 0, 1], [1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=float)
    table = OutcomeTable(["p"] * 4, ["t"] * 4, ["a", "b", "c", "s"], success, cost)
    agree = np.zeros((4, 4, 4), dtype=bool)
    agree[0, 0, 1] = agree[0, 1, 0] = True
    agree[1, 0, 2] = agree[1, 2, 0] = True
    agree[2, 1, 2] = agree[2, 2, 1] = True
    result = replay(table, agree, np.arange(4), "vote", (0, 1, 2), 3)
    assert result.cost.tolist() == [3.0, 7.0, 7.0, 107.0]
    assert result.accepted.tolist() == [True, True, True, False]
    assert result.success.tolist() == [1.0, 1.0, 1.0, 1.0]  # a, a, b, then the strong model


def test_scorer_fits_have_one_weight_per_feature_the_plugin_reads(routerbench_csv: Path) -> None:
    from dynamic_orchestrator.answers import FEATURES
    from dynamic_orchestrator_router.cascade_eval import agreement, fit_scorers

    table = read_outcomes([routerbench_csv]).complete()
    table.success[::4] = 1.0 - table.success[::4]  # every model right and wrong in each task
    fits = fit_scorers(table, agreement(table))
    assert len(fits) == len(set(table.tasks))
    for fit in fits:
        assert len(fit.weights) == len(FEATURES) + 1 and len(fit.pair) == 2
