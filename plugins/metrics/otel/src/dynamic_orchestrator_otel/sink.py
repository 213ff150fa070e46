"""The trace sink: the serving process queues rows; an exporter process does the rest.

Building and encoding a request's spans costs far more CPU than routing it, and in the
serving process that CPU holds the GIL the event loop needs, even from a thread. So the
serving process only keeps a row per request, and a child process
(:mod:`dynamic_orchestrator_otel.exporter`) encodes and posts:

- :meth:`TraceSink.add` (the record hook) turns the record into a row of plain values
  packed into bytes (:mod:`dynamic_orchestrator_otel.rows`) and appends it to a bounded
  deque: a few microseconds, never blocks, never raises; a full queue drops the row and
  counts it. The queue holds bytes, which the garbage collector does not track, so rows
  waiting for their batch never bring on a collection of the oldest generation.
- A sender thread wakes every ``OTEL_BSP_SCHEDULE_DELAY`` milliseconds, or as soon as
  :data:`BATCH` rows wait (or on flush and close): one wake-up per batch, not per request.
  It writes the waiting rows to the exporter's pipe at once (the rows are bytes already:
  one pickle of a list of them, a copy), then waits (GIL released) for the exporter's
  answer: spans accepted and refused.
- The exporter is started by the sender thread as soon as the sink starts, so its
  start-up is paid in the background, not by the first request. stdin and stdout are
  ``/dev/null`` to it (a stdio MCP server owns both); it logs to the shared stderr.
- An exporter that dies is started again (at most :data:`MAX_RESTARTS` times): a batch
  it never received is sent to the new one; a batch it held when it died is lost. Both
  are logged and counted (:attr:`TraceSink.restarts`, :attr:`TraceSink.lost`), as are
  rows given up on once it cannot be started.
- :meth:`TraceSink.close` sends what is queued, lets the exporter post it, and waits for
  it to exit.

CPU is kept apart: :attr:`TraceSink.sender_cpu_s` (the sender thread, in this process)
and :attr:`TraceSink.exporter_cpu_s` (the exporter processes), so the cost of tracing is
reported, not guessed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import RequestRecord

from .rows import ATTEMPT_FIELDS, RECORD_FIELDS, Packed, pack, to_row

BATCH = 512  # rows sent to the exporter at once, at most
MAX_RESTARTS = 5
EXIT_WAIT_S = 10.0
EXPORTER = (sys.executable, "-m", "dynamic_orchestrator_otel.exporter")
log = get_logger("metrics.otel")

ContentSource = Callable[[str], Mapping[str, Any] | None]


class _Child:
    """One exporter process and the two pipes to it."""

    def __init__(self, command: Sequence[str]) -> None:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        try:
            self.process = subprocess.Popen(
                [*command, str(to_child), str(from_child)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(to_child, from_child),
                start_new_session=True,
            )
        except BaseException:
            for fd in (to_child, from_parent, to_parent, from_child):
                os.close(fd)
            raise
        os.close(to_child)
        os.close(from_child)
        self.outbox = Connection(from_parent, readable=False)
        self.inbox = Connection(to_parent, writable=False)
        self.cpu_s = 0.0

    def stop(self, timeout: float) -> None:
        """Ask the exporter to exit once its work is done; kill it after ``timeout``."""
        with contextlib.suppress(OSError):  # already gone
            self.outbox.send_bytes(pickle.dumps(None))
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("trace_exporter_killed", pid=self.process.pid, waited_s=timeout)
            self.process.kill()
            self.process.wait()
        self.outbox.close()
        self.inbox.close()


class TraceSink:
    """One process's queue of finished requests on their way to an OTLP endpoint."""

    def __init__(
        self,
        *,
        schedule_delay_s: float = 5.0,
        max_queue_size: int = 2048,
        breakers: Callable[[], bool] = lambda: False,
        content: ContentSource | None = None,
        command: Sequence[str] = EXPORTER,
    ) -> None:
        self.schedule_delay_s = schedule_delay_s
        self.max_queue_size = max_queue_size
        self.breakers = breakers
        self.content = content
        self.command = tuple(command)
        self.pending: deque[Packed] = deque()
        self.dropped = 0  # rows refused by a full queue
        self.lost = 0  # rows an exporter died with, or that none could take
        self.restarts = 0
        self.exported_spans = 0
        self.failed_spans = 0
        self.sender_cpu_s = 0.0
        self.exporter_cpu_s = 0.0
        self._queued = 0
        self._done = 0
        self._child: _Child | None = None
        self._started = 0  # exporters started
        self._cpu_before = 0.0  # CPU of the exporters that are gone
        self._cpu0 = 0.0  # the sender thread's CPU clock when it started
        self._progress = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closing = False  # _stop, as a plain attribute the request path reads cheaply
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The running exporter's process id, if one runs."""
        child = self._child
        return None if child is None else child.process.pid

    # --- the request path ----------------------------------------------------------------

    def add(self, record: RequestRecord) -> None:
        """Queue a finished request's row; a full queue drops it (counted)."""
        pending = self.pending
        if len(pending) >= self.max_queue_size or self._closing:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.warning("trace_records_dropped", dropped=self.dropped)
            return
        content = None if self.content is None else self.content(record.request_id)
        pending.append(pack(to_row(record, content)))
        self._queued += 1
        if len(pending) % BATCH == 0:  # a batch is ready: one wake-up for BATCH requests
            self._wake.set()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the sender thread, which starts the exporter. Idempotent."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="metrics-otel", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def flush(self, timeout: float = 10.0) -> bool:
        """Export every row queued so far; False when that took longer than ``timeout``."""
        target = self._queued
        if self._thread is None:
            return self._done >= target
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, let the exporter post it, and wait for it to exit."""
        atexit.unregister(self.close)
        self._closing = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + EXIT_WAIT_S)
            if self._thread.is_alive():
                log.warning("trace_sender_still_running", queued=len(self.pending))

    # --- the sender thread --------------------------------------------------------------

    def _run(self) -> None:
        self._cpu0 = time.thread_time()
        self._ensure_child()  # start-up in the background, before the first batch
        while True:
            if not self._stop.is_set() and len(self.pending) < BATCH:
                self._wake.wait(self.schedule_delay_s)
                self._wake.clear()
            # What waits now, in batches; rows that come meanwhile wait for the next turn,
            # so a busy exporter is not fed a trickle of tiny batches.
            todo = len(self.pending)
            while todo > 0:
                rows = self._take(min(todo, BATCH))
                todo -= len(rows)
                self._send(rows)
            if self._stop.is_set() and not self.pending:
                break
        if self._child is not None:
            self._child.stop(EXIT_WAIT_S)
            self._child = None

    def _take(self, count: int) -> list[Packed]:
        popleft = self.pending.popleft
        return [popleft() for _ in range(count)]

    def _ensure_child(self) -> _Child | None:
        """The running exporter; a new one when it is gone; None when none can be had.

        A new exporter says it is ready (its imports done, its settings read) before it is
        given anything, so one that fails to start loses nothing.
        """
        child = self._child
        if child is not None:
            if child.process.poll() is None:
                return child
            self._gone(child)
        while self._started <= MAX_RESTARTS:
            if self._started:
                self.restarts += 1
            self._started += 1
            try:
                child = _Child(self.command)
            except OSError as exc:
                log.error("trace_exporter_not_started", error=repr(exc), command=self.command)
                continue
            try:
                child.inbox.recv_bytes()
            except (EOFError, OSError):
                self._gone(child)
                continue
            self._child = child
            return child
        return None

    def _gone(self, child: _Child) -> None:
        """Note an exporter that exited on its own, and clean up after it."""
        code = child.process.wait()
        log.warning("trace_exporter_died", pid=child.process.pid, exit_code=code)
        self._cpu_before += child.cpu_s
        child.outbox.close()
        child.inbox.close()
        self._child = None

    def _send(self, rows: list[Packed]) -> None:
        message = pickle.dumps((RECORD_FIELDS, ATTEMPT_FIELDS, self._breakers(), rows), 5)
        while True:
            child = self._ensure_child()
            if child is None:
                return self._settle(rows, lost="no exporter could be started")
            try:
                child.outbox.send_bytes(message)
            except OSError:  # it was gone before it read the batch: the next one gets it
                self._gone(child)
                continue
            try:
                _, exported, failed, cpu_s = pickle.loads(child.inbox.recv_bytes())
            except (EOFError, OSError):  # it died holding the batch
                self._gone(child)
                return self._settle(rows, lost="the exporter died while exporting")
            child.cpu_s = cpu_s
            self.exporter_cpu_s = self._cpu_before + cpu_s
            self.exported_spans += exported
            self.failed_spans += failed
            return self._settle(rows)

    def _breakers(self) -> bool:
        try:
            return self.breakers()
        except Exception:  # pragma: no cover - the host's hook failing must not stop traces
            return False

    def _settle(self, rows: list[Packed], lost: str | None = None) -> None:
        if lost is not None:
            self.lost += len(rows)
            log.warning("trace_records_lost", records=len(rows), lost=self.lost, why=lost)
        with self._progress:  # CPU first: who sees the rows done sees the CPU they took
            self.sender_cpu_s = time.thread_time() - self._cpu0
            self._done += len(rows)
            self._progress.notify_all()
