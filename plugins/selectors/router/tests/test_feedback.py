"""The client's verdicts: through the Python API and the MCP tool's ``feedback`` argument,
written beside each outcome, and used by training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dynamic_orchestrator_router
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.errors import RequestError
from dynamic_orchestrator_mcp_server.server import build_server
from dynamic_orchestrator_router.outcomes import read_outcomes
from dynamic_orchestrator_router.training import train
from dynamic_orchestrator_testing.fakes import EchoProvider
from mcp import Client


async def test_thumbs_from_the_api_and_the_mcp_tool_label_the_outcomes(
    make_orchestrator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "outcomes.jsonl"
    config = parse_config(
        {"use_claude_code": False, "plugins": {"settings": {"router": {"outcomes": str(path)}}}}
    )
    orch = await make_orchestrator(
        config, plugins=(dynamic_orchestrator_router,), providers=(EchoProvider("openai"),)
    )
    first = await orch.orchestrate("Write a function that reverses a list")
    assert orch.feedback(first.request_id, True) == 1  # the API: thumbs up
    async with Client(build_server(orch.config, orchestrator=orch)) as client:
        second = await client.call_tool(
            "orchestrate",
            {
                "request": "Rename the helper in utils.py",
                "feedback": {"request_id": first.request_id, "verdict": "down"},  # changed mind
            },
        )
        assert not second.is_error and second.structured_content is not None
        second_id = second.structured_content["request_id"]
        bad = await client.call_tool(
            "orchestrate", {"request": "x", "feedback": {"request_id": "a", "verdict": "meh"}}
        )
        assert bad.is_error and "up or down" in str(bad.content)
    assert orch.feedback(second_id, 0.75) == 1
    with pytest.raises(RequestError, match="verdict"):
        orch.feedback(second_id, 2.0)
    await orch.close()

    items = [json.loads(line) for line in path.read_text().splitlines()]
    verdicts = [(i["request_id"], i["verdict"], i["source"]) for i in items if "verdict" in i]
    assert verdicts == [
        (first.request_id, True, "feedback"),
        (first.request_id, False, "feedback"),
        (second_id, 0.75, "feedback"),
    ]
    table = read_outcomes([path])  # the latest verdict wins
    assert table.success[:, 0].tolist() == [0.0, 0.75]


def _log(path: Path, verdict_for: dict[str, bool]) -> Path:
    """Two models on the same twenty prompts, labelled only by verdict lines."""
    lines: list[dict[str, Any]] = []
    for i in range(20):
        for model in ("small", "large"):
            rid = f"{model}-{i}"
            lines.append(
                {
                    "prompt": f"Summarise report number {i}",
                    "model": model,
                    "success": None,
                    "request_id": rid,
                    "cost_usd": 0.001 if model == "small" else 0.01,
                }
            )
            lines.append({"request_id": rid, "verdict": verdict_for[model], "source": "feedback"})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_verdicts_change_what_training_learns(tmp_path: Path) -> None:
    liked_small = train(
        read_outcomes([_log(tmp_path / "a.jsonl", {"small": True, "large": False})])
    )
    liked_large = train(
        read_outcomes([_log(tmp_path / "b.jsonl", {"small": False, "large": True})])
    )
    prompt = "Summarise report number 7"
    a, _ = liked_small.predict(prompt)
    b, _ = liked_large.predict(prompt)
    small, large = liked_small.models.index("small"), liked_small.models.index("large")
    assert a[small] > a[large]
    assert b[large] > b[small]


async def test_a_retry_labels_the_earlier_answer_and_router_train_reads_it(
    make_orchestrator: Any, tmp_path: Path
) -> None:
    """The same request again through the orchestrator marks the earlier answer wrong; the
    command that trains reads that verdict (and the client's thumbs up) as labels."""
    from click.testing import CliRunner
    from dynamic_orchestrator.cli import cli

    path = tmp_path / "outcomes.jsonl"
    config = parse_config(
        {"use_claude_code": False, "plugins": {"settings": {"router": {"outcomes": str(path)}}}}
    )
    orch = await make_orchestrator(
        config, plugins=(dynamic_orchestrator_router,), providers=(EchoProvider("openai"),)
    )
    first = await orch.orchestrate("Summarise report number 7")
    other = await orch.orchestrate("Rename the helper in utils.py")  # not a retry of it
    retry = await orch.orchestrate("Summarise report number 7")
    assert orch.feedback(other.request_id, True) == 1
    await orch.close()

    items = [json.loads(line) for line in path.read_text().splitlines()]
    verdicts = [(i["request_id"], i["verdict"], i["source"]) for i in items if "verdict" in i]
    assert verdicts == [(first.request_id, False, "retry"), (other.request_id, True, "feedback")]
    assert retry.request_id not in {rid for rid, _, _ in verdicts}  # not judged yet

    out = tmp_path / "r.npz"
    result = CliRunner().invoke(
        cli, ["router", "train", "--out", str(out), str(path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "trained on 2 prompts" in result.output
    assert "1 outcomes without a verdict (success null) skipped" in result.output
    table = read_outcomes([path])
    labels = dict(zip(table.prompts, table.success[:, 0].tolist(), strict=True))
    assert labels == {"Summarise report number 7": 0.0, "Rename the helper in utils.py": 1.0}
