"""Progress of long work on a terminal, and silence when the output is piped.

One line on stderr, redrawn in place at most every :data:`INTERVAL` seconds: the label,
``done/total`` with a bar and the time left when the total is known, else the count and
the time spent. Nothing is written unless stderr is a terminal (or ``enabled=True``), so
logs, pipes and tests see no control characters.

>>> for item in track(items, "training"):
...     work(item)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")
INTERVAL = 0.1
BAR = 24


class Progress:
    """A progress line for ``total`` steps (None: unknown)."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.note = ""
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def advance(self, steps: int = 1, note: str | None = None) -> None:
        """Count ``steps`` more done; ``note`` replaces the text after the figures."""
        self.done += steps
        if note is not None:
            self.note = note
        self._draw()

    def say(self, note: str) -> None:
        """Show ``note`` without counting a step."""
        self.note = note
        self._draw(force=True)

    def _line(self) -> str:
        spent = time.monotonic() - self.started
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = round(BAR * share)
            left = spent / share - spent if share else 0.0
            figures = (
                f"[{'#' * filled}{'.' * (BAR - filled)}] {self.done}/{self.total} "
                f"{100 * share:3.0f}% {spent:.0f}s, ~{left:.0f}s left"
            )
        else:
            figures = f"{self.done} done, {spent:.0f}s"
        return f"{self.label}: {figures}" + (f" · {self.note}" if self.note else "")

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < INTERVAL and self.done != self.total:
            return
        self._drawn = now
        line = self._line()
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        """End the line (the terminal's next output starts on a fresh one)."""
        if self.enabled and self._width:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(
    items: Iterable[T],
    label: str,
    total: int | None = None,
    *,
    stream: TextIO | None = None,
    enabled: bool | None = None,
) -> Iterator[T]:
    """Yield ``items``, showing progress; ``total`` defaults to ``len(items)`` when known."""
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with Progress(label, total, stream=stream, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.advance()
