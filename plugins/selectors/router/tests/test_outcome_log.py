"""The opt-in outcome log: this project's own traffic, labelled, becomes training data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import dynamic_orchestrator_router
import pytest
from dynamic_orchestrator.config import load_config, parse_config
from dynamic_orchestrator.models import Request, RequestRecord
from dynamic_orchestrator_router.outcome_log import OutcomeLog
from dynamic_orchestrator_router.outcomes import OutcomeError, read_outcomes
from dynamic_orchestrator_router.settings import resolve_outcomes, settings_of
from dynamic_orchestrator_testing.fakes import EchoProvider


def _record(request_id: str, **fields: Any) -> RequestRecord:
    base: dict[str, Any] = {
        "timestamp": time.time(),
        "request_id": request_id,
        "status": "completed",
        "model": "gpt-5-mini",
        "intent": "write",
        "duration_ms": 12.0,
        "cost_usd": 0.0004,
    }
    return RequestRecord(**{**base, **fields})


async def test_requests_run_here_are_logged_and_train_reads_them_once_labelled(
    make_orchestrator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "logs" / "outcomes.jsonl"
    config = parse_config(
        {"use_claude_code": False, "plugins": {"settings": {"router": {"outcomes": str(path)}}}}
    )
    orch = await make_orchestrator(
        config, plugins=(dynamic_orchestrator_router,), providers=(EchoProvider("openai"),)
    )
    prompts = ["Write a function that reverses a list", "Rename the helper in utils.py"]
    results = [await orch.orchestrate(text) for text in prompts]
    await orch.analyze("Only analysed, never run")  # no record: nothing logged
    assert all(r.status == "completed" for r in results)
    await orch.close()  # the shutdown hook writes what is queued

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["prompt"] for line in lines] == prompts
    for line, result in zip(lines, results, strict=True):
        assert line["model"] == result.model and line["status"] == "completed"
        assert line["success"] is None  # an answer without an error is not a verdict
        assert line["cost_usd"] == result.cost_usd
        assert line["task"] == result.analysis.intent
        assert line["request_id"] == result.request_id

    with pytest.raises(OutcomeError, match="no outcomes with a verdict: all 2 have"):
        read_outcomes([path])
    lines[0]["success"] = True  # the grader's verdicts
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    table = read_outcomes([path])
    assert table.prompts == [prompts[0]] and table.models == [results[0].model]
    assert table.success.tolist() == [[1.0]]
    assert any("1 outcomes without a verdict (success null) skipped" in n for n in table.notes)


def test_only_requests_a_model_ran_here_are_logged(tmp_path: Path) -> None:
    log = OutcomeLog(tmp_path / "o.jsonl")
    log.start()
    for request_id in ("done", "failed", "delegated", "cached", "unseen-text"):
        if request_id != "unseen-text":
            log.remember(Request(text=f"text of {request_id}", request_id=request_id))
    log.add(_record("done"))
    log.add(_record("failed", status="failed", cost_usd=None))
    log.add(_record("delegated", status="delegated"))
    log.add(_record("cached", cached=True))
    log.add(_record("unseen-text"))
    assert log.flush()
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [(x["prompt"], x["status"], x["cost_usd"]) for x in lines if "prompt" in x] == [
        ("text of done", "completed", 0.0004),
        ("text of failed", "failed", None),
    ]
    assert [x["request_id"] for x in lines if "verdict" in x] == ["failed"]


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    log = OutcomeLog(tmp_path / "o.jsonl", queue_size=1)  # writer not started
    for request_id in ("a", "b"):
        log.remember(Request(text=request_id, request_id=request_id))
        log.add(_record(request_id))
    assert log.dropped == 1


def test_remembered_texts_are_bounded(tmp_path: Path) -> None:
    from dynamic_orchestrator_router import outcome_log

    log = OutcomeLog(tmp_path / "o.jsonl")
    for i in range(outcome_log.REMEMBERED + 10):
        log.remember(Request(text="x", request_id=str(i)))
    assert len(log._texts) == outcome_log.REMEMBERED and "0" not in log._texts


def test_relative_outcome_path_is_beside_the_config(tmp_path: Path) -> None:
    config_file = tmp_path / "conf" / "config.yaml"
    config_file.parent.mkdir()
    config_file.write_text("plugins:\n  settings:\n    router:\n      outcomes: o.jsonl\n")
    config = load_config(config_file)
    assert resolve_outcomes(settings_of(config), config) == tmp_path / "conf" / "o.jsonl"


def test_an_unwritable_path_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ValueError, match=r"plugins\.settings\.router\.outcomes: cannot write"):
        OutcomeLog(blocker / "o.jsonl").start()


def test_verdicts_label_the_outcomes_when_read(tmp_path: Path) -> None:
    """Feedback, a retry of the same text and a failed request all become labels."""
    from dynamic_orchestrator_router.outcomes import read_outcomes

    path = tmp_path / "outcomes.jsonl"
    lines = [
        {"prompt": "first", "model": "m", "success": None, "request_id": "a", "cost_usd": 0.1},
        {"prompt": "second", "model": "m", "success": None, "request_id": "b", "cost_usd": 0.1},
        {"prompt": "third", "model": "n", "success": None, "request_id": "c", "cost_usd": 0.2},
        {"request_id": "a", "verdict": False, "source": "retry"},
        {"request_id": "a", "verdict": True, "source": "feedback"},  # the latest wins
        {"request_id": "b", "verdict": 0.25, "source": "feedback"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    table = read_outcomes([path])
    assert table.prompts == ["first", "second"]  # "third" has no verdict yet
    assert table.success[0, 0] == 1.0 and table.success[1, 0] == 0.25


def test_a_bad_verdict_line_names_its_line(tmp_path: Path) -> None:
    from dynamic_orchestrator_router.outcomes import OutcomeError, read_outcomes

    path = tmp_path / "outcomes.jsonl"
    path.write_text('{"request_id": "a", "verdict": 3}\n')
    with pytest.raises(OutcomeError, match=r"outcomes.jsonl:1: a verdict line"):
        read_outcomes([path])


def test_the_log_writes_retry_failure_and_feedback_verdicts(tmp_path: Path) -> None:
    from dynamic_orchestrator.models import Request
    from dynamic_orchestrator_router.outcome_log import OutcomeLog

    log = OutcomeLog(tmp_path / "o.jsonl")
    log.start()
    try:
        for rid, status, when in (("r1", "completed", 100.0), ("r2", "failed", 130.0)):
            log.remember(Request(text="same question", request_id=rid))
            log.add(_record(rid, status=status, timestamp=when))
        log.verdict("r2", True)
        assert log.flush()
    finally:
        log.close()
    items = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    verdicts = [(i["request_id"], i["verdict"], i["source"]) for i in items if "verdict" in i]
    assert verdicts == [("r1", False, "retry"), ("r2", False, "failed"), ("r2", True, "feedback")]


def test_the_same_text_after_the_retry_window_is_not_a_retry(tmp_path: Path) -> None:
    from dynamic_orchestrator_router.outcome_log import RETRY_WINDOW

    log = OutcomeLog(tmp_path / "o.jsonl")
    log.start()
    try:
        times = (("r1", 100.0), ("r2", 100.0 + RETRY_WINDOW + 1), ("r3", 100.0 + RETRY_WINDOW + 2))
        for rid, when in times:
            log.remember(Request(text="same question", request_id=rid))
            log.add(_record(rid, timestamp=when))
        assert log.flush()
    finally:
        log.close()
    items = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    verdicts = [(i["request_id"], i["verdict"], i["source"]) for i in items if "verdict" in i]
    assert verdicts == [("r2", False, "retry")]  # r1 was asked again too late to count
