"""List prices from genai-prices: one place that prices tokens.

Prices and context windows come from `genai-prices`, resolved once per model and kept as
plain numbers so a routing decision costs microseconds. :func:`measured_cost` prices
provider-reported usage (cache reads and writes at their own rates); every other figure
priced from token *estimates* is an estimate.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import cache
from typing import Any

from .contract import CLIENT_PROVIDER, Completion, ModelInfo, PriceTiers

# --- genai-prices --------------------------------------------------------------------

_snapshot_lock = threading.Lock()


def _snapshot() -> Any:
    from genai_prices import data_snapshot

    with _snapshot_lock:
        return data_snapshot.get_snapshot()


def _as_tiers(value: Any) -> PriceTiers | None:
    if value is None:
        return None
    base = getattr(value, "base", None)
    if base is not None:
        return PriceTiers(
            base=float(base), tiers=tuple((int(t.start), float(t.price)) for t in value.tiers)
        )
    return PriceTiers(base=float(value))


def _from_table(model: str, entry: list[Any]) -> ModelInfo:
    provider_id, prices_id, in_base, in_tiers, out_base, out_tiers, context = entry

    def tiers(base: float | None, steps: list[list[float]]) -> PriceTiers | None:
        if base is None:
            return None
        return PriceTiers(base=base, tiers=tuple((int(s), float(p)) for s, p in steps))

    return ModelInfo(
        name=model,
        provider=provider_id,
        input_price=tiers(in_base, in_tiers),
        output_price=tiers(out_base, out_tiers),
        context_window=context,
        price_source=f"genai-prices ({provider_id}/{prices_id})",
        prices_id=prices_id,
        source="genai-prices",
    )


@cache
def lookup_prices(model: str) -> ModelInfo | None:
    """The genai-prices entry for a model name, or None when it knows no such model.

    Its ``provider`` is genai-prices' provider id (``google``); the catalog gives the model
    to the provider plugin that declares that id (``prices_provider``).

    Read from the compact table built from genai-prices (:mod:`.price_table`) when it has
    the name; else from genai-prices itself (imported then, on first use).
    """
    from .price_table import load

    table = load()
    if table is not None and model in table:
        entry = table[model]
        return None if entry is None else _from_table(model, entry)
    return lookup_live(model)


def lookup_live(model: str) -> ModelInfo | None:
    """:func:`lookup_prices` from genai-prices itself, without the compact table."""
    try:
        provider, info = _snapshot().find_provider_model(model, None, None, None)
    except LookupError:
        return None
    except Exception:  # genai-prices raises its own error types for unknown models
        return None
    prices = info.get_prices(datetime.now(tz=UTC))
    return ModelInfo(
        name=model,
        provider=provider.id,
        input_price=_as_tiers(getattr(prices, "input_mtok", None)),
        output_price=_as_tiers(getattr(prices, "output_mtok", None)),
        context_window=info.context_window,
        price_source=f"genai-prices ({provider.id}/{info.id})",
        prices_id=info.id,
        source="genai-prices",
    )


def measured_cost(
    model: ModelInfo | None,
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """USD for provider-reported usage at list prices.

    ``input_tokens`` is every input token, cached ones included; ``cache_read_tokens`` and
    ``cache_write_tokens`` say how many of them were cache reads and writes, which
    genai-prices prices at their own rates. Plain input and output are priced from the
    rates genai-prices gave the catalog (the same cliff-tier rule, without a lookup per
    call); config prices (no genai-prices entry) charge every input token at the input rate.
    """
    if model is None:
        return None
    if model.prices_id is not None and (cache_read_tokens or cache_write_tokens):
        try:
            from genai_prices import Usage, calc_price

            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
            if cache_read_tokens:
                usage.cache_read_tokens = cache_read_tokens
            if cache_write_tokens:
                usage.cache_write_tokens = cache_write_tokens
            result = calc_price(usage, model.prices_id)
            return float(result.total_price)
        except Exception:
            pass
    return model.estimate_cost(input_tokens, output_tokens)


def completion_cost(model: ModelInfo | None, completion: Completion) -> float | None:
    """What one completion cost here: the one place a completion is priced.

    As the provider reported it, else its usage at ``model``'s list prices; None when
    neither is known. The client's own model (sampling) costs nothing here: the client
    pays, and this server cannot see what.
    """
    if completion.provider == CLIENT_PROVIDER:
        return None
    if completion.cost_usd is not None:
        return completion.cost_usd
    return measured_cost(model, completion.input_tokens, completion.output_tokens)
