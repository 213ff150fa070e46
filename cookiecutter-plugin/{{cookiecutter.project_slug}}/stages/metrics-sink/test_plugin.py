"""The sink against the host's hand-worked records and summaries, then in an orchestrator."""

from pathlib import Path
from typing import Any

import pytest
from dynamic_orchestrator.config import Config
from dynamic_orchestrator_testing import sink_cases
from dynamic_orchestrator_testing.fakes import EchoProvider

import {{ cookiecutter.package_name }} as plugin


def known_sink(tmp_path: Path) -> plugin.JsonLinesSink:
    sink = plugin.JsonLinesSink(tmp_path / "requests.jsonl", clock=lambda: sink_cases.NOW)
    for record in sink_cases.KNOWN_RECORDS:
        sink.record(record)
    return sink


@pytest.mark.parametrize("period", ["1m", "5m", "1h", "1d"])
def test_every_figure_matches_the_hand_worked_summary(tmp_path: Path, period: str) -> None:
    summary = known_sink(tmp_path).metrics_summary(period, persistent=True)
    sink_cases.check_summary(summary)  # exact percentiles: relative error 0


def test_the_live_windows_are_left_to_another_sink(tmp_path: Path) -> None:
    assert known_sink(tmp_path).metrics_summary("5m", persistent=False) is None


def test_an_unreadable_line_is_skipped_and_counted(tmp_path: Path) -> None:
    sink = known_sink(tmp_path)
    with sink.path.open("a") as file:
        file.write("{not json\n")
    summary = sink.metrics_summary("1d", persistent=True)
    assert summary.total_requests == sink_cases.EXPECTED["1d"]["total_requests"]
    assert summary.extra["unreadable_lines"] == 1


def test_an_unknown_setting_is_named() -> None:
    config = Config.model_validate({"plugins": {"settings": {plugin.NAME: {"paht": "x"}}}})
    with pytest.raises(ValueError, match=rf"plugins.settings.{plugin.NAME}.paht: unknown key"):
        plugin.settings_path(config)


@pytest.mark.anyio
async def test_an_orchestrator_records_to_the_file(tmp_path: Path, make_orchestrator: Any) -> None:
    path = tmp_path / "requests.jsonl"
    config = Config.model_validate({"plugins": {"settings": {plugin.NAME: {"path": str(path)}}}})
    orch = await make_orchestrator(config, plugins=(plugin,), providers=(EchoProvider("gemini"),))
    first = await orch.orchestrate("Summarise the secret roadmap")
    await orch.orchestrate("List the files")
    assert len(path.read_text().splitlines()) == 2
    assert "roadmap" not in path.read_text()  # records hold no request text
    summary = await orch.metrics("1h", persistent=True)
    assert summary.total_requests == 2 and summary.extra["store"] == str(path)
    assert summary.successful_requests == 2
    assert first.model in summary.model_distribution
