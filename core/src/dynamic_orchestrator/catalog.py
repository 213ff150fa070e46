"""The model catalog: which models exist, who serves them, what they cost.

Prices and context windows come from `genai-prices`, resolved once per model and kept
as plain numbers so a routing decision costs microseconds. Config (``models.<name>``,
``providers.<name>.models``) and plugins (``register_models``) add or override models.
Every cost computed here from token *estimates* is an estimate; :func:`measured_cost`
prices provider-reported usage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from .models import TIERS, Tier

if TYPE_CHECKING:
    from .config import Config
    from .providers import Provider

# genai-prices provider ids → the provider plugins that serve them.
PROVIDER_FOR_PRICES_ID: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gemini",
}
CLIENT_PROVIDER = "client"


@dataclass(frozen=True)
class PriceTiers:
    """USD per million tokens, with optional cliff tiers by total input tokens."""

    base: float
    tiers: tuple[tuple[int, float], ...] = ()

    def rate(self, total_input_tokens: int) -> float:
        for start, price in reversed(self.tiers):
            if total_input_tokens > start:
                return price
        return self.base


@dataclass(frozen=True)
class ModelInfo:
    """One model of the catalog."""

    name: str
    provider: str | None
    tiers: tuple[Tier, ...] = ()
    input_price: PriceTiers | None = None
    output_price: PriceTiers | None = None
    context_window: int | None = None
    supports_tools: bool = True
    price_source: str = "unknown"
    prices_id: str | None = None
    source: str = "config"

    @property
    def priced(self) -> bool:
        return self.input_price is not None and self.output_price is not None

    def estimate_cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """Estimated USD for this many tokens at list price; None when unpriced."""
        if self.input_price is None or self.output_price is None:
            return None
        return (
            self.input_price.rate(input_tokens) * input_tokens
            + self.output_price.rate(input_tokens) * output_tokens
        ) / 1_000_000

    @property
    def tier(self) -> Tier | None:
        return self.tiers[0] if self.tiers else None


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
        provider=PROVIDER_FOR_PRICES_ID.get(provider_id, provider_id),
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
        provider=PROVIDER_FOR_PRICES_ID.get(provider.id, provider.id),
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


def _default_config() -> Config:
    from .config import Config

    return Config()


# --- the catalog ---------------------------------------------------------------------


@dataclass
class Catalog:
    """Every model the orchestrator knows, and whether each is usable now."""

    models: dict[str, ModelInfo] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    config: Config = field(default_factory=lambda: _default_config())
    """The configuration the catalog was built from (tiers, client models, …)."""

    def get(self, name: str) -> ModelInfo | None:
        """A model by name; names unknown to config are looked up in genai-prices."""
        found = self.models.get(name)
        if found is None:
            found = lookup_prices(name)
        return found

    def tier_models(self, tier: Tier) -> list[ModelInfo]:
        return [m for m in self.models.values() if tier in m.tiers]

    def provider_for(self, model: ModelInfo) -> Provider | None:
        return self.providers.get(model.provider) if model.provider else None

    def unusable_reason(self, name: str, *, client_can_sample: bool = False) -> str | None:
        """None when the model can be called now; else why not, in words."""
        model = self.get(name)
        if model is None:
            return f"unknown model {name!r}: not in genai-prices nor in config 'models'"
        if model.provider is None:
            return f"no provider known for {name!r}: set models.{name}.provider"
        provider = self.providers.get(model.provider)
        if provider is None:
            from .providers import missing_provider_reason

            return missing_provider_reason(self.config, model.provider)
        return provider.unavailable_reason(model, client_can_sample=client_can_sample)

    def usable(self, name: str, *, client_can_sample: bool = False) -> bool:
        return self.unusable_reason(name, client_can_sample=client_can_sample) is None


def build_catalog(
    config: Config,
    providers: Iterable[Provider] = (),
    registered: Iterable[ModelInfo] = (),
    warn: Callable[[str], None] | None = None,
) -> Catalog:
    """Assemble the catalog from config tiers, provider model lists, plugins and overrides."""
    catalog = Catalog(providers={p.name: p for p in providers}, config=config)
    tiers_of: dict[str, list[Tier]] = {}
    for tier in TIERS:
        for name in config.execution[tier].models:
            tiers_of.setdefault(name, [])
            if tier not in tiers_of[name]:
                tiers_of[name].append(tier)

    def put(info: ModelInfo) -> None:
        existing = catalog.models.get(info.name)
        tiers = tuple(tiers_of.get(info.name, ())) or (existing.tiers if existing else ())
        catalog.models[info.name] = replace(info, tiers=tiers)

    for name in tiers_of:
        put(lookup_prices(name) or ModelInfo(name=name, provider=None))
    for provider_name, provider_config in config.providers.items():
        for name in provider_config.models:
            base = lookup_prices(name) or ModelInfo(name=name, provider=None)
            put(replace(base, provider=provider_name, source=f"providers.{provider_name}"))
    for info in registered:
        put(info)
    for name, override in config.models.items():
        base = (
            catalog.models.get(name) or lookup_prices(name) or ModelInfo(name=name, provider=None)
        )
        changes: dict[str, Any] = {"source": f"models.{name}"}
        if override.provider is not None:
            changes["provider"] = override.provider
        if override.input_price_per_mtok is not None:
            changes["input_price"] = PriceTiers(override.input_price_per_mtok)
            changes["price_source"] = "config"
            changes["prices_id"] = None
        if override.output_price_per_mtok is not None:
            changes["output_price"] = PriceTiers(override.output_price_per_mtok)
            changes["price_source"] = "config"
            changes["prices_id"] = None
        if override.context_window is not None:
            changes["context_window"] = override.context_window
        if override.supports_tools is not None:
            changes["supports_tools"] = override.supports_tools
        put(replace(base, **changes))
    if warn:
        for info in catalog.models.values():
            if info.provider is None:
                warn(f"model {info.name!r} is unknown to genai-prices and has no provider")
    return catalog
