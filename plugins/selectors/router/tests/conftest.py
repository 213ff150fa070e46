"""Small outcome files with a known structure, written fresh for each test session.

Three kinds of prompt (arithmetic, greetings, code) and three models: ``tiny`` succeeds on
greetings only, ``mid`` on greetings and code, ``big`` on everything but a few; costs grow
tenfold from one model to the next. A router that learns anything sends greetings to
``tiny``, code to ``mid`` and arithmetic to ``big``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

MODELS = ("tiny", "mid", "big")
PRICE = {"tiny": 0.0001, "mid": 0.001, "big": 0.01}
TEMPLATE = "Answer the question below.\n\nQ: What is 1 + 1?\nA: 2"

WORDS = {
    "math": ["integral", "derivative", "solve", "equation", "matrix", "prime", "sum", "limit"],
    "chat": ["hello", "thanks", "weather", "morning", "friend", "nice", "weekend", "coffee"],
    "code": ["python", "function", "list", "sort", "class", "loop", "string", "parse"],
}


def make_prompt(kind: str, rng: np.random.Generator, template: bool = False) -> str:
    words = " ".join(rng.choice(WORDS[kind], size=6))
    number = int(rng.integers(1000))
    body = f"Please {words} {number}?"
    return f"{TEMPLATE}\n\n{body}" if template else body


def outcomes(kind: str, rng: np.random.Generator) -> dict[str, int]:
    big = int(rng.random() > 0.05)
    return {
        "tiny": int(kind == "chat"),
        "mid": int(kind in ("chat", "code")),
        "big": big,
    }


def rows(n: int, seed: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    out = []
    kinds = ["math", "chat", "code"]
    for i in range(n):
        kind = kinds[i % 3]
        prompt = make_prompt(kind, rng, template=bool(i % 2))
        scale = 1 + len(prompt) / 400
        out.append(
            {
                "prompt": prompt,
                "kind": kind,
                "success": outcomes(kind, rng),
                "cost": {m: PRICE[m] * scale for m in MODELS},
            }
        )
    return out


def write_routerbench(path: Path, n: int = 300, seed: int = 0, blanks: int = 0) -> Path:
    """A RouterBench-shaped CSV: list-literal prompts, eval_name, costs, responses."""
    header = ["", "sample_id", "prompt", "eval_name", *MODELS]
    header += [f"{m}|model_response" for m in MODELS] + [f"{m}|total_cost" for m in MODELS]
    header += ["oracle_model_to_route_to"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(rows(n, seed)):
            success, cost = row["success"], row["cost"]
            assert isinstance(success, dict) and isinstance(cost, dict)
            scores = [float(success[m]) for m in MODELS]
            if i < blanks:
                scores[0] = ""  # type: ignore[call-overload]
            writer.writerow(
                [
                    1000 + i,
                    f"{row['kind']}.{i}",
                    repr([row["prompt"]]),
                    row["kind"],
                    *scores,
                    *[f"answer of {m}" for m in MODELS],
                    *[cost[m] for m in MODELS],
                    "big",
                ]
            )
    return path


def write_routellm(path: Path, n: int = 120, seed: int = 1, responses: bool = True) -> Path:
    """A RouteLLM-shaped CSV: True/False per model, no costs."""
    models = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")
    header = ["prompt", *models] + ([f"{m}_response" for m in models] if responses else [])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows(n, seed):
            success = row["success"]
            assert isinstance(success, dict)
            values = [str(bool(success["mid"])), str(bool(success["big"]))]
            extra = ["a short answer", "a longer and more careful answer"] if responses else []
            writer.writerow([row["prompt"], *values, *extra])
    return path


def write_jsonl(path: Path, n: int = 90, seed: int = 2) -> Path:
    """The project's outcome JSON lines: one line per (prompt, model)."""
    lines = []
    for i, row in enumerate(rows(n, seed)):
        success, cost = row["success"], row["cost"]
        assert isinstance(success, dict) and isinstance(cost, dict)
        for m in MODELS:
            if m == "mid" and i % 10 == 0:
                continue  # not every model ran on every prompt
            item = {"prompt": row["prompt"], "model": m, "success": bool(success[m])}
            item["cost_usd"] = cost[m]
            item["task"] = str(row["kind"])
            lines.append(json.dumps(item))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Synthetic:
    """The builders above, for tests (a fixture: test modules cannot import conftest)."""

    MODELS = MODELS
    TEMPLATE = TEMPLATE
    PRICE = PRICE
    make_prompt = staticmethod(make_prompt)
    write_routerbench = staticmethod(write_routerbench)
    write_routellm = staticmethod(write_routellm)
    write_jsonl = staticmethod(write_jsonl)


@pytest.fixture(scope="session")
def synthetic() -> type[Synthetic]:
    return Synthetic


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outcomes")


@pytest.fixture(scope="session")
def routerbench_csv(data_dir: Path) -> Path:
    return write_routerbench(data_dir / "synthetic_train.csv", blanks=3)


@pytest.fixture(scope="session")
def routellm_csv(data_dir: Path) -> Path:
    return write_routellm(data_dir / "pair_responses.csv")


@pytest.fixture(scope="session")
def outcomes_jsonl(data_dir: Path) -> Path:
    return write_jsonl(data_dir / "recorded.jsonl")


@pytest.fixture(scope="session")
def trained_router_path(data_dir: Path, routerbench_csv: Path) -> Path:
    """A router trained once on the RouterBench-shaped file."""
    from dynamic_orchestrator_router.outcomes import read_outcomes
    from dynamic_orchestrator_router.training import train

    router = train(read_outcomes([routerbench_csv]))
    return router.save(data_dir / "router.npz")


@pytest.fixture
def chat_prompt() -> str:
    return make_prompt("chat", np.random.default_rng(123))


@pytest.fixture
def math_prompt() -> str:
    return make_prompt("math", np.random.default_rng(124))


@pytest.fixture
def code_prompt() -> str:
    return make_prompt("code", np.random.default_rng(125))
