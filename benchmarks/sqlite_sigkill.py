"""Answered requests a ``SIGKILL`` takes from the SQLite metrics store.

    uv run python benchmarks/sqlite_sigkill.py [--trials 10] [--answered 300 1000]
        [--concurrency 50]

Each trial starts a fresh process with the SQLite sink (default settings, a new file),
answers ``--answered`` requests through ``Orchestrator.orchestrate`` (``execute: false``,
``--concurrency`` at a time), and is sent ``SIGKILL`` as soon as it reports the last answer.
Lost = answered - rows in the file - records the sink dropped and counted. The bound is
``queue_size`` (records accepted and not yet committed); the figure is how many a kill
takes in practice, which grows with the traffic at the moment of the kill and with the
machine's load (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from dynamic_orchestrator_sqlite import SQLiteSettings

CHILD = textwrap.dedent(
    """
    import sys, anyio
    from dynamic_orchestrator import Orchestrator, load_config
    from dynamic_orchestrator_sqlite import state

    async def main():
        total, concurrency = int(sys.argv[2]), int(sys.argv[3])
        async with Orchestrator(load_config(sys.argv[1])) as orch:
            sink = state(orch).sink
            started = 0

            async def worker():
                nonlocal started
                while started < total:
                    started += 1
                    await orch.orchestrate("show me the readme", options={"execute": False})

            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(worker)
            print(sink.dropped, flush=True)
            await anyio.sleep_forever()

    anyio.run(main)
    """
)


def trial(answered: int, concurrency: int) -> int:
    """One process killed right after its last answer; the records it lost."""
    with tempfile.TemporaryDirectory() as tmp:
        db, config = Path(tmp) / "m.sqlite3", Path(tmp) / "c.yaml"
        config.write_text(f"metrics:\n  path: {json.dumps(str(db))}\n")
        with subprocess.Popen(
            [sys.executable, "-c", CHILD, str(config), str(answered), str(concurrency)],
            stdout=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stdout is not None
            dropped = int(child.stdout.readline())
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        written = sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0]
        return int(answered - written - dropped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--answered", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{os.cpu_count()} cores, load average {load}; bound (queue_size): "
        f"{SQLiteSettings().queue_size:,} records"
    )
    for answered in args.answered:
        lost = [trial(answered, args.concurrency) for _ in range(args.trials)]
        print(
            f"  SIGKILL after {answered:>5,} answered ({args.concurrency} at a time): lost "
            f"min {min(lost)}, median {statistics.median(lost):g}, max {max(lost)} "
            f"over {args.trials} trials"
        )


if __name__ == "__main__":
    main()
