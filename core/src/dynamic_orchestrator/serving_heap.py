"""Garbage collection tuned for a process that serves requests and owns itself.

After start-up a server process holds ~120,000 long-lived objects (the model catalog, the
classifier's tables, the SDKs' and web stack's modules). CPython's full collections scan
all of them: on the gateway benchmark's machine ~120 ms each, a few per thousand streams,
each a stall for every request in flight; young collections ran every 700 allocations, a
few per streamed call. :func:`settle_heap` collects once, freezes what start-up left
(``gc.freeze``: never scanned again, still freed when its last reference goes) and raises
the young generation's threshold, so a request's short-lived objects are collected in
fewer passes over only the objects made since. The gateway's collector time per stream
fell from ~0.35 ms to ~0.01 ms (``benchmarks/gateway_overhead.py``'s setting).

Only the commands that own their process call it (``gateway``, ``claude``, ``serve
--transport http``): a library embedded in someone's application leaves their collector
alone.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

YOUNG_THRESHOLD = 10_000
"""Allocations between young collections (CPython's default: 700)."""


def settle_heap() -> None:
    """Collect, freeze what start-up left, and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
