"""The trace sink: ``add`` only enqueues; a worker thread builds spans and exports them.

On the request path :meth:`TraceSink.add` appends the record to a bounded deque (no lock,
never blocks, never raises; a full queue drops the record and counts it). The worker
thread wakes every ``OTEL_BSP_SCHEDULE_DELAY`` milliseconds, or as soon as a batch is
full, encodes the spans of the waiting records (:mod:`dynamic_orchestrator_otel.spans`)
and posts them in one OTLP/HTTP request (:mod:`dynamic_orchestrator_otel.transport`).
The worker's own CPU time is kept (:attr:`TraceSink.worker_cpu_s`), so the cost of
tracing off the event loop can be reported, not guessed.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import RequestRecord

from .spans import SpanBuilder

BATCH = 256
log = get_logger("metrics.otel")


class Poster(Protocol):
    def post(self, body: bytes) -> bool: ...

    def close(self) -> None: ...


ContentSource = Callable[[str], Mapping[str, Any] | None]


class TraceSink:
    """One process's queue of finished requests on their way to an OTLP endpoint."""

    def __init__(
        self,
        transport: Poster,
        builder: SpanBuilder,
        *,
        schedule_delay_s: float = 5.0,
        max_queue_size: int = 2048,
        breakers: Callable[[], bool] = lambda: False,
        content: ContentSource | None = None,
    ) -> None:
        self.transport = transport
        self.builder = builder
        self.schedule_delay_s = schedule_delay_s
        self.max_queue_size = max_queue_size
        self.breakers = breakers
        self.content = content
        self.pending: deque[tuple[RequestRecord, Mapping[str, Any] | None]] = deque()
        self.dropped = 0
        self.exported_spans = 0
        self.failed_spans = 0
        self.worker_cpu_s = 0.0
        self._taken = 0
        self._done = 0
        self._progress = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the request path ----------------------------------------------------------------

    def add(self, record: RequestRecord) -> None:
        """Queue a finished request; a full queue drops it (counted)."""
        if len(self.pending) >= self.max_queue_size or self._stop.is_set():
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.warning("trace_records_dropped", dropped=self.dropped)
            return
        content = self.content(record.request_id) if self.content is not None else None
        self.pending.append((record, content))
        if len(self.pending) >= BATCH and not self._wake.is_set():
            self._wake.set()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker. Idempotent."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="metrics-otel", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def flush(self, timeout: float = 10.0) -> bool:
        """Export every record queued so far; False when that took longer than ``timeout``."""
        target = len(self.pending) + self._taken
        if self._thread is None:
            return self._done >= target
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Export what is queued, stop the worker, close the connection."""
        atexit.unregister(self.close)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("trace_worker_still_running", queued=len(self.pending))
                return
        try:
            self.transport.close()
        except Exception as exc:
            log.warning("trace_transport_close_failed", error=repr(exc))

    # --- the worker thread --------------------------------------------------------------

    def _run(self) -> None:
        cpu0 = time.thread_time()
        while True:
            batch = self._take()
            if batch:
                self._export(batch)
                self.worker_cpu_s = time.thread_time() - cpu0
                continue
            if self._stop.is_set():
                return
            self._wake.wait(self.schedule_delay_s)
            self._wake.clear()

    def _take(self) -> list[tuple[RequestRecord, Mapping[str, Any] | None]]:
        batch: list[tuple[RequestRecord, Mapping[str, Any] | None]] = []
        pending = self.pending
        while pending and len(batch) < BATCH:
            batch.append(pending.popleft())
        self._taken += len(batch)
        return batch

    def _export(self, batch: list[tuple[RequestRecord, Mapping[str, Any] | None]]) -> None:
        spans: list[bytes] = []
        try:
            breakers = self.breakers()
            build = self.builder.build
            for record, content in batch:
                spans.extend(build(record, breakers=breakers, content=content))
            if self.transport.post(self.builder.encoder.request(spans)):
                self.exported_spans += len(spans)
            else:
                self.failed_spans += len(spans)
        except Exception as exc:  # a broken endpoint never stops the worker
            self.failed_spans += len(spans)
            log.warning("trace_export_failed", error=repr(exc))
        with self._progress:
            self._done += len(batch)
            self._progress.notify_all()
