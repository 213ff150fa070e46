"""``dynamic-orchestrator classifier train``: learn the weights from labelled requests.

Input files are JSON lines ``{"request": ..., "intent": ..., "complexity": ...,
"context": {...}}``. The command reports k-fold cross-validated accuracy on those files,
then fits on all of them and writes ``intent.json`` and ``complexity.json`` to ``--out``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import click
from dynamic_orchestrator.models import COMPLEXITY_LEVELS, INTENTS
from dynamic_orchestrator.progress import Progress, track

from .features import extract
from .model import LinearModel, train


def load_rows(paths: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise click.ClickException(f"{path}:{number}: not JSON: {exc.msg}") from None
            for key, allowed in (("intent", INTENTS), ("complexity", COMPLEXITY_LEVELS)):
                if row.get(key) not in allowed:
                    raise click.ClickException(
                        f"{path}:{number}: {key} must be one of {', '.join(allowed)}"
                    )
            if not isinstance(row.get("request"), str) or not row["request"].strip():
                raise click.ClickException(f"{path}:{number}: 'request' must be a non-empty string")
            rows.append(row)
    return rows


def fit(rows: list[dict[str, Any]], c: float) -> tuple[LinearModel, LinearModel]:
    """The intent and complexity models for these rows."""
    features = [extract(r["request"], r.get("context")) for r in rows]
    intent = train([(f, r["intent"]) for f, r in zip(features, rows, strict=True)], INTENTS, c=c)
    complexity = train(
        [
            ([*f, f"intent:{r['intent']}"], r["complexity"])
            for f, r in zip(features, rows, strict=True)
        ],
        COMPLEXITY_LEVELS,
        c=c,
    )
    return intent, complexity


def cross_validate(
    rows: list[dict[str, Any]], folds: int, c: float, seed: int = 0
) -> tuple[float, float]:
    """Mean held-out accuracy of intent and complexity over ``folds`` folds."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    right_intent = right_level = 0
    for k in track(range(folds), "cross-validation folds"):
        held = set(order[k::folds])
        intent, complexity = fit([r for i, r in enumerate(rows) if i not in held], c)
        for i in held:
            row = rows[i]
            features = extract(row["request"], row.get("context"))
            predicted = intent.predict(features).label
            right_intent += predicted == row["intent"]
            level = complexity.predict([*features, f"intent:{predicted}"]).label
            right_level += level == row["complexity"]
    return right_intent / len(rows), right_level / len(rows)


@click.group()
def classifier() -> None:
    """The default classifier's weights."""


@classifier.command("train")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds (0: none).")
@click.option("-c", "c", default=0.5, show_default=True, help="Inverse L2 regularisation.")
def train_command(files: tuple[Path, ...], out: Path, folds: int, c: float) -> None:
    """Learn intent and complexity weights from labelled JSON-lines FILES."""
    rows = load_rows(list(files))
    if folds > 1:
        intent_acc, level_acc = cross_validate(rows, folds, c)
        click.echo(
            f"{folds}-fold cross-validation on {len(rows)} requests: "
            f"intent accuracy {intent_acc:.3f}, complexity agreement {level_acc:.3f}"
        )
    with Progress(f"training on {len(rows)} requests"):
        intent, complexity = fit(rows, c)
    out.mkdir(parents=True, exist_ok=True)
    intent.save(out / "intent.json")
    complexity.save(out / "complexity.json")
    click.echo(
        f"wrote {out / 'intent.json'} ({intent.meta['features']} features) and "
        f"{out / 'complexity.json'} ({complexity.meta['features']} features)"
    )
