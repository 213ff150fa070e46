"""The persistent sink: ``add`` only enqueues; a writer thread inserts in batches.

``add`` never blocks, takes no lock and never raises: it appends to a deque
(``deque.append`` is atomic) and, when ``queue_size`` records are not yet committed (queued
or in the batch being written: the disk is slower than the traffic) or the store is
unavailable, drops the record and counts it. So a process killed outright (``SIGKILL``)
loses at most ``queue_size`` records it accepted: the rest were committed. The writer lets
records gather for :data:`LINGER` seconds, then takes up to :data:`BATCH` at a time and
inserts them with one ``executemany`` in one transaction, retrying a locked or busy file a
few times before dropping the batch (counted too). Every :data:`PRUNE_EVERY` seconds it
deletes rows older than the retention.

``queue.Queue`` would do, but its lock and condition on every put cost more than the rest
of the request path's record keeping; a deque and an event cost a fraction of that.
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import MetricsSummary, RequestRecord
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from . import store

BATCH = 2_000
PRUNE_EVERY = 600.0
IDLE_WAKE = 0.5
LINGER = 0.05
"""Seconds the writer lets a batch gather once woken: one transaction (and one wake-up of
its thread, which then competes for the interpreter with the event loop) per 50 ms of
traffic, not one per record."""

log = get_logger("metrics.sqlite")


class SQLiteSink:
    """One process's writer into one SQLite file. Thread-safe."""

    def __init__(
        self,
        path: Path,
        *,
        queue_size: int = 10_000,
        retention_days: float = 7.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.queue_size = queue_size
        self.retention_seconds = retention_days * 86_400
        self.clock = clock
        self.pending: deque[RequestRecord] = deque()
        self.dropped = 0
        self.written = 0
        self.error: str | None = None
        self._taken = 0  # records the writer took off the deque
        self._done = 0  # ... and has written or dropped
        self._progress = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    # --- the request path ----------------------------------------------------------------

    def add(self, record: RequestRecord) -> None:
        """Enqueue a record; when the queue is full or the store is broken, count a drop."""
        if self.error is not None or self._stop.is_set():
            self._drop(1, "store unavailable")
        elif self.uncommitted() >= self.queue_size:
            self._drop(1, "queue full")
        else:
            self.pending.append(record)
            if not self._wake.is_set():
                self._wake.set()

    def uncommitted(self) -> int:
        """Records accepted and not yet written (or dropped): what a ``SIGKILL`` would lose."""
        # In this order, against the writer's (count as taken, then pop; finish after the
        # commit), a record moving from the deque to a batch is counted at least once.
        return len(self.pending) + self._taken - self._done

    def _drop(self, count: int, why: str) -> None:
        with self._progress:
            before = self.dropped
            self.dropped += count
        if before == 0 or before // 10_000 != self.dropped // 10_000:
            log.warning("metrics_records_dropped", sink="sqlite", dropped=self.dropped, why=why)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Open the file (create, migrate) and start the writer. Idempotent; never raises."""
        if self._thread is not None:
            return
        try:
            store.connect(self.path).close()
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)
            return
        self._thread = threading.Thread(target=self._run, name="metrics-sqlite", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # an orchestrator never closed still gets its records written

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every record enqueued so far is written (or dropped); False on timeout."""
        with self._progress:  # the writer takes a batch under it: each record counted once
            target = len(self.pending) + self._taken
            if self._thread is None:
                return self._done >= target
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer."""
        atexit.unregister(self.close)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("metrics_writer_still_running", queued=len(self.pending))
                return
        self._discard_pending()  # never started, or a record slipped in as it stopped

    def _fail(self, exc: BaseException) -> None:
        self.error = f"cannot open {self.path}: {exc}"
        log.warning("metrics_store_unavailable", path=str(self.path), error=str(exc))

    # --- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = store.connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)
            self._discard_pending()
            return
        try:
            self._prune(conn)
            while True:
                if self.pending and len(self.pending) < BATCH:
                    self._stop.wait(LINGER)  # returns at once when closing
                batch = self._take()
                if batch:
                    self._write(conn, batch)
                elif self._stop.is_set():
                    return
                else:
                    self._wake.clear()  # then look again, so no append is missed
                    if not self.pending and not self._stop.is_set():
                        self._wake.wait(IDLE_WAKE)
                if self.clock() - self._last_prune >= PRUNE_EVERY:
                    self._prune(conn)
        finally:
            conn.close()

    def _take(self) -> list[RequestRecord]:
        batch: list[RequestRecord] = []
        pending = self.pending
        with self._progress:
            while pending and len(batch) < BATCH:
                self._taken += 1  # before the pop: see uncommitted()
                batch.append(pending.popleft())
        return batch

    def _discard_pending(self) -> None:
        batch = self._take()
        while batch:
            self._drop(len(batch), "store unavailable")
            self._finish(len(batch))
            batch = self._take()

    def _finish(self, count: int) -> None:
        with self._progress:
            self._done += count
            self._progress.notify_all()

    def _write(self, conn: sqlite3.Connection, batch: list[RequestRecord]) -> None:
        try:
            rows = [store.to_row(record) for record in batch]
            for attempt in Retrying(
                stop=stop_after_attempt(4),
                wait=wait_exponential(multiplier=0.05, max=1.0),
                retry=retry_if_exception_type(sqlite3.OperationalError),
                reraise=True,
            ):
                with attempt:
                    store.insert(conn, rows)
            self.written += len(batch)
        except Exception as exc:
            log.warning("metrics_write_failed", path=str(self.path), error=repr(exc))
            self._drop(len(batch), "write failed")
        self._finish(len(batch))

    def _prune(self, conn: sqlite3.Connection) -> None:
        self._last_prune = self.clock()
        try:
            store.prune(conn, self._last_prune - self.retention_seconds)
        except sqlite3.Error as exc:
            log.warning("metrics_prune_failed", path=str(self.path), error=repr(exc))

    # --- reading -----------------------------------------------------------------------

    def summary(self, period: str) -> MetricsSummary:
        """The period's summary from the file: every process's records, this one's flushed."""
        notes: list[str] = []
        extra: dict[str, object] = {
            "sink": "sqlite",
            "path": str(self.path),
            "percentile_relative_accuracy": 0.0,  # exact
        }
        if self.error is not None:
            return MetricsSummary(
                period=period,  # type: ignore[arg-type]
                notes=[f"persistent metrics unavailable: {self.error}"],
                extra=extra,
            )
        if not self.flush(timeout=2.0):
            notes.append("some of this process's records were still being written")
        extra["dropped_records"] = self.dropped
        if self.dropped:
            notes.append(
                f"{self.dropped} records were dropped by this process (queue full or write "
                "failed): the figures are short by at least that many"
            )
        conn = store.connect(self.path)
        try:
            return store.read_summary(conn, period, self.clock(), notes=notes, extra=extra)
        finally:
            conn.close()
