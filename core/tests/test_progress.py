"""The progress line: drawn on a terminal, silent when piped."""

from __future__ import annotations

import io

from dynamic_orchestrator.progress import Progress, track


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_the_stream_is_not_a_terminal() -> None:
    piped = io.StringIO()
    assert list(track(range(5), "work", stream=piped)) == [0, 1, 2, 3, 4]
    with Progress("more", 3, stream=piped) as bar:
        bar.advance(3, "note")
    assert piped.getvalue() == ""


def test_a_terminal_sees_the_count_the_bar_and_a_final_newline() -> None:
    tty = Terminal()
    assert list(track(["a", "b", "c", "d"], "folds", stream=tty)) == ["a", "b", "c", "d"]
    out = tty.getvalue()
    assert out.startswith("\rfolds: [") and out.endswith("\n")
    last = out.rstrip("\n").split("\r")[-1]
    assert "4/4" in last and "100%" in last and "#" * 24 in last


def test_unknown_total_counts_and_notes() -> None:
    tty = Terminal()
    with Progress("training", stream=tty) as bar:
        bar.say("vectorizing")
    last = tty.getvalue().rstrip("\n").split("\r")[-1]
    assert last.startswith("training: 0 done") and last.endswith("· vectorizing")
