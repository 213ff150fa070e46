"""The decision rule: from per-model success probabilities and costs to an order of models.

Two modes, one knob each:

- ``utility``: the highest ``p - cost / willingness_to_pay`` first, where
  ``willingness_to_pay`` is the USD one sure success is worth to you (a higher value buys
  quality more readily; its inverse is the price weight λ of ``p - λ·cost``);
- ``threshold``: the cheapest model whose ``p`` reaches ``target`` first, then the others
  by ``p``; when none reaches it, the most likely to succeed leads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_WTP = 1.0
DEFAULT_TARGET = 0.8


@dataclass(frozen=True)
class Knobs:
    mode: str = "utility"
    target: float = DEFAULT_TARGET
    willingness_to_pay: float = DEFAULT_WTP

    def describe(self) -> str:
        if self.mode == "utility":
            return f"utility mode: p - cost / ${self.willingness_to_pay:.6g} per success"
        return f"threshold mode: cheapest model with p >= {self.target:.4g}"


def order(
    p: Sequence[float] | np.ndarray, cost: Sequence[float] | np.ndarray, knobs: Knobs
) -> list[int]:
    """Indices of the models, best first, by the knobs' rule."""
    indices = range(len(p))
    if knobs.mode == "utility":
        wtp = knobs.willingness_to_pay
        return sorted(indices, key=lambda j: (-(p[j] - cost[j] / wtp), cost[j]))
    meeting = sorted((j for j in indices if p[j] >= knobs.target), key=lambda j: (cost[j], -p[j]))
    chosen = set(meeting)
    rest = sorted((j for j in indices if j not in chosen), key=lambda j: (-p[j], cost[j]))
    return meeting + rest


def choose_many(p: np.ndarray, cost: np.ndarray, mode: str, knob: float) -> np.ndarray:
    """The first choice for every row of (n, k) arrays: ``knob`` is the wtp or the target."""
    choice: np.ndarray
    if mode == "utility":
        choice = np.argmax(p if math.isinf(knob) else p - cost / knob, axis=1)
        return choice
    meets = p >= knob
    masked = np.where(meets, cost, np.inf)
    cheapest = np.argmin(masked, axis=1)
    choice = np.where(meets.any(axis=1), cheapest, np.argmax(p, axis=1))
    return choice
