"""The persistent sink: ``add`` only enqueues; a writer thread inserts in batches.

``add`` never blocks and never raises: when the bounded queue is full (the disk is slower
than the traffic) the record is dropped and counted. The writer takes up to
:data:`BATCH` records at a time and inserts them with one ``executemany`` in one
transaction, retrying a locked or busy file a few times before dropping the batch
(counted too). Every :data:`PRUNE_EVERY` seconds it deletes rows older than the retention.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
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
        self.retention_seconds = retention_days * 86_400
        self.clock = clock
        self.queue: queue.Queue[RequestRecord] = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self.written = 0
        self.error: str | None = None
        self._accepted = 0
        self._done = 0  # written or dropped by the writer
        self._progress = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    # --- the request path ----------------------------------------------------------------

    def add(self, record: RequestRecord) -> None:
        """Enqueue a record; when the queue is full or the store is broken, count a drop."""
        if self.error is not None or self._stop.is_set():
            self._drop(1, "store unavailable")
            return
        with self._progress:
            try:
                self.queue.put_nowait(record)
            except queue.Full:
                pass
            else:
                self._accepted += 1
                return
        self._drop(1, "queue full")

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
            self.error = f"cannot open {self.path}: {exc}"
            log.warning("metrics_store_unavailable", path=str(self.path), error=str(exc))
            return
        self._thread = threading.Thread(target=self._run, name="metrics-sqlite", daemon=True)
        self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every record enqueued so far is written (or dropped); False on timeout."""
        target = self._accepted
        if self._thread is None:
            return self._done >= target
        with self._progress:
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("metrics_writer_still_running", queued=self.queue.qsize())

    # --- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = store.connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            self.error = f"cannot open {self.path}: {exc}"
            log.warning("metrics_store_unavailable", path=str(self.path), error=str(exc))
            self._discard_queue()
            return
        try:
            self._prune(conn)
            while True:
                batch = self._take()
                if batch:
                    self._write(conn, batch)
                elif self._stop.is_set():
                    return
                if self.clock() - self._last_prune >= PRUNE_EVERY:
                    self._prune(conn)
        finally:
            conn.close()

    def _discard_queue(self) -> None:
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return
            self._drop(1, "store unavailable")
            with self._progress:
                self._done += 1
                self._progress.notify_all()

    def _take(self) -> list[RequestRecord]:
        try:
            batch = [self.queue.get(timeout=IDLE_WAKE)]
        except queue.Empty:
            return []
        while len(batch) < BATCH:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

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
        with self._progress:
            self._done += len(batch)
            self._progress.notify_all()

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
        extra: dict[str, object] = {"sink": "sqlite", "path": str(self.path)}
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
