"""The SQLite sink: exact windows from the file, off the event loop, across processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import dynamic_orchestrator_sqlite
import pytest
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import PERIOD_SECONDS, RequestRecord
from dynamic_orchestrator.summary import Totals
from dynamic_orchestrator_sqlite import SQLiteSettings, SQLiteSink, store
from dynamic_orchestrator_testing.sink_cases import KNOWN_RECORDS, NOW, T0, check_summary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _sink(path: Path, **kwargs: Any) -> SQLiteSink:
    sink = SQLiteSink(path, clock=lambda: NOW, **kwargs)
    sink.start()
    return sink


def _record(timestamp: float = T0, **fields: Any) -> RequestRecord:
    fields = {"request_id": "r", "status": "completed", "duration_ms": 10.0, **fields}
    return RequestRecord(timestamp=timestamp, **fields)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "metrics.sqlite3"


def test_every_field_of_every_window_with_exact_percentiles(db: Path) -> None:
    sink = _sink(db)
    try:
        for record in KNOWN_RECORDS:
            sink.add(record)
        for period in PERIOD_SECONDS:
            check_summary(sink.summary(period), relative_error=0.0)
    finally:
        sink.close()
    assert sink.written == len(KNOWN_RECORDS) and sink.dropped == 0


def test_a_restarted_sink_reads_what_the_last_one_wrote(db: Path) -> None:
    first = _sink(db)
    for record in KNOWN_RECORDS[:4]:
        first.add(record)
    first.close()
    second = _sink(db)
    try:
        for record in KNOWN_RECORDS[4:]:
            second.add(record)
        check_summary(second.summary("1d"))
    finally:
        second.close()


_records = st.builds(
    RequestRecord,
    timestamp=st.floats(min_value=T0 - 3000, max_value=T0),
    request_id=st.just("r"),
    status=st.sampled_from(["completed", "failed", "delegated"]),
    intent=st.one_of(st.none(), st.sampled_from(["read", "write", "search"])),
    model=st.one_of(st.none(), st.sampled_from(["a", "b"])),
    duration_ms=st.integers(0, 10_000).map(float),
    input_tokens=st.integers(0, 5000),
    output_tokens=st.integers(0, 5000),
    usage_estimated=st.booleans(),
    cost_usd=st.one_of(st.none(), st.integers(0, 800).map(lambda n: n / 8)),
    tokens_saved=st.integers(-500, 5000),
    saved_usd=st.integers(-80, 800).map(lambda n: n / 8),
    saving_claimed=st.booleans(),
    cached=st.booleans(),
    services=st.lists(st.sampled_from(["git", "fs", "time"]), max_size=2, unique=True),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records, max_size=60))
def test_the_sql_sums_are_the_totals_every_sink_counts(records: list[RequestRecord]) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    store._migrate(conn)
    store.insert(conn, [store.to_row(r) for r in records])
    expected = Totals()
    for record in records:
        expected.add(record)
    assert store.read_totals(conn, T0 - 3600) == expected


def test_a_full_queue_drops_and_counts_and_says_so(db: Path) -> None:
    sink = SQLiteSink(db, queue_size=5, clock=lambda: NOW)  # writer not started yet
    for _ in range(8):
        sink.add(_record())  # never raises, never blocks
    assert (len(sink.pending), sink.dropped) == (5, 3)
    sink.start()
    try:
        summary = sink.summary("1m")
    finally:
        sink.close()
    assert summary.total_requests == 5
    assert summary.extra["dropped_records"] == 3
    assert any("3 records were dropped" in note for note in summary.notes)


def test_a_locked_file_stalls_the_writer_not_the_requests(db: Path) -> None:
    sink = _sink(db, queue_size=50)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the disk is "slow": nobody else can write
    try:
        for _ in range(500):
            sink.add(_record())
        accepted = 500 - sink.dropped
        assert sink.dropped > 0 and accepted >= 50  # bounded queue: the rest were dropped
        assert not sink.flush(timeout=0.3)  # nothing could be written yet
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert sink.flush(timeout=10)
    sink.close()
    assert sink.written == accepted
    assert sink.written + sink.dropped == 500


def test_a_change_of_baseline_model_is_pointed_out(db: Path) -> None:
    sink = _sink(db)
    sink.add(_record(NOW - 1000, baseline_model="claude-sonnet-4-6"))  # before a config change
    sink.add(_record(NOW - 5, baseline_model="gpt-5.1"))
    sink.add(_record(NOW - 4, baseline_model="gpt-5.1"))
    last_minute, last_hour = sink.summary("1m"), sink.summary("1h")
    sink.close()
    assert last_minute.extra["baseline_models"] == ["gpt-5.1"] and last_minute.notes == []
    assert last_hour.extra["baseline_models"] == ["claude-sonnet-4-6", "gpt-5.1"]
    assert last_hour.notes == [
        "savings in this period were counted against several baseline models: "
        "claude-sonnet-4-6, gpt-5.1"
    ]


def test_an_unusable_path_never_fails_a_request(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    sink = SQLiteSink(not_a_dir / "metrics.sqlite3")
    sink.start()
    sink.add(_record())
    summary = sink.summary("1h")
    sink.close()
    assert sink.dropped == 1
    assert summary.total_requests == 0
    assert "persistent metrics unavailable: cannot open" in summary.notes[0]


def test_old_rows_are_pruned_to_the_retention(db: Path) -> None:
    conn = store.connect(db)
    store.insert(conn, [store.to_row(_record(NOW - 3 * 86_400)), store.to_row(_record(NOW - 10))])
    conn.close()
    sink = SQLiteSink(db, retention_days=2, clock=lambda: NOW)
    sink.start()
    sink.flush()
    sink.close()
    conn = sqlite3.connect(db)
    assert [row[0] for row in conn.execute("SELECT timestamp FROM requests")] == [NOW - 10]


def test_an_older_file_gains_the_new_columns(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE requests (timestamp REAL, request_id TEXT, status TEXT)")
    conn.commit()
    conn.close()
    sink = _sink(db)
    sink.add(_record(NOW - 1, saving_claimed=True, saved_usd=0.5))
    summary = sink.summary("1m")
    sink.close()
    assert (summary.total_requests, summary.total_saved_usd) == (1, 0.5)
    columns = {row[1] for row in sqlite3.connect(db).execute("PRAGMA table_info(requests)")}
    assert columns == set(store.COLUMNS)


# --- as a plugin ---------------------------------------------------------------------------


def _config(path: Path, **metrics: Any) -> Config:
    return Config(metrics={"path": str(path), **metrics})  # the seed's section


async def test_the_orchestrator_persists_and_reads_back(make_orchestrator: Any, db: Path) -> None:
    orch = await make_orchestrator(_config(db), plugins=(dynamic_orchestrator_sqlite,))
    for _ in range(3):
        await orch.orchestrate("show me the readme", options={"execute": False})
    summary = await orch.metrics("1h", persistent=True)
    assert (summary.total_requests, summary.delegated_requests) == (3, 3)
    assert summary.extra["path"] == str(db)
    assert (await orch.metrics("1h")).total_requests == 0  # live windows are another sink's


async def test_persist_false_turns_the_store_off(make_orchestrator: Any, db: Path) -> None:
    orch = await make_orchestrator(
        _config(db, persist=False), plugins=(dynamic_orchestrator_sqlite,)
    )
    await orch.orchestrate("show me the readme", options={"execute": False})
    summary = await orch.metrics("1h", persistent=True)
    assert summary.notes == ["persistent metrics are off (plugins.sqlite.persist: false)"]
    assert not db.exists()


def test_the_default_file_is_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/somewhere")
    path = dynamic_orchestrator_sqlite.store_path(SQLiteSettings())
    assert path == Path("/somewhere/dynamic-orchestrator/metrics.sqlite3")


_WRITER = textwrap.dedent(
    """
    import sys, anyio
    from dynamic_orchestrator import Orchestrator, load_config

    async def main():
        async with Orchestrator(load_config(sys.argv[1])) as orch:
            for _ in range(int(sys.argv[2])):
                result = await orch.orchestrate("show me the readme", options={"execute": False})
                assert result.status == "delegated", result

    anyio.run(main)
    """
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.slow
def test_the_metrics_command_reads_across_processes_and_restarts(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite3"
    config = tmp_path / "config.yaml"
    config.write_text(f"metrics:\n  path: {json.dumps(str(db))}\n")
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(config), "150"], text=True)
        for _ in range(2)
    ]  # two processes writing the same file at once
    assert [w.wait(timeout=90) for w in writers] == [0, 0]

    shown = _cli("metrics", "--period", "1h", "--json", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert (summary["total_requests"], summary["delegated_requests"]) == (300, 300)
    assert summary["intent_distribution"] == {"read": 300}

    ran = _cli("run", "show me the readme", "--plan-only", "--config", str(config))
    assert ran.returncode == 0, ran.stderr
    again = _cli("metrics", "--period", "5m", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert "total_requests:         301" in again.stdout


def test_writes_from_threads_all_land(db: Path) -> None:
    sink = _sink(db, queue_size=100_000)

    def write() -> None:
        for _ in range(1_000):
            sink.add(_record(NOW - 1))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = sink.summary("1m")
    sink.close()
    assert summary.total_requests == 4_000 and sink.dropped == 0


def test_a_process_that_never_closes_still_writes_its_records(db: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from dynamic_orchestrator.models import RequestRecord
        from dynamic_orchestrator_sqlite import SQLiteSink

        sink = SQLiteSink(Path(sys.argv[1]), queue_size=5000)
        sink.start()
        for _ in range(3000):
            sink.add(RequestRecord(
                timestamp=time.time(), request_id="r", status="completed", duration_ms=1.0
            ))
        """
    )
    subprocess.run([sys.executable, "-c", script, str(db)], check=True, timeout=60)
    assert sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone() == (3000,)


_KILLED = textwrap.dedent(
    """
    import sys, anyio
    from dynamic_orchestrator import Orchestrator, load_config
    from dynamic_orchestrator_sqlite import state

    async def main():
        async with Orchestrator(load_config(sys.argv[1])) as orch:
            sink = state(orch).sink
            print("ready", flush=True)
            sys.stdin.readline()  # the file is locked now: nothing more can be committed
            for _ in range(int(sys.argv[2])):
                result = await orch.orchestrate("show me the readme", options={"execute": False})
                assert result.status == "delegated", result
            print(sink.dropped, flush=True)
            await anyio.sleep_forever()

    anyio.run(main)
    """
)


def test_a_sigkill_loses_at_most_queue_size_answered_requests(tmp_path: Path) -> None:
    """Killed with the disk stalled, a process loses exactly its bound of answered requests.

    The file is locked once the orchestrator is up, so nothing answered after that can be
    committed: the records pile up to ``queue_size`` (the rest are dropped and counted),
    then the process gets ``SIGKILL``. The loss is every record it accepted: the bound,
    reached, and not one more (the batch the writer holds counts against it too).
    """
    db, config, answered, bound = tmp_path / "m.sqlite3", tmp_path / "c.yaml", 300, 40
    config.write_text(f"metrics:\n  path: {json.dumps(str(db))}\n  queue_size: {bound}\n")
    blocker = sqlite3.connect(db, isolation_level=None, timeout=30)
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(config), str(answered)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline() == "ready\n"
            blocker.execute("BEGIN IMMEDIATE")  # a stalled disk: no other writer commits
            child.stdin.write("go\n")
            child.stdin.flush()
            dropped = int(child.stdout.readline())  # every request answered
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            child.kill()
            if blocker.in_transaction:
                blocker.execute("ROLLBACK")
            blocker.close()
    written = sqlite3.connect(db).execute("SELECT count(*) FROM requests").fetchone()[0]
    lost = answered - written - dropped  # answered, not counted as dropped, not in the file
    assert written == 0
    assert lost == bound
