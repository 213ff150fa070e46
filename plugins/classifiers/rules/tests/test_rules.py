"""The default classifier: decisions with reasons, weights that load, retraining."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dynamic_orchestrator.models import INTENTS, TIERS
from dynamic_orchestrator_rules import load_models
from dynamic_orchestrator_rules.features import extract
from dynamic_orchestrator_rules.model import LinearModel, train

CLEAR_CASES = [
    ("Show me the contents of config.yaml", "read"),
    ("Write unit tests for the PriceCalculator class", "write"),
    ("Where is the database connection string defined?", "search"),
    ("Why is this query so slow on 2M rows?", "analyze"),
    ("Deploy release 2.4.0 to staging", "manage"),
]


@pytest.mark.parametrize(("text", "intent"), CLEAR_CASES)
async def test_clear_requests_and_their_reasons(
    make_orchestrator: Any, text: str, intent: str
) -> None:
    orch = await make_orchestrator()
    result = await orch.analyze(text)
    assert result.intent == intent
    assert 0 < result.intent_confidence <= 1
    intent_reasons = result.reasons[0]
    assert intent_reasons.startswith(f"intent {intent}: ")
    assert "(+" in intent_reasons  # each reason carries its learned push


async def test_complexity_orders_small_and_system_wide_work(make_orchestrator: Any) -> None:
    orch = await make_orchestrator()
    small = await orch.analyze("Rename the variable tmp to pending_orders in order_service.py")
    large = await orch.analyze(
        "Migrate our 25 services from AWS to GCP with zero downtime: data replication, DNS "
        "cut-over, IAM mapping across every environment, and a rollback plan for each region"
    )
    assert small.complexity == "simple" and large.complexity == "complex"
    assert 0 <= small.complexity_score < large.complexity_score <= 1


def test_features_are_readable() -> None:
    features = extract("Could you please find every place we call os.system?", {"file": "a.py"})
    assert "lead:find" in features
    assert "cue:find" in features and "cue:every-place" in features
    assert "ctx:file" in features and "cue:question" in features


def test_shipped_weights_load_and_cover_every_class() -> None:
    models = load_models()
    assert models.intent.classes == list(INTENTS) and models.complexity.classes == list(TIERS)
    assert models.intent.meta["examples"] >= 1000


def test_joint_prediction_matches_the_two_models() -> None:
    models = load_models()
    features = extract("Why does the nightly export job fail since the Postgres upgrade?")
    intent, level = models.predict(features)
    alone = models.intent.predict(features)
    assert intent.label == alone.label
    assert intent.probabilities == pytest.approx(alone.probabilities)
    assert intent.reasons == alone.reasons
    level_alone = models.complexity.predict([*features, f"intent:{intent.label}"])
    assert level.label == level_alone.label
    assert level.probabilities == pytest.approx(level_alone.probabilities)


def test_training_learns_a_separable_toy_problem() -> None:
    rows = [(["bias", "w:alpha"], "read")] * 5 + [(["bias", "w:beta"], "write")] * 5
    model = train(rows, ["read", "write"], min_count=1)
    assert model.predict(["bias", "w:alpha"]).label == "read"
    assert model.predict(["bias", "w:beta"]).label == "write"
    assert model.predict(["bias", "w:beta"]).reasons == [
        "word 'beta' (+%.2f)" % (model.weights["w:beta"][1] - sum(model.weights["w:beta"]) / 2)
    ]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = LinearModel(["a", "b"], {"bias": [0.1, -0.1], "w:x": [1.0, -1.0]}, {"examples": 2})
    model.save(tmp_path / "m.json")
    loaded = LinearModel.load(tmp_path / "m.json")
    assert loaded.predict(["bias", "w:x"]).probabilities == pytest.approx(
        model.predict(["bias", "w:x"]).probabilities
    )


def test_train_command_writes_weights_and_rejects_bad_rows(tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    rows = [
        {"request": f"show file {i}.txt", "intent": "read", "complexity": "simple"}
        for i in range(6)
    ] + [
        {"request": f"deploy service {i} to prod", "intent": "manage", "complexity": "moderate"}
        for i in range(6)
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "weights"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dynamic_orchestrator",
            "classifier",
            "train",
            str(data),
            "--out",
            str(out),
            "--folds",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "2-fold cross-validation on 12 requests" in result.stdout
    # Progress is drawn on a terminal only: piped, as here, stderr stays clean.
    assert result.stderr == "", result.stderr
    intent = LinearModel.load(out / "intent.json")
    assert intent.predict(extract("deploy service 9 to prod")).label == "manage"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"request": "x", "intent": "chat", "complexity": "simple"}))
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "dynamic_orchestrator",
            "classifier",
            "train",
            str(bad),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode != 0
    assert (
        "bad.jsonl:1: intent must be one of read, write, search, analyze, manage" in failed.stderr
    )


def test_no_reason_reads_as_a_zero_push() -> None:
    models = load_models()
    for text in [c[0] for c in CLEAR_CASES] + ["Refactor the authentication module"]:
        intent, level = models.predict(extract(text))
        for reason in [*intent.reasons, *level.reasons]:
            assert "(+0.00)" not in reason and "<=" not in reason, reason


def test_tables_are_cached_per_weights_and_rebuilt_when_they_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dynamic_orchestrator_rules import WEIGHTS, table_cache

    monkeypatch.setenv(table_cache.ENV, str(tmp_path / "cache"))
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in ("intent.json", "complexity.json"):
        (folder / name).write_bytes((WEIGHTS / name).read_bytes())
    features = extract("Deploy release 2.4.0 to staging")
    built = load_models.__wrapped__(str(folder))
    assert len(list((tmp_path / "cache").glob("rules-tables-*"))) == 1
    cached = load_models.__wrapped__(str(folder))
    assert cached.predict(features) == built.predict(features)
    assert cached.complexity.classes == list(TIERS)  # the linear models, read on demand

    # Changed weights: the old table is not used.
    data = json.loads((folder / "intent.json").read_text())
    data["weights"]["bias"] = [50.0, 0.0, 0.0, 0.0, 0.0]  # now everything reads as "read"
    (folder / "intent.json").write_text(json.dumps(data))
    changed = load_models.__wrapped__(str(folder))
    assert changed.predict(features)[0].label == "read"
    assert len(list((tmp_path / "cache").glob("rules-tables-*"))) == 2

    # A damaged cache file is rebuilt, not trusted.
    for path in (tmp_path / "cache").glob("rules-tables-*"):
        path.write_bytes(b"\x00garbage")
    assert load_models.__wrapped__(str(folder)).predict(features)[0].label == "read"


def test_features_by_kind_decide_as_the_named_features() -> None:
    """The request path (features grouped by kind, looked up bare in packed tables) decides
    as the intent model does on the named features (training's path), with the same
    reasons, on every labelled request."""
    from dynamic_orchestrator_rules.features import extract_parts

    data = Path(__file__).resolve().parents[4] / "tests" / "data" / "requests"
    rows = [
        json.loads(line)
        for path in sorted(data.rglob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    assert len(rows) > 2000
    models = load_models()
    for row in rows:
        text, context = row["request"], row.get("context")
        intent, _ = models.predict_parts(extract_parts(text, context))
        alone = models.intent.predict(extract(text, context))
        assert (intent.label, intent.reasons) == (alone.label, alone.reasons), text


def test_large_weights_are_summed_exactly() -> None:
    """Weights beyond what 32-bit packed fields hold get 64-bit fields: the joint model
    still decides as the linear models do."""
    from dynamic_orchestrator_rules.model import MAX_WEIGHT, JointModel

    big = 10 * MAX_WEIGHT
    intent = LinearModel(
        list(INTENTS),
        {"bias": [0.0] * 5, "w:alpha": [big, 0.0, 0.0, 0.0, -big], "w:beta": [-big, big, 0, 0, 0]},
        {},
    )
    complexity = LinearModel(list(TIERS), {"bias": [0.0, 0.0, 0.0], "w:alpha": [big, 0, -big]}, {})
    joint = JointModel(intent, complexity)
    for features in (["bias", "w:alpha"], ["bias", "w:beta"], ["bias", "w:alpha", "w:beta"]):
        got, level = joint.predict(features)
        alone = intent.predict(features)
        assert (got.label, got.reasons) == (alone.label, alone.reasons)
        assert got.probabilities == pytest.approx(alone.probabilities)
        assert level.label == complexity.predict([*features, f"intent:{got.label}"]).label
