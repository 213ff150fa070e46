"""The event-loop watchdog: names the plugin or provider that blocks the loop.

Decision hooks are synchronous by design, and providers are meant to await; one that
blocks instead (``time.sleep``, a synchronous HTTP client) freezes every request of the
process. A thread asks the loop to run a no-op every ``interval`` seconds; when the loop
has not run it for ``threshold`` seconds, the thread reads the loop thread's stack, finds
the innermost frame that belongs to a registered plugin or provider, and logs
``event_loop_blocked`` with its name and line, once per blocking episode. Its
:attr:`LoopWatchdog.reports` keep the last ones (for ``health`` and tests).
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio.lowlevel

from .log import get_logger

log = get_logger("watchdog")


@dataclass(frozen=True)
class Block:
    """One episode of a blocked loop."""

    culprit: str
    """``plugin <name>`` or ``provider <name>``, or the innermost function when none."""
    where: str
    seconds: float


def owners(plugins: Iterable[tuple[str, object]], providers: Mapping[str, Any]) -> dict[str, str]:
    """Module name -> what to call code from it: registered plugins and providers."""
    found: dict[str, str] = {}
    for name, plugin in plugins:
        module = plugin.__name__ if isinstance(plugin, types.ModuleType) else None
        found[module or type(plugin).__module__] = f"plugin {name}"
    for name, provider in providers.items():
        found[type(provider).__module__] = f"provider {name}"
    return found


class LoopWatchdog:
    """Watch the running event loop from a thread; :meth:`stop` ends it."""

    def __init__(self, names: dict[str, str], threshold: float) -> None:
        self.names = names
        self.threshold = threshold
        self.reports: deque[Block] = deque(maxlen=20)
        native = anyio.lowlevel.current_token().native_token
        # asyncio's loop, or trio's token: each runs a callback soon, from any thread.
        self._soon = getattr(native, "call_soon_threadsafe", None) or native.run_sync_soon  # type: ignore[attr-defined]
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _touch(self) -> None:
        self._beat = time.monotonic()

    def _watch(self) -> None:
        interval = self.threshold / 4
        reported = False
        while not self._stop.wait(interval):
            try:
                self._soon(self._touch)
            except RuntimeError:  # the loop is closed
                return
            late = time.monotonic() - self._beat
            if late < self.threshold + interval:
                reported = False
                continue
            if reported:
                continue
            reported = True
            frame = sys._current_frames().get(self._loop_thread)
            culprit, where = self._blame(frame)
            block = Block(culprit, where, round(late, 3))
            self.reports.append(block)
            log.warning("event_loop_blocked", culprit=culprit, where=where, seconds=block.seconds)

    def _blame(self, frame: types.FrameType | None) -> tuple[str, str]:
        innermost = ""
        while frame is not None:
            module = str(frame.f_globals.get("__name__", ""))
            where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            innermost = innermost or where
            name = self.names.get(module) or self.names.get(module.partition(".")[0])
            if name:
                return name, where
            frame = frame.f_back
        return "unknown code", innermost
