"""Reading outcome files: RouterBench CSV, RouteLLM CSV, outcome JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dynamic_orchestrator_router.outcomes import (
    OutcomeError,
    PriceTable,
    prompt_text,
    read_outcomes,
)


def test_routerbench_csv(routerbench_csv: Path, synthetic: Any) -> None:
    table = read_outcomes([routerbench_csv])
    assert table.models == list(synthetic.MODELS)
    assert len(table) == 300
    # list-literal prompts are unwrapped, the template keeps its blank lines
    assert not table.prompts[1].startswith("[") and table.prompts[1].startswith(synthetic.TEMPLATE)
    assert set(table.tasks) == {"math", "chat", "code"}
    assert not table.cost_estimated
    # the three blank scores are missing, and evaluation leaves those rows out
    assert np.isnan(table.success[:3, 0]).all() and not np.isnan(table.success[3:]).any()
    complete = table.complete()
    assert len(complete) == 297 and "3 row(s)" in complete.notes[-1]
    # costs come from the <model>|total_cost columns: big costs 100x tiny
    ratio = table.cost[3:, 2] / table.cost[3:, 0]
    assert np.allclose(ratio, 100)


def test_routellm_csv_estimates_costs_from_list_prices(routellm_csv: Path) -> None:
    prices = PriceTable()
    table = read_outcomes([routellm_csv], prices)
    assert table.models == ["mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"]
    assert table.cost_estimated and "estimated" in table.notes[0]
    assert set(np.unique(table.success)) <= {0.0, 1.0}
    assert table.tasks[0] == "pair_responses"  # no eval_name: the file's name
    # Mixtral is priced under its bare name; both from genai-prices
    mixtral = prices.used["mistralai/Mixtral-8x7B-Instruct-v0.1"]
    gpt4 = prices.used["gpt-4-1106-preview"]
    assert "genai-prices" in mixtral[2] and "genai-prices" in gpt4[2]
    assert (table.cost[:, 1] > table.cost[:, 0]).all()


def test_price_overrides_and_missing_output_tokens(tmp_path: Path, synthetic: Any) -> None:
    path = synthetic.write_routellm(tmp_path / "no_responses.csv", n=12, responses=False)
    with pytest.raises(OutcomeError, match="--output-tokens"):
        read_outcomes([path])
    prices = PriceTable(
        overrides={"mistralai/Mixtral-8x7B-Instruct-v0.1": (1.0, 1.0)}, output_tokens=10
    )
    table = read_outcomes([path], prices)
    assert prices.used["mistralai/Mixtral-8x7B-Instruct-v0.1"][2] == "given on the command line"
    from dynamic_orchestrator.tokens import estimate_tokens

    expected = (estimate_tokens(table.prompts[0]) + 10) / 1e6
    assert table.cost[0, 0] == pytest.approx(expected)


def test_unknown_price_names_the_model(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("prompt,no-such-model-xyz\nhi,True\nhey,False\n", encoding="utf-8")
    with pytest.raises(OutcomeError, match=r"no-such-model-xyz.*--price"):
        read_outcomes([path], PriceTable(output_tokens=5))


def test_outcome_jsonl(outcomes_jsonl: Path, synthetic: Any) -> None:
    table = read_outcomes([outcomes_jsonl])
    assert table.models == ["tiny", "big", "mid"]  # in order of first appearance
    assert len(table) == 90
    mid = table.models.index("mid")
    assert np.isnan(table.success[0, mid]) and np.isnan(table.success[10, mid])
    assert not np.isnan(table.success[1]).any()
    assert set(table.tasks) == {"math", "chat", "code"}
    assert not table.cost_estimated


def test_jsonl_fractional_quality_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = [
        {"prompt": "p1", "model": "a", "success": 0.25, "cost_usd": 0.001},
        {"prompt": "p1", "model": "a", "success": 0.75, "cost_usd": 0.003},
        {"prompt": "p2", "model": "b", "success": True},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    table = read_outcomes([path], PriceTable(overrides={"b": (1.0, 1.0)}, output_tokens=0))
    assert table.success[0, 0] == pytest.approx(0.5)  # duplicates are averaged
    assert table.cost[0, 0] == pytest.approx(0.002)
    assert table.cost_estimated  # b's cost came from its price


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"model": "a", "success": true}', "'prompt'"),
        ('{"prompt": "x", "model": "a", "success": 2}', "'success'"),
        ('{"prompt": "x", "model": "a", "success": true, "cost_usd": -1}', "'cost_usd'"),
        ('{"prompt": "x", "model": "a", "success": true, "task": 3}', "'task'"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "ok", "model": "a", "success": 1}\n' + line + "\n")
    with pytest.raises(OutcomeError, match=f"bad.jsonl:2: .*{message}"):
        read_outcomes([path])


def test_csv_errors(tmp_path: Path) -> None:
    no_prompt = tmp_path / "a.csv"
    no_prompt.write_text("question,m\nx,1\n")
    with pytest.raises(OutcomeError, match="no 'prompt' column"):
        read_outcomes([no_prompt])
    no_models = tmp_path / "b.csv"
    no_models.write_text("prompt,comment\nx,hello\n")
    with pytest.raises(OutcomeError, match="no model score columns"):
        read_outcomes([no_models])
    bad_value = tmp_path / "c.csv"
    bad_value.write_text("prompt,m,m|total_cost\nx,1,0.1\ny,1,0.1\nz,3,0.1\n" + "w,0,0.1\n" * 200)
    with pytest.raises(OutcomeError, match=r"c.csv:4: column 'm'"):
        read_outcomes([bad_value])
    with pytest.raises(OutcomeError, match="no such file"):
        read_outcomes([tmp_path / "missing.csv"])


def test_files_join_on_the_union_of_models(
    routerbench_csv: Path, outcomes_jsonl: Path, synthetic: Any
) -> None:
    table = read_outcomes([routerbench_csv, outcomes_jsonl])
    assert table.models == list(synthetic.MODELS)
    assert len(table) == 390 and len(table.sources) == 2
    # the JSON lines' columns are matched by model name, not by position
    big = table.models.index("big")
    jsonl = read_outcomes([outcomes_jsonl])
    assert np.array_equal(table.success[300:, big], jsonl.success[:, jsonl.models.index("big")])


def test_prompt_text() -> None:
    assert prompt_text("['a', 'b']") == "a\n\nb"
    assert prompt_text("[not a list literal") == "[not a list literal"
    assert prompt_text("plain") == "plain"
