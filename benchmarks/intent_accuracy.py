"""Intent accuracy, complexity agreement and confusion matrices of the installed classifier.

    uv run python benchmarks/intent_accuracy.py                  # the sealed final set
    uv run python benchmarks/intent_accuracy.py FILE.jsonl ...   # any labelled set
    uv run python benchmarks/intent_accuracy.py --errors         # list the misses

The labelled sets live in ``tests/data/requests``. ``train/*.jsonl`` (2,120 requests from
six independent writers) is what the default classifier's weights were learned from; its
cross-validated accuracy is printed by ``dynamic-orchestrator classifier train``.
``final.jsonl`` (250 requests by a seventh writer) was sealed: written before training,
never used to train or tune, and evaluated once; it is the honest figure. The classifier
and scorer are whatever plugins are installed, called through the host like any request.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import anyio
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import INTENTS, TIERS

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "requests"


def matrix(labels: tuple[str, ...], pairs: list[tuple[str, str]]) -> str:
    counts = Counter(pairs)
    width = max(len(x) for x in labels) + 2
    head = "true \\ predicted".ljust(18) + "".join(x[:8].rjust(width) for x in labels)
    rows = [head]
    for truth in labels:
        cells = "".join(str(counts[(truth, p)]).rjust(width) for p in labels)
        rows.append(truth.ljust(18) + cells)
    return "\n".join(rows)


async def evaluate(path: Path, show_errors: bool) -> dict[str, float]:
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    async with Orchestrator(Config()) as orch:
        intents: list[tuple[str, str]] = []
        levels: list[tuple[str, str]] = []
        errors = []
        for item in items:
            analysis = await orch.analyze(item["request"], item.get("context") or {})
            intents.append((item["intent"], analysis.intent))
            levels.append((item["complexity"], analysis.complexity))
            if show_errors and (
                analysis.intent != item["intent"] or analysis.complexity != item["complexity"]
            ):
                errors.append((item, analysis))
    n = len(items)
    intent_acc = sum(t == p for t, p in intents) / n
    level_acc = sum(t == p for t, p in levels) / n
    order = {t: i for i, t in enumerate(TIERS)}
    adjacent = sum(abs(order[t] - order[p]) <= 1 for t, p in levels) / n
    print(f"\n== {path.name}: {n} requests")
    print(f"intent accuracy:        {intent_acc:.3f}")
    print(f"complexity agreement:   {level_acc:.3f} exact, {adjacent:.3f} within one level")
    print("\nintent confusion matrix\n" + matrix(INTENTS, intents))
    print("\ncomplexity confusion matrix\n" + matrix(TIERS, levels))
    for item, analysis in errors:
        print(
            f"  {item['intent']}/{item['complexity']} -> {analysis.intent}/{analysis.complexity}"
            f" ({analysis.intent_confidence:.2f}): {item['request'][:110]}"
        )
    return {"intent": intent_acc, "complexity": level_acc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--min-intent", type=float, default=None, help="exit 1 below this")
    args = parser.parse_args()
    files = args.files or [DATA / "final.jsonl"]
    worst = 1.0
    for path in files:
        result = anyio.run(evaluate, path, args.errors)
        worst = min(worst, result["intent"])
    if args.min_intent is not None and worst < args.min_intent:
        sys.exit(1)


if __name__ == "__main__":
    main()
