"""The opt-in outcome log: this project's own traffic, in the format ``router train`` reads.

With ``plugins.settings.router.outcomes: PATH`` set, every request that ran on a model here
(completed or failed, not delegated, not a cache hit) appends one JSON line to PATH:

.. code-block:: json

    {"prompt": "...", "model": "gpt-5-mini", "success": null, "status": "completed",
     "cost_usd": 0.00041, "task": "write", "request_id": "...", "timestamp": 1764290000.0}

``success`` is left ``null``: that a model answered without an error says nothing about
whether the answer was good. Fill it from your own grader (a test run, a review, a user's
thumbs-up) with ``true``/``false`` or a score in [0, 1]; ``router train`` skips lines
still ``null`` and says how many. ``task`` is the classified intent.

Verdicts are lines of their own, appended beside the outcomes and joined to them by
``request_id`` when ``router train`` reads the file (the latest verdict wins)::

    {"request_id": "...", "verdict": false, "source": "retry", "timestamp": ...}

Two sources are automatic: a **retry** (the same request text again within
:data:`RETRY_WINDOW` seconds marks the earlier answer ``false``) and a **failed** request
(status ``failed``: no usable answer, ``false``). The client's own thumbs up or down comes
through :meth:`OutcomeLog.verdict`, from the ``dynamic-orchestrator router feedback``
command or through the host (:meth:`Orchestrator.feedback`, the ``record_verdict`` hook).

The metrics record carries no request text by design, so the text is taken when the
router's ``select_model`` sees the request and kept (bounded) until its record arrives.
Writing is off the request path: ``add`` appends to a bounded deque and a daemon thread
writes the lines; when the deque is full the line is dropped and counted. The prompt text
lands on disk only because the setting asks for it.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import Request, RequestRecord

log = get_logger("router.outcomes")

RETRY_WINDOW = 600.0
"""Seconds within which the same request text again counts as a retry of the first."""

REMEMBERED = 4_096
"""Request texts kept while their requests run (the oldest go first)."""


class OutcomeLog:
    """Appends one outcome line per finished request to a JSON lines file. Thread-safe."""

    def __init__(self, path: Path, *, queue_size: int = 10_000) -> None:
        self.path = path
        self.queue_size = queue_size
        self.written = 0
        self.dropped = 0
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._texts_lock = threading.Lock()
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._recent: OrderedDict[str, tuple[str, float]] = OrderedDict()
        """Request text → (request id, timestamp) of its latest finished request."""

    def start(self) -> None:
        """Create the folder and start the writer; a path that cannot be written raises a
        ValueError naming the setting."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise ValueError(
                f"plugins.settings.router.outcomes: cannot write {self.path}: {exc.strerror}"
            ) from None
        self._thread = threading.Thread(target=self._run, name="router-outcomes", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def remember(self, request: Request) -> None:
        """Keep the request's text until its record arrives."""
        if not request.request_id:
            return
        with self._texts_lock:
            self._texts[request.request_id] = request.text
            while len(self._texts) > REMEMBERED:
                self._texts.popitem(last=False)

    def add(self, record: RequestRecord) -> None:
        """Queue the outcome line of a finished request (never blocks, never raises)."""
        with self._texts_lock:
            text = self._texts.pop(record.request_id, None)
        if text is None or record.model is None or record.cached:
            return
        if record.status not in ("completed", "failed"):
            return  # delegated: no model ran here
        if len(self._pending) >= self.queue_size or self._stop.is_set():
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                log.warning("router_outcomes_dropped", dropped=self.dropped, path=str(self.path))
            return
        previous = self._recent.pop(text, None)
        self._recent[text] = (record.request_id, record.timestamp)
        while len(self._recent) > REMEMBERED:
            self._recent.popitem(last=False)
        if previous is not None and record.timestamp - previous[1] <= RETRY_WINDOW:
            self.verdict(previous[0], False, source="retry", timestamp=record.timestamp)
        self._pending.append(
            {
                "prompt": text,
                "model": record.model,
                "success": None,
                "status": record.status,
                "cost_usd": record.cost_usd,
                "task": record.intent,
                "request_id": record.request_id,
                "timestamp": record.timestamp,
            }
        )
        if record.status == "failed":
            self.verdict(record.request_id, False, source="failed", timestamp=record.timestamp)
        self._idle.clear()
        self._wake.set()

    def verdict(
        self,
        request_id: str,
        verdict: bool | float,
        *,
        source: str = "feedback",
        timestamp: float | None = None,
    ) -> None:
        """Queue a verdict on an earlier request: true/false or a score in [0, 1]."""
        if isinstance(verdict, float) and not 0.0 <= verdict <= 1.0:
            raise ValueError(f"verdict must be true/false or a score in [0, 1], not {verdict}")
        self._pending.append(
            {
                "request_id": request_id,
                "verdict": verdict,
                "source": source,
                "timestamp": time.time() if timestamp is None else timestamp,
            }
        )
        self._idle.clear()
        self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued line is written; False on timeout."""
        if self._thread is None:
            return not self._pending
        self._wake.set()
        return self._idle.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the writer."""
        atexit.unregister(self.close)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            lines = []
            while self._pending:
                lines.append(json.dumps(self._pending.popleft(), ensure_ascii=False))
            if lines:
                try:
                    with self.path.open("a", encoding="utf-8") as out:
                        out.write("\n".join(lines) + "\n")
                    self.written += len(lines)
                except OSError as exc:
                    self.dropped += len(lines)
                    log.warning("router_outcomes_unwritable", path=str(self.path), error=str(exc))
            if not self._pending:
                self._idle.set()
            if self._stop.is_set() and not self._pending:
                return
