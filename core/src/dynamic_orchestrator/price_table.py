"""A compact table of genai-prices' list prices, read in a millisecond at start-up.

genai-prices' bundled data is a 1.6 MB Python module that takes a large share of a
second to import; a routing decision needs a few numbers per model. ``price_table.json``
holds, for every model id genai-prices knows (and the names the default configuration
uses), what :func:`dynamic_orchestrator.catalog.lookup_prices` would resolve from it:
provider, model id, input and output prices with their cliff tiers, context window. It is
used only when it was built from the genai-prices version installed; a name it lacks, or a
model whose price changes on a date, is looked up in genai-prices itself. Rebuild after
upgrading genai-prices (a test fails until then)::

    uv run python -m dynamic_orchestrator.price_table
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

TABLE = "price_table.json"
Entry = list[Any]
"""None for a name genai-prices does not resolve, else ``[provider id, model id, input
base, input tiers, output base, output tiers, context window]``, tiers as
``[[start, price], ...]``, prices in USD per million tokens or None."""


def genai_prices_version() -> str | None:
    try:
        return metadata.version("genai-prices")
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency of the core
        return None


@cache
def load() -> dict[str, Entry | None] | None:
    """The table by model name, or None when it is missing or from another version."""
    try:
        data = json.loads(Path(__file__).with_name(TABLE).read_bytes())
    except (OSError, ValueError):
        return None
    if data.get("genai_prices") != genai_prices_version():
        return None
    models: dict[str, Entry | None] = data["models"]
    return models


def _price(value: Any) -> tuple[float | None, list[list[float]]]:
    if value is None:
        return None, []
    base = getattr(value, "base", None)
    if base is not None:
        return float(base), [[int(t.start), float(t.price)] for t in value.tiers]
    return float(value), []


def _settled(prices: Any, now: datetime) -> bool:
    """Whether a model's price, as resolved now, stays the same at every later time: one
    price, or conditional prices whose only conditions are start dates already passed."""
    if not isinstance(prices, list):
        return True
    for conditional in prices:
        constraint = conditional.constraint
        if constraint is None:
            continue
        start = getattr(constraint, "start_date", None)
        if type(constraint).__name__ != "StartDateConstraint" or start is None:
            return False
        if start > now.date():
            return False
    return True


def build(extra_names: list[str]) -> dict[str, Any]:
    """The table from the installed genai-prices: every model id, plus ``extra_names``."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    names = {model.id for provider in snapshot.providers for model in provider.models}
    names.update(extra_names)
    now = datetime.now(tz=UTC)
    models: dict[str, Entry | None] = {}
    for name in sorted(names):
        try:
            provider, info = snapshot.find_provider_model(name, None, None, None)
        except Exception:  # genai-prices raises its own error types for unknown models
            models[name] = None  # known not to resolve: no need to ask genai-prices
            continue
        if not _settled(info.prices, now):
            continue  # prices that change at a time still to come: looked up live
        prices = info.get_prices(now)
        in_base, in_tiers = _price(getattr(prices, "input_mtok", None))
        out_base, out_tiers = _price(getattr(prices, "output_mtok", None))
        models[name] = [
            provider.id, info.id, in_base, in_tiers, out_base, out_tiers, info.context_window
        ]  # fmt: skip
    return {"genai_prices": genai_prices_version(), "models": models}


def default_names() -> list[str]:
    """The model names the embedded default configuration uses."""
    from .config import Config

    config = Config()
    names = {m for tier in config.execution.values() for m in tier.models}
    names.update(m for models in config.claude_code_models.values() for m in models)
    names.add(config.effective_baseline_model)
    return sorted(names)


def main() -> None:
    """Write the table beside this module."""
    table = build(default_names())
    path = Path(__file__).with_name(TABLE)
    path.write_text(json.dumps(table, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{path}: {len(table['models'])} models from genai-prices {table['genai_prices']}")


if __name__ == "__main__":
    main()
