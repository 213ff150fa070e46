"""``dynamic-orchestrator router train | predict | eval | calibrate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dynamic_orchestrator.cli import cli
from dynamic_orchestrator_router.model import Router


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["router", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def router_file(tmp_path_factory: pytest.TempPathFactory, routerbench_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("cli") / "cli.npz"
    code, output = run("train", "--out", str(out), str(routerbench_csv))
    assert code == 0, output
    assert "trained on 300 prompts" in output and "default knobs: mode utility" in output
    return out


def test_train_reports_prices_it_used(tmp_path: Path, routellm_csv: Path) -> None:
    code, output = run("train", "--out", str(tmp_path / "r.npz"), str(routellm_csv))
    assert code == 0, output
    assert "price of gpt-4-1106-preview: $10 in, $30 out per M tokens (genai-prices" in output
    router = Router.load(tmp_path / "r.npz")
    assert router.meta["prices_usd_per_mtok"]["gpt-4-1106-preview"][:2] == [10.0, 30.0]
    assert set(router.meta["file_digests"]) == {routellm_csv.name}


def test_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("question,m\nx,1\n")
    code, output = run("train", "--out", str(tmp_path / "r.npz"), str(bad))
    assert code == 2 and "no 'prompt' column" in output
    code, output = run("predict", "--router", str(tmp_path / "none.npz"), stdin="")
    assert code == 2 and "no such router file" in output
    code, output = run("train", "--out", "x.npz", "--price", "oops", str(bad))
    assert code == 2 and "--price 'oops'" in output


def test_predict_reads_and_writes_json_lines(router_file: Path) -> None:
    lines = [
        json.dumps({"prompt": "Please hello coffee friend nice thanks 3?"}),
        "",
        "{broken",
        json.dumps({"prompt": "Please integral solve prime matrix sum limit 9?"}),
    ]
    code, output = run("predict", "--router", str(router_file), stdin="\n".join(lines))
    assert code == 1  # one line failed; the others were answered
    rows = [json.loads(line) for line in output.splitlines()]
    assert len(rows) == 3 and rows[1]["error"].startswith("line 3:")
    chat, math = rows[0], rows[2]
    assert set(chat["scores"]) == set(chat["costs"]) == {"tiny", "mid", "big"}
    assert chat["scores"]["tiny"] > 0.5 > math["scores"]["tiny"]
    assert chat["costs"]["tiny"] < chat["costs"]["big"]


def test_eval_prints_curve_baselines_and_plot(
    router_file: Path, routerbench_csv: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "curve.png"
    code, output = run(
        "eval",
        "--router",
        str(router_file),
        "--folds",
        "3",
        "--plot",
        str(plot),
        str(routerbench_csv),
    )
    assert code == 0, output
    assert "3-fold cross-validation (seed 0)" in output
    for name in (
        "router (utility)",
        "router (threshold)",
        "best model per task",
        "random mix (cheapest/best)",
        "cheapest model",
        "best single model",
        "oracle",
    ):
        assert name in output
    assert "best single model (chosen on the training folds): big" in output
    assert "decision latency" in output and "µs" in output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, output = run(
        "eval",
        "--router",
        str(router_file),
        "--folds",
        "3",
        "--plot",
        str(plot),
        "--json",
        str(routerbench_csv),
    )
    report = json.loads(output[output.index("{") :])
    router = report["figures"]["router_utility"]
    assert router["quality_at_35"] > report["figures"]["random_mix"]["quality_at_35"]
    assert report["router_curve"] and report["latency_us"]["decisions"] == 297


def test_eval_without_folds_warns_when_in_sample(
    router_file: Path, routerbench_csv: Path, tmp_path: Path
) -> None:
    code, output = run(
        "eval",
        "--router",
        str(router_file),
        "--folds",
        "0",
        "--plot",
        str(tmp_path / "p.png"),
        str(routerbench_csv),
    )
    assert code == 0 and "IN-SAMPLE" in output


def test_eval_refuses_other_models(router_file: Path, routellm_csv: Path) -> None:
    code, output = run("eval", "--router", str(router_file), str(routellm_csv))
    assert code == 2 and "not the router's" in output


def test_calibrate_to_a_share_and_a_quality(
    router_file: Path, routerbench_csv: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "cal.npz"
    copy.write_bytes(router_file.read_bytes())
    code, output = run(
        "calibrate",
        "--router",
        str(copy),
        "--strong-share",
        "0.4",
        "--write",
        str(routerbench_csv),
    )
    assert code == 0, output
    assert "For 40.0% strong-model calls (big): willingness_to_pay =" in output
    share = float(output.split("prompts (the router file's predictions): ")[1].split("%")[0])
    assert abs(share - 40.0) < 8  # a third of the prompts are arithmetic: big needed there
    stored = Router.load(copy).defaults["willingness_to_pay"]
    assert f"willingness_to_pay: {stored:.6g}" in output
    code, output = run(
        "calibrate",
        "--router",
        str(copy),
        "--target-quality",
        "0.9",
        "--mode",
        "threshold",
        "--folds",
        "3",
        str(routerbench_csv),
    )
    assert code == 0, output
    assert "For quality 0.900: target =" in output and "3-fold out-of-fold" in output
    quality = float(output.split("quality ")[-1].split(",")[0])
    assert quality >= 0.9
    code, output = run(
        "calibrate", "--router", str(copy), "--target-quality", "0.999", str(routerbench_csv)
    )
    assert code == 2 and "not reached" in output
    code, output = run("calibrate", "--router", str(copy), str(routerbench_csv))
    assert code == 2 and "exactly one of" in output


def test_eval_cascade_prints_each_verifier_and_scorer_settings(
    router_file: Path, routerbench_csv: Path, tmp_path: Path
) -> None:
    code, output = run(
        "eval",
        "--router",
        str(router_file),
        "--folds",
        "3",
        "--cascade",
        "--plot",
        str(tmp_path / "c.png"),
        "--json",
        str(routerbench_csv),
    )
    assert code == 0, output
    cascade = json.loads(output[output.index("{") :])["cascade"]
    assert set(cascade["per_task"]) == {"agree2", "agree3", "vote", "scorer", "all"}
    assert {p["verifier"] for p in cascade["fixed_chain"]} == {"agree2"}  # 2 cheaper models
    assert "not evaluated" in cascade["self_check"]
    code, output = run(
        "eval", "--router", str(router_file), "--folds", "3", "--cascade",
        "--plot", str(tmp_path / "c.png"), str(routerbench_csv),
    )  # fmt: skip
    assert code == 0, output
    assert "chosen at 35% (all verifiers, fold 1):" in output
    assert "scorer settings fitted on all these rows" in output
    assert "honest best point:" in output and "of the best model's cost" in output


def _report(at_35: dict[str, float | None], bound: float) -> dict[str, Any]:
    return {
        "best_single_quality": 0.879,
        "per_task": {k: {"quality_at_35": q} for k, q in at_35.items()},
        "in_sample": {"best_at_35": bound},
    }


def test_the_best_point_says_when_the_bound_rules_the_target_out() -> None:
    from dynamic_orchestrator_router.cli import best_point

    point = best_point(_report({"agree2": 0.853, "vote": 0.847, "all": 0.853}, bound=0.853))
    assert point["verifier"] == "agree2" and point["quality"] == 0.853
    assert "not reachable within 35%" in point["reading"] and "0.853" in point["reading"]
    reachable = best_point(_report({"agree2": 0.85, "scorer": None}, bound=0.9))
    assert "might" in reachable["reading"]
    matched = best_point(_report({"agree2": 0.85, "vote": 0.879}, bound=0.9))
    assert matched["verifier"] == "vote" and matched["reading"] == "matches the best single model"
