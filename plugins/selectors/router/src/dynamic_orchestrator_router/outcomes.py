"""Outcome files: which model succeeded on which prompt, and what it cost.

Three formats are read, each detected from its content:

- **RouterBench CSV** (``sample_id, prompt, eval_name``, then per model a 0/1 score column
  named after the model, ``<model>|model_response`` and ``<model>|total_cost`` in USD);
- **RouteLLM CSV** (``prompt``, then per model a ``True``/``False`` column and optionally
  ``<model>_response``); no costs, so they are estimated (see :class:`PriceTable`);
- **outcome JSON lines**, the project's own format, one line per (prompt, model) outcome::

      {"prompt": "...", "model": "gpt-4o-mini", "success": true, "cost_usd": 0.0004,
       "task": "sql"}

  ``success`` is a boolean or a quality in [0, 1]; ``cost_usd`` and ``task`` are optional.
  Lines with the same prompt are one row; a model a prompt was not run on is missing.

Everything becomes one :class:`OutcomeTable`: prompts, a task label per prompt (``eval_name``,
the JSON ``task``, else the file's name), and per model a success and a cost column, with NaN
where nothing was recorded. Rows with a missing score are kept for training (that model is
skipped on that row) and dropped from evaluation, which needs every model's outcome.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from dynamic_orchestrator.tokens import estimate_tokens

ROUTERBENCH_META = {"", "sample_id", "prompt", "eval_name", "oracle_model_to_route_to"}
_TRUE = {"true", "1", "1.0"}
_FALSE = {"false", "0", "0.0"}
_SNIFF_ROWS = 200


class OutcomeError(ValueError):
    """An outcome file that cannot be read, with the file and the line or column."""


@dataclass
class OutcomeTable:
    """Prompts × models: success in [0, 1] and cost in USD, NaN where unknown."""

    prompts: list[str]
    tasks: list[str]
    models: list[str]
    success: np.ndarray  # (n, k) float, NaN = not recorded
    cost: np.ndarray  # (n, k) float USD, NaN = not recorded
    cost_estimated: bool = False
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    responses: np.ndarray | None = None
    """(n, k) object array of each model's answer text (None where the file has none)."""

    def __len__(self) -> int:
        return len(self.prompts)

    def subset(self, rows: Sequence[int] | np.ndarray) -> OutcomeTable:
        """The table restricted to some rows, in that order."""
        index = np.asarray(rows, dtype=int)
        return OutcomeTable(
            prompts=[self.prompts[i] for i in index],
            tasks=[self.tasks[i] for i in index],
            models=list(self.models),
            success=self.success[index],
            cost=self.cost[index],
            cost_estimated=self.cost_estimated,
            sources=list(self.sources),
            notes=list(self.notes),
            responses=None if self.responses is None else self.responses[index],
        )

    def with_models(self, models: Sequence[str]) -> OutcomeTable:
        """The same rows with exactly these model columns, in this order."""
        missing = [m for m in models if m not in self.models]
        if missing:
            raise OutcomeError(f"the files have no outcomes for {', '.join(missing)}")
        columns = [self.models.index(m) for m in models]
        return OutcomeTable(
            prompts=list(self.prompts),
            tasks=list(self.tasks),
            models=list(models),
            success=self.success[:, columns],
            cost=self.cost[:, columns],
            cost_estimated=self.cost_estimated,
            sources=list(self.sources),
            notes=list(self.notes),
            responses=None if self.responses is None else self.responses[:, columns],
        )

    def complete(self) -> OutcomeTable:
        """Only the rows where every model has a score and a cost."""
        keep = ~(np.isnan(self.success).any(axis=1) | np.isnan(self.cost).any(axis=1))
        table = self.subset(np.flatnonzero(keep))
        dropped = len(self) - len(table)
        if dropped:
            table.notes.append(f"{dropped} row(s) without every model's score were left out")
        return table


# --- prices, for files without costs ----------------------------------------------------


@dataclass
class PriceTable:
    """USD per million input and output tokens per model, to estimate missing costs.

    Prices come from ``overrides`` first, then genai-prices for the model's name or, when
    that is unknown, for its bare lower-case name (``mistralai/Mixtral-8x7B-Instruct-v0.1``
    is looked up as ``mixtral-8x7b-instruct-v0.1``).
    """

    overrides: dict[str, tuple[float, float]] = field(default_factory=dict)
    output_tokens: int | None = None
    """Output tokens assumed when a file has no response text; None: an error instead."""
    used: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    """The prices actually used, by model, with their source."""

    def price(self, model: str) -> tuple[float, float, str]:
        """(input, output) USD per million tokens and where they come from."""
        if model not in self.used:
            self.used[model] = self._find(model)
        return self.used[model]

    def _find(self, model: str) -> tuple[float, float, str]:
        if model in self.overrides:
            price_in, price_out = self.overrides[model]
            return price_in, price_out, "given on the command line"
        from dynamic_orchestrator.catalog import lookup_prices

        for name in dict.fromkeys([model, model.rsplit("/", 1)[-1].lower()]):
            info = lookup_prices(name)
            if info is not None and info.input_price and info.output_price:
                return info.input_price.base, info.output_price.base, info.price_source
        raise OutcomeError(
            f"no price known for model {model!r}: give one with "
            f"--price '{model}=INPUT_USD_PER_MTOK,OUTPUT_USD_PER_MTOK'"
        )

    def estimate(self, model: str, prompt: str, response: str | None) -> float:
        price_in, price_out, _ = self.price(model)
        if response is not None:
            out_tokens = estimate_tokens(response)
        elif self.output_tokens is not None:
            out_tokens = self.output_tokens
        else:
            raise OutcomeError(
                f"no cost and no response text for model {model!r}: give --output-tokens N "
                "to estimate its cost"
            )
        return (price_in * estimate_tokens(prompt) + price_out * out_tokens) / 1_000_000


# --- readers ----------------------------------------------------------------------------


def prompt_text(raw: str) -> str:
    """The prompt as sent: RouterBench stores a Python list of strings (``['...']``)."""
    text = raw.strip()
    if len(text) >= 4 and text[0] == "[" and text[-1] == "]" and text[1] in "'\"":
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return raw
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "\n\n".join(value)
    return raw


def _outcome(value: str) -> float | None:
    """A success value: True/False/0/1 or a number in [0, 1]; None when empty."""
    text = value.strip().lower()
    if text == "":
        return None
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    number = float(text)
    if not 0.0 <= number <= 1.0 or math.isnan(number):
        raise ValueError(f"{value!r} is not in [0, 1]")
    return number


def _is_outcome_column(values: Iterable[str]) -> bool:
    """Mostly (90%) outcome values: a stray bad value is then reported, not the column lost."""
    good = bad = 0
    for value in values:
        try:
            parsed = _outcome(value)
        except ValueError:
            bad += 1
            continue
        good += parsed is not None
    return good > 0 and bad <= 0.1 * (good + bad)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, to recognise training files later."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_csv(path: Path, prices: PriceTable) -> OutcomeTable:
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise OutcomeError(f"{path}: cannot read: {exc}") from None
    if "prompt" not in header:
        raise OutcomeError(f"{path}: no 'prompt' column (columns: {', '.join(header[:8])}…)")
    candidates = [
        c
        for c in header
        if c not in ROUTERBENCH_META and "|" not in c and not c.endswith("_response")
    ]
    sample = rows[:_SNIFF_ROWS]
    models = [c for c in candidates if _is_outcome_column(r[c] or "" for r in sample)]
    if not models:
        raise OutcomeError(
            f"{path}: no model score columns (0/1 or True/False values) among "
            f"{', '.join(candidates) or 'the columns'}"
        )
    cost_columns = {m: f"{m}|total_cost" for m in models if f"{m}|total_cost" in header}
    response_columns = {}
    for m in models:
        for name in (f"{m}|model_response", f"{m}_response"):
            if name in header:
                response_columns[m] = name
    estimated = len(cost_columns) < len(models)
    n, k = len(rows), len(models)
    success = np.full((n, k), np.nan)
    cost = np.full((n, k), np.nan)
    responses = np.full((n, k), None, dtype=object)
    prompts: list[str] = []
    tasks: list[str] = []
    for i, row in enumerate(rows):
        line = i + 2  # the header is line 1
        prompt = prompt_text(row["prompt"] or "")
        if not prompt.strip():
            raise OutcomeError(f"{path}:{line}: empty prompt")
        prompts.append(prompt)
        tasks.append((row.get("eval_name") or "").strip() or path.stem)
        for j, m in enumerate(models):
            try:
                value = _outcome(row[m] or "")
            except ValueError as exc:
                raise OutcomeError(f"{path}:{line}: column {m!r}: {exc}") from None
            if value is None:
                continue
            success[i, j] = value
            if m in response_columns:
                responses[i, j] = row.get(response_columns[m])
            if m in cost_columns:
                raw = (row[cost_columns[m]] or "").strip()
                try:
                    cost[i, j] = float(raw) if raw else np.nan
                except ValueError:
                    raise OutcomeError(
                        f"{path}:{line}: column {cost_columns[m]!r}: {raw!r} is not a number"
                    ) from None
            else:
                response = row.get(response_columns[m]) if m in response_columns else None
                cost[i, j] = prices.estimate(m, prompt, response)
    table = OutcomeTable(prompts, tasks, models, success, cost, estimated, [str(path)])
    if response_columns:
        table.responses = responses
    if estimated:
        table.notes.append("costs estimated from list prices and token estimates")
    return table


def _read_jsonl(path: Path, prices: PriceTable) -> OutcomeTable:
    by_prompt: dict[str, dict[str, list[tuple[float, float | None]]]] = {}
    task_of: dict[str, str] = {}
    models: dict[str, None] = {}
    unlabelled = 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise OutcomeError(f"{path}: cannot read: {exc}") from None
    items = _verdicts_applied(path, lines)
    for number, item in items:
        where = f"{path}:{number}"
        prompt, model = item.get("prompt"), item.get("model")
        if not isinstance(prompt, str) or not prompt.strip():
            raise OutcomeError(f"{where}: 'prompt' must be a non-empty string")
        if not isinstance(model, str) or not model:
            raise OutcomeError(f"{where}: 'model' must be a non-empty string")
        raw = item.get("success")
        if raw is None:  # an outcome-log line no grader has labelled yet
            unlabelled += 1
            continue
        if isinstance(raw, bool) or (isinstance(raw, int | float) and 0 <= raw <= 1):
            value = float(raw)
        else:
            raise OutcomeError(f"{where}: 'success' must be true/false or a number in [0, 1]")
        cost_value = item.get("cost_usd")
        if cost_value is not None and (
            not isinstance(cost_value, int | float)
            or isinstance(cost_value, bool)
            or cost_value < 0
        ):
            raise OutcomeError(f"{where}: 'cost_usd' must be a number >= 0")
        task = item.get("task")
        if task is not None and not isinstance(task, str):
            raise OutcomeError(f"{where}: 'task' must be a string")
        models[model] = None
        by_prompt.setdefault(prompt, {}).setdefault(model, []).append(
            (value, None if cost_value is None else float(cost_value))
        )
        if task:
            task_of.setdefault(prompt, task)
    if not by_prompt:
        if unlabelled:
            raise OutcomeError(
                f'{path}: no outcomes with a verdict: all {unlabelled} have "success": null '
                "(set it from your grader: true/false or a score in [0, 1])"
            )
        raise OutcomeError(f"{path}: no outcomes")
    names = list(models)
    n, k = len(by_prompt), len(names)
    success = np.full((n, k), np.nan)
    cost = np.full((n, k), np.nan)
    estimated = False
    for i, (prompt, per_model) in enumerate(by_prompt.items()):
        for j, m in enumerate(names):
            if m not in per_model:
                continue
            values = per_model[m]
            success[i, j] = float(np.mean([v for v, _ in values]))
            known = [c for _, c in values if c is not None]
            if known:
                cost[i, j] = float(np.mean(known))
            else:
                estimated = True
                cost[i, j] = prices.estimate(m, prompt, None)
    table = OutcomeTable(
        list(by_prompt),
        [task_of.get(p, path.stem) for p in by_prompt],
        names,
        success,
        cost,
        estimated,
        [str(path)],
    )
    if estimated:
        table.notes.append("some costs estimated from list prices and token estimates")
    if unlabelled:
        table.notes.append(
            f"{path}: {unlabelled} outcomes without a verdict (success null) skipped"
        )
    return table


def _verdicts_applied(path: Path, lines: list[str]) -> list[tuple[int, dict[str, object]]]:
    """The outcome lines (with their line numbers), each unlabelled one given the latest
    verdict line with its ``request_id`` (see :mod:`.outcome_log`)."""
    items: list[tuple[int, dict[str, object]]] = []
    verdicts: dict[str, float] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise OutcomeError(f"{where}: not valid JSON: {exc.msg}") from None
        if not isinstance(item, dict):
            raise OutcomeError(f"{where}: expected an object")
        if "verdict" in item and "prompt" not in item:
            value, request_id = item["verdict"], item.get("request_id")
            if not isinstance(request_id, str) or not (
                isinstance(value, bool) or (isinstance(value, int | float) and 0 <= value <= 1)
            ):
                raise OutcomeError(
                    f"{where}: a verdict line needs a string 'request_id' and a 'verdict' "
                    "of true/false or a number in [0, 1]"
                )
            verdicts[request_id] = float(value)
            continue
        items.append((number, item))
    for _, item in items:
        request_id = item.get("request_id")
        if item.get("success") is None and isinstance(request_id, str) and request_id in verdicts:
            item["success"] = verdicts[request_id]
    return items


def read_outcomes(paths: Sequence[str | Path], prices: PriceTable | None = None) -> OutcomeTable:
    """Read and join outcome files (CSV or JSON lines); models are the union of all files."""
    if not paths:
        raise OutcomeError("no outcome files given")
    prices = prices or PriceTable()
    tables = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise OutcomeError(f"{path}: no such file")
        if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            tables.append(_read_jsonl(path, prices))
        else:
            tables.append(_read_csv(path, prices))
    return concat(tables)


def concat(tables: Sequence[OutcomeTable]) -> OutcomeTable:
    """Stack tables row-wise; a model absent from a file is missing (NaN) on its rows."""
    models = list(dict.fromkeys(m for t in tables for m in t.models))
    column = {m: j for j, m in enumerate(models)}
    n = sum(len(t) for t in tables)
    success = np.full((n, len(models)), np.nan)
    cost = np.full((n, len(models)), np.nan)
    responses = np.full((n, len(models)), None, dtype=object)
    prompts: list[str] = []
    tasks: list[str] = []
    start = 0
    for t in tables:
        cols = [column[m] for m in t.models]
        success[start : start + len(t), cols] = t.success
        cost[start : start + len(t), cols] = t.cost
        if t.responses is not None:
            responses[start : start + len(t), cols] = t.responses
        prompts.extend(t.prompts)
        tasks.extend(t.tasks)
        start += len(t)
    return OutcomeTable(
        prompts,
        tasks,
        models,
        success,
        cost,
        any(t.cost_estimated for t in tables),
        [s for t in tables for s in t.sources],
        list(dict.fromkeys(note for t in tables for note in t.notes)),
        responses if any(t.responses is not None for t in tables) else None,
    )
