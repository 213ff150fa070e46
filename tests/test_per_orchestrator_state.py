"""Two orchestrators in one process keep their own plugin state, made from their own
settings: the rules classifier's weights and the router's outcome log are not shared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dynamic_orchestrator_router
import dynamic_orchestrator_rules
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_testing.fakes import EchoProvider

TEXT = "Show the contents of config.yaml"


def weights_that_always_say(tmp_path: Path, intent: str) -> Path:
    """The shipped weights with one intent's bias raised so far that it always wins."""
    folder = tmp_path / f"weights-{intent}"
    shutil.copytree(Path(dynamic_orchestrator_rules.WEIGHTS), folder)
    data = json.loads((folder / "intent.json").read_text(encoding="utf-8"))
    data["weights"]["bias"][data["classes"].index(intent)] += 1000.0
    (folder / "intent.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


async def test_two_orchestrators_classify_and_log_by_their_own_settings(
    make_orchestrator: Any, tmp_path: Path
) -> None:
    logs = {name: tmp_path / f"{name}.jsonl" for name in ("shipped", "manage")}
    orchestrators = {}
    for name, weights in (
        ("shipped", None),
        ("manage", weights_that_always_say(tmp_path, "manage")),
    ):
        config = parse_config(
            {
                "use_claude_code": False,
                "plugins": {
                    "rules": {"weights": None if weights is None else str(weights)},
                    "router": {"outcomes": str(logs[name])},
                },
            }
        )
        orchestrators[name] = await make_orchestrator(
            config, plugins=(dynamic_orchestrator_router,), providers=(EchoProvider("openai"),)
        )
    shipped, manage = orchestrators["shipped"], orchestrators["manage"]
    # interleaved, so neither can be answering from state the other left behind
    first = await shipped.orchestrate(TEXT)
    second = await manage.orchestrate(TEXT)
    third = await shipped.orchestrate(TEXT)
    assert first.analysis.intent == third.analysis.intent == "read"
    assert second.analysis.intent == "manage"
    assert manage.feedback(second.request_id, True) == 1
    await shipped.close()
    await manage.close()

    def logged(path: Path) -> list[tuple[str, str | None]]:
        items = [json.loads(line) for line in path.read_text().splitlines()]
        return [(item["request_id"], item.get("source")) for item in items]

    # each log holds its own orchestrator's requests, and the thumbs up only the one it was for
    assert {rid for rid, _ in logged(logs["shipped"])} == {first.request_id, third.request_id}
    assert logged(logs["manage"]) == [(second.request_id, None), (second.request_id, "feedback")]
    assert "feedback" not in {source for _, source in logged(logs["shipped"])}
