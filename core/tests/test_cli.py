"""The command line: JSON equal to the tools' results, clear errors, exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dynamic_orchestrator.cli import cli

SEED = Path(__file__).resolve().parents[2] / "tests" / "data" / "seed-config"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DYNAMIC_ORCHESTRATOR_CONFIG", raising=False)
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    return CliRunner()


def test_analyze_json_has_the_tool_fields(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["analyze", "Refactor the authentication module", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["intent"] == "write"
    assert data["baseline_model"] == "claude-sonnet-4-6"
    assert isinstance(data["fallback_models"], list) and isinstance(data["reasons"], list)


def test_analyze_text_labels_estimates(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["analyze", "Where is the JWT secret loaded from?"])
    assert result.exit_code == 0
    assert "intent:       search" in result.output
    assert "(estimated)" in result.output


def test_run_without_keys_delegates_and_exits_zero(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "run",
            "Create a REST API for user management",
            "--context",
            '{"framework": "FastAPI"}',
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "delegated"
    assert "framework: FastAPI" in data["plan"]["prompt"]
    assert data["saved_usd"] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "x", "--context", "{bad"], "--context: not valid JSON"),
        (["analyze", "x", "--context", "[1]"], "--context: expected a JSON object, got list"),
        (["analyze", "   "], "request: must not be empty"),
        (["run", "x", "--max-cost", "-1", "--json"], "options.max_cost"),
        (
            ["analyze", "x", "--config", "/nonexistent/c.yaml"],
            "bad config: /nonexistent/c.yaml: cannot read",
        ),
    ],
)
def test_bad_usage_exits_two_with_a_clear_message(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_config_check(runner: CliRunner, tmp_path: Path) -> None:
    good = runner.invoke(cli, ["config", "check", str(SEED / "execution.yaml")])
    assert good.exit_code == 0 and "simple: gemini-2.0-flash -> gpt-3.5-turbo" in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("execution:\n  simple:\n    prefered: x\n")
    result = runner.invoke(cli, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "execution.simple.prefered: unknown key" in result.output
    assert "execution.simple.preferred: Field required" in result.output
    missing = runner.invoke(cli, ["config", "check", str(tmp_path / "absent.yaml")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_models_say_why_not_usable(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["models", "--json"])
    assert result.exit_code == 0
    rows = {r["model"]: r for r in json.loads(result.output)["models"]}
    row = rows["gemini-2.5-flash-lite"]
    assert row["tiers"] == ["simple"] and row["input_usd_per_mtok"] == pytest.approx(0.1)
    assert row["usable"] is False and row["unusable_reason"]


def test_plugins_lists_defaults(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plugins", "--json"])
    names = {p["name"] for p in json.loads(result.output)["plugins"]}
    assert {"rules", "tiers", "compact"} <= names
    with_builtins = runner.invoke(cli, ["plugins", "--all", "--json"])
    assert "dynamic_orchestrator.execution" in with_builtins.output


def test_demo_labels_every_figure_as_estimated(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "ALL FIGURES ARE ESTIMATES" in result.output
    assert "Baseline: every request unoptimized on claude-sonnet-4-6" in result.output
    data = json.loads(runner.invoke(cli, ["demo", "--json"]).output)
    assert data["figures"] == "estimated"
    assert len(data["requests"]) >= 5
    assert data["total"]["cost_usd"] < data["total"]["baseline_cost_usd"]
    assert {r["complexity"] for r in data["requests"]} >= {"simple", "complex"}


def test_metrics_without_a_sink_says_so(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["metrics", "--period", "1h", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["period"] == "1h"
    assert "total_requests" in data and "circuit_breakers" in data


def test_module_entry_point_matches_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for command in ("analyze", "run", "metrics", "plugins", "models", "config", "demo"):
        assert command in result.stdout


def test_run_exit_statuses_against_a_real_provider(
    fake_provider_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dynamic_orchestrator_testing.fake_server import bad_request

    config = tmp_path / "config.yaml"
    config.write_text(
        "use_claude_code: false\n"
        "execution:\n  simple: {preferred: gpt-5-nano}\n  moderate: {preferred: gpt-5-nano}\n"
        "  complex: {preferred: gpt-5-nano}\n"
        f"providers:\n  openai: {{base_url: '{fake_provider_server.openai_base_url}'}}\n"
    )
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test-exit-status-0000",
        "DYNAMIC_ORCHESTRATOR_CONFIG": str(config),
    }
    ok = subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", "run", "Show the readme", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "completed"
    fake_provider_server.script("openai", bad_request("no such parameter"))
    failed = subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", "run", "Show the readme", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert failed.returncode == 1
    result = json.loads(failed.stdout)
    assert result["status"] == "failed" and result["attempts"][0]["error_kind"] == "bad_request"


def test_run_with_an_unknown_model_is_bad_usage(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "hello there", "--model", "nonexistent"])
    assert result.exit_code == 2
    assert "--model 'nonexistent': unknown model" in result.output


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"non-finite number in JSON output: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_never_carries_non_finite_numbers(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "huge-prices.yaml"
    config.write_text(
        "models:\n"
        "  claude-sonnet-4-6: {input_price_per_mtok: 1.0e+308, output_price_per_mtok: 1.0e+308}\n"
    )
    result = runner.invoke(
        cli, ["analyze", "Refactor the authentication module", "--json", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    data = _strict_json(result.output)
    assert data["baseline_model"] == "claude-sonnet-4-6"
    assert data["baseline_cost_usd"] is None  # the price overflowed: unknown, not Infinity


def test_finite_json_turns_every_non_finite_number_into_null() -> None:
    from dynamic_orchestrator.finite_json import dumps

    text = dumps({"a": float("inf"), "b": [float("nan"), 1.5, {"c": -float("inf")}], "d": "x"})
    assert _strict_json(text) == {"a": None, "b": [None, 1.5, {"c": None}], "d": "x"}
