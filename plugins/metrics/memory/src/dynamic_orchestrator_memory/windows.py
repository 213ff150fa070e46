"""Rolling windows in bounded memory: a ring of time buckets per period.

Each period (``1m``, ``5m``, ``1h``, ``1d``) is a ring of :data:`BUCKETS` buckets of
``period / BUCKETS`` seconds (1 s, 5 s, 1 min, 24 min). A bucket holds exact
:class:`~dynamic_orchestrator.summary.Totals` and a DDSketch of durations. A window is the
current bucket and the ``BUCKETS - 1`` before it: it covers the last period to one
bucket's resolution (between 59/60 and all of it), and every count in it is exact.

Percentiles come from `ddsketch <https://github.com/DataDog/sketches-py>`_: with relative
accuracy ``α`` = :data:`RELATIVE_ACCURACY`, a reported quantile is within ``α`` of the
exact value of the same rank (the sorted durations' element ``floor(q * (n - 1))``),
whatever the traffic. Its store is capped at :data:`BIN_LIMIT` bins, which keeps that
guarantee while the largest and smallest non-zero durations of a window are within a
ratio of about 6 × 10^17 (a nanosecond and three years); zeros are counted exactly.
Memory is therefore bounded by the number of buckets (4 × 60), never by the number of
requests.

A query merges the closed buckets once per bucket tick and caches the result, so most
summaries cost one merge of that cache with the current bucket. The rebuild after a tick
reuses the merged aggregate of each whole block of :data:`BLOCK` closed buckets, so it
costs about 20 merges instead of 59.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ddsketch import LogCollapsingLowestDenseDDSketch
from dynamic_orchestrator.models import PERIOD_SECONDS, MetricsSummary, RequestRecord
from dynamic_orchestrator.summary import QUANTILES, Totals, summarize

BUCKETS = 60
BLOCK = 8
RELATIVE_ACCURACY = 0.01
BIN_LIMIT = 2048

Sketch = LogCollapsingLowestDenseDDSketch


def new_sketch() -> Sketch:
    """An empty duration sketch with this module's accuracy and bin cap."""
    return Sketch(relative_accuracy=RELATIVE_ACCURACY, bin_limit=BIN_LIMIT)


class _Bucket:
    __slots__ = ("index", "sketch", "totals")

    def __init__(self, index: int) -> None:
        self.index = index
        self.totals = Totals()
        self.sketch = new_sketch()


class RollingWindow:
    """One period's ring of buckets. Not thread-safe: :class:`MemorySink` locks it."""

    def __init__(self, period: str, buckets: int = BUCKETS) -> None:
        self.period = period
        self.buckets = buckets
        self.width = PERIOD_SECONDS[period] / buckets
        self._ring: list[_Bucket | None] = [None] * buckets
        self._closed_at: int | None = None  # the tick the closed cache was built for
        self._closed = Totals()
        self._closed_sketch = new_sketch()
        self._blocks: dict[int, tuple[Totals, Sketch]] = {}  # whole closed blocks, merged

    def add(self, timestamp: float, record: RequestRecord) -> None:
        """Count a record in the bucket of its timestamp; too old for the ring: ignored."""
        index = math.floor(timestamp / self.width)
        slot = index % self.buckets
        bucket = self._ring[slot]
        if bucket is None or bucket.index < index:
            bucket = self._ring[slot] = _Bucket(index)
        elif bucket.index > index:
            return  # older than anything this window can still show
        bucket.totals.add(record)
        bucket.sketch.add(record.duration_ms)
        if self._closed_at is not None and index < self._closed_at:
            self._closed_at = None  # a late record changed a closed bucket
        if self._blocks:
            self._blocks.pop(index // BLOCK, None)

    def snapshot(self, now: float) -> tuple[Totals, Sketch]:
        """Totals and duration sketch of the window ending now."""
        tick = math.floor(now / self.width)
        if self._closed_at != tick:
            self._rebuild_closed(tick)
        totals = self._closed.copy()
        sketch = new_sketch()
        sketch.merge(self._closed_sketch)
        current = self._ring[tick % self.buckets]
        if current is not None and current.index == tick:
            totals.merge(current.totals)
            sketch.merge(current.sketch)
        return totals, sketch

    def _bucket(self, index: int) -> _Bucket | None:
        bucket = self._ring[index % self.buckets]
        return bucket if bucket is not None and bucket.index == index else None

    def _block(self, block: int) -> tuple[Totals, Sketch]:
        cached = self._blocks.get(block)
        if cached is None:
            totals, sketch = Totals(), new_sketch()
            for index in range(block * BLOCK, (block + 1) * BLOCK):
                bucket = self._bucket(index)
                if bucket is not None:
                    totals.merge(bucket.totals)
                    sketch.merge(bucket.sketch)
            cached = self._blocks[block] = (totals, sketch)
        return cached

    def _rebuild_closed(self, tick: int) -> None:
        """Merge the closed buckets ``[tick - buckets + 1, tick)``, whole blocks from cache."""
        oldest = tick - self.buckets + 1
        totals, sketch = Totals(), new_sketch()
        index = oldest
        while index < tick:
            if index % BLOCK == 0 and index + BLOCK <= tick:
                part_totals, part_sketch = self._block(index // BLOCK)
                index += BLOCK
            else:
                bucket = self._bucket(index)
                index += 1
                if bucket is None:
                    continue
                part_totals, part_sketch = bucket.totals, bucket.sketch
            totals.merge(part_totals)
            sketch.merge(part_sketch)
        for block in [b for b in self._blocks if b < oldest // BLOCK]:
            del self._blocks[block]
        self._closed, self._closed_sketch, self._closed_at = totals, sketch, tick


def percentiles(sketch: Sketch) -> tuple[float, float, float]:
    """p50, p95 and p99 of a sketch (zeros when it is empty)."""
    values = [sketch.get_quantile_value(q) or 0.0 for q in QUANTILES]
    return values[0], values[1], values[2]


class MemorySink:
    """This process's live windows behind ``get_metrics``: thread-safe, bounded memory."""

    def __init__(self, clock: Callable[[], float] = time.time, buckets: int = BUCKETS) -> None:
        self.clock = clock
        self.windows = {period: RollingWindow(period, buckets) for period in PERIOD_SECONDS}
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        """Count a record in every window."""
        timestamp = record.timestamp
        with self._lock:
            for window in self.windows.values():
                window.add(timestamp, record)

    def summary(self, period: str) -> MetricsSummary:
        """The summary of the window ending now."""
        window = self.windows[period]
        with self._lock:
            totals, sketch = window.snapshot(self.clock())
        return summarize(
            period,
            totals,
            percentiles(sketch),
            extra={
                "sink": "memory",
                "resolution_seconds": window.width,
                "percentile_relative_accuracy": RELATIVE_ACCURACY,
            },
        )
