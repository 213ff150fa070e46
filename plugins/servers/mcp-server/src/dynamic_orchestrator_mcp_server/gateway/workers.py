"""Several processes serving the gateway on one listening socket (``gateway --workers N``).

One event loop runs one CPU: a gateway serving a team's traffic on a machine with more
CPUs serves from several processes, as uvicorn's and the LiteLLM proxy's workers do. The
socket is bound once, before any worker exists; each worker is a fork that builds its own
orchestrator and serves that socket (the kernel hands each new connection to one of them).
The supervisor (the process the user started) forwards SIGINT and SIGTERM to the workers
and waits for them; a worker that dies while the others serve is started again, unless it
died within :data:`MIN_UPTIME` seconds of starting (a worker that cannot start would only
die again): then every worker is stopped and the command fails.

Forking is done before the supervisor starts any thread or event loop, so each worker
starts clean. What is kept in memory (the metrics windows, breakers, budget) is each
worker's own; the SQLite store is shared (it takes several writers), and breakers and
budget are shared when kept in Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

from dynamic_orchestrator.log import get_logger

__all__ = ["MIN_UPTIME", "serve_in_workers"]

log = get_logger("gateway")

MIN_UPTIME = 5.0
"""A worker that dies sooner than this after starting is not started again."""


def _fork(serve: Callable[[], None]) -> int:
    """Start one worker running ``serve``; its pid."""
    pid = os.fork()
    if pid == 0:  # the worker
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = 0
        try:
            serve()
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    return pid


def serve_in_workers(count: int, serve: Callable[[], None]) -> int:
    """Run ``serve`` in ``count`` forked workers until SIGINT or SIGTERM; the exit status
    (0, or 1 when a worker could not keep running)."""
    started: dict[int, float] = {}
    stopping = False
    failed = False

    def stop(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(started):
            with contextlib.suppress(ProcessLookupError):  # it has just exited
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(count):
            started[_fork(serve)] = time.monotonic()
        while started:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            began = started.pop(pid, None)
            if began is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if time.monotonic() - began < MIN_UPTIME:
                log.error("gateway_worker_failed", pid=pid, exit=code)
                failed = True
                stop(signal.SIGTERM, None)
                continue
            log.warning("gateway_worker_restarted", pid=pid, exit=code)
            started[_fork(serve)] = time.monotonic()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0
