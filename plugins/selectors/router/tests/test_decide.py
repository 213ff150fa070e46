"""The decision rule: utility and threshold modes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dynamic_orchestrator_router.decide import Knobs, choose_many, order

P = [0.60, 0.75, 0.95]
COST = [0.001, 0.004, 0.02]


def test_utility_trades_probability_for_money() -> None:
    # one sure success is worth $1: the 0.20 more of the best model is worth $0.20 > $0.016
    assert order(P, COST, Knobs("utility", willingness_to_pay=1.0))[0] == 2
    # worth only a cent: the cheapest model's 0.6 wins
    assert order(P, COST, Knobs("utility", willingness_to_pay=0.01)) == [0, 1, 2]
    # in between: the middle model's 0.15 more for $0.003 pays, the best one's does not
    assert order(P, COST, Knobs("utility", willingness_to_pay=0.05))[0] == 1


def test_threshold_takes_the_cheapest_that_meets_the_target() -> None:
    assert order(P, COST, Knobs("threshold", target=0.7)) == [1, 2, 0]
    assert order(P, COST, Knobs("threshold", target=0.5)) == [0, 1, 2]
    # nobody reaches it: the likeliest leads
    assert order(P, COST, Knobs("threshold", target=0.99)) == [2, 1, 0]


@pytest.mark.parametrize("mode", ["utility", "threshold"])
def test_choose_many_agrees_with_order(mode: str) -> None:
    rng = np.random.default_rng(7)
    p = rng.random((200, 4))
    cost = rng.random((200, 4)) / 100
    for knob in (0.001, 0.05, 0.5, 0.9, math.inf):
        if mode == "threshold" and knob > 1:
            continue
        knobs = Knobs(mode, target=knob, willingness_to_pay=knob)
        chosen = choose_many(p, cost, mode, knob)
        expected = [order(list(p[i]), list(cost[i]), knobs)[0] for i in range(200)]
        assert chosen.tolist() == expected


def test_describe_shows_the_knob() -> None:
    assert "$0.05 per success" in Knobs("utility", willingness_to_pay=0.05).describe()
    assert "p >= 0.8" in Knobs("threshold", target=0.8).describe()
