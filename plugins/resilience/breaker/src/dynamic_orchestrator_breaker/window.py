"""The sliding windows a breaker judges its rates over (resilience4j's two kinds).

- :class:`CountWindow`: the outcomes of the last ``size`` requests (``COUNT_BASED``).
- :class:`TimeWindow`: the outcomes of the last ``seconds`` seconds (``TIME_BASED``), kept
  as one aggregate per epoch second, so its memory and cost per outcome do not grow with
  the traffic: the window is the current second and the ``seconds - 1`` before it.

Both keep running totals (calls, failures, slow calls), so recording an outcome and
reading the rates take constant time. Not thread-safe: the breaker's lock covers them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Totals:
    """What a window holds: calls, and how many of them failed or were slow."""

    calls: int = 0
    failures: int = 0
    slow: int = 0


class Window(Protocol):
    """A sliding window of request outcomes."""

    def add(self, failed: bool, slow: bool, now: float) -> None:
        """Enter one outcome, observed at ``now`` (the breaker's clock)."""
        ...

    def totals(self, now: float) -> Totals:
        """The outcomes still in the window at ``now``."""
        ...

    def clear(self) -> None:
        """Forget every outcome (the breaker closed again)."""
        ...


class CountWindow:
    """The last ``size`` outcomes."""

    def __init__(self, size: int) -> None:
        self._outcomes: deque[tuple[bool, bool]] = deque(maxlen=size)
        self._failures = 0
        self._slow = 0

    def add(self, failed: bool, slow: bool, now: float) -> None:
        outcomes = self._outcomes
        if len(outcomes) == outcomes.maxlen:
            old_failed, old_slow = outcomes[0]
            self._failures -= old_failed
            self._slow -= old_slow
        outcomes.append((failed, slow))
        self._failures += failed
        self._slow += slow

    def totals(self, now: float) -> Totals:
        return Totals(len(self._outcomes), self._failures, self._slow)

    def clear(self) -> None:
        self._outcomes.clear()
        self._failures = self._slow = 0


class TimeWindow:
    """The outcomes of the last ``seconds`` seconds, one aggregate per epoch second."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        # [second, calls, failures, slow], oldest first.
        self._buckets: deque[list[int]] = deque()
        self._calls = self._failures = self._slow = 0

    def add(self, failed: bool, slow: bool, now: float) -> None:
        self._expire(now)
        second = int(now)
        buckets = self._buckets
        # A clock stepped back lands in the newest bucket: the order stays sorted.
        if not buckets or buckets[-1][0] < second:
            buckets.append([second, 0, 0, 0])
        bucket = buckets[-1]
        bucket[1] += 1
        bucket[2] += failed
        bucket[3] += slow
        self._calls += 1
        self._failures += failed
        self._slow += slow

    def totals(self, now: float) -> Totals:
        self._expire(now)
        return Totals(self._calls, self._failures, self._slow)

    def clear(self) -> None:
        self._buckets.clear()
        self._calls = self._failures = self._slow = 0

    def _expire(self, now: float) -> None:
        oldest = int(now) - self.seconds + 1
        buckets = self._buckets
        while buckets and buckets[0][0] < oldest:
            _, calls, failures, slow = buckets.popleft()
            self._calls -= calls
            self._failures -= failures
            self._slow -= slow


def make_window(kind: str, size: int, seconds: int) -> Window:
    """The window of a breaker: ``count`` (the last ``size`` requests) or ``time`` (the last
    ``seconds`` seconds)."""
    if kind == "time":
        return TimeWindow(seconds)
    return CountWindow(size)
