"""The model catalog: which models exist, who serves them, what they cost.

Config (``execution``, ``models.<name>``, ``providers.<name>.models``) and plugins
(``register_models``) add or override models; prices come from :mod:`.pricing`
(genai-prices). The catalog is what plugins see as a
:class:`~dynamic_orchestrator.contract.CatalogView`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .contract import (
    CLIENT_PROVIDER,
    Config,
    ModelInfo,
    PriceTiers,
    Provider,
    Tier,
)
from .pricing import lookup_prices, measured_cost
from .providers import missing_provider_reason, unserved_prices_reason

__all__ = [
    "CLIENT_PROVIDER",
    "Catalog",
    "ModelInfo",
    "PriceTiers",
    "build_catalog",
    "lookup_prices",
    "measured_cost",
]


# --- the catalog ---------------------------------------------------------------------


@dataclass
class Catalog:
    """Every model the orchestrator knows, and whether each is usable now."""

    models: dict[str, ModelInfo] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    config: Config = field(default_factory=Config)
    """The configuration the catalog was built from (tiers, client models, …)."""
    prices_providers: dict[str, str] = field(default_factory=dict)
    """genai-prices provider id → the registered provider that serves its models, as each
    provider declares (its ``prices_provider``; ``google`` → ``gemini``)."""

    def get(self, name: str) -> ModelInfo | None:
        """A model by name; names unknown to config are looked up in genai-prices."""
        found = self.models.get(name)
        if found is None:
            found = self.listed(name)
        return found

    def listed(self, name: str) -> ModelInfo | None:
        """The genai-prices entry for ``name``, given to the provider that declares its id."""
        found = lookup_prices(name)
        if found is not None and found.provider in self.prices_providers:
            found = replace(found, provider=self.prices_providers[found.provider])
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
            if model.source == "genai-prices" and model.provider not in self.config.providers:
                return unserved_prices_reason(model.provider)
            return missing_provider_reason(self.config, model.provider)
        return provider.unavailable_reason(model, client_can_sample=client_can_sample)

    def usable(self, name: str, *, client_can_sample: bool = False) -> bool:
        return self.unusable_reason(name, client_can_sample=client_can_sample) is None


def prices_providers(providers: Iterable[Provider]) -> dict[str, str]:
    """genai-prices provider id → provider name, from each provider's ``prices_provider``.

    The first provider to declare an id keeps it (registration order: installed plugins
    before the defaults).
    """
    found: dict[str, str] = {}
    for provider in providers:
        declared = getattr(provider, "prices_provider", None)
        if isinstance(declared, str) and declared and declared not in found:
            found[declared] = provider.name
    return found


def build_catalog(
    config: Config,
    providers: Iterable[Provider] = (),
    registered: Iterable[ModelInfo] = (),
    warn: Callable[[str], None] | None = None,
) -> Catalog:
    """Assemble the catalog from config tiers, provider model lists, plugins and overrides.

    A provider may declare ``prices_provider``, the genai-prices provider id whose models
    it serves (``google`` for the gemini provider); models genai-prices lists under that id
    are then served by it, with no configuration naming them.
    """
    providers = list(providers)
    catalog = Catalog(
        providers={p.name: p for p in providers},
        config=config,
        prices_providers=prices_providers(providers),
    )
    tiers_of: dict[str, list[Tier]] = {}
    for tier, execution in config.execution.items():
        for name in execution.models:
            tiers_of.setdefault(name, [])
            if tier not in tiers_of[name]:
                tiers_of[name].append(tier)

    def put(info: ModelInfo) -> None:
        existing = catalog.models.get(info.name)
        # The config's execution section decides a model's tiers; otherwise the tiers a
        # plugin registered it with, else those it already had.
        tiers = (
            tuple(tiers_of.get(info.name, ())) or info.tiers or (existing.tiers if existing else ())
        )
        catalog.models[info.name] = replace(info, tiers=tiers)

    for name in tiers_of:
        put(catalog.listed(name) or ModelInfo(name=name, provider=None))
    for provider_name, provider_config in config.providers.items():
        for name in provider_config.models:
            base = catalog.listed(name) or ModelInfo(name=name, provider=None)
            put(replace(base, provider=provider_name, source=f"providers.{provider_name}"))
    for info in registered:
        listed = None if info.priced else catalog.listed(info.name)
        if listed is not None:  # a plugin's model genai-prices knows: its list prices
            info = replace(
                info,
                input_price=listed.input_price,
                output_price=listed.output_price,
                context_window=info.context_window or listed.context_window,
                price_source=listed.price_source,
                prices_id=listed.prices_id,
            )
        put(info)
    for name, override in config.models.items():
        base = (
            catalog.models.get(name) or catalog.listed(name) or ModelInfo(name=name, provider=None)
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
