"""Catalog entries: one model each.

A :class:`ModelInfo` is one model: its provider, the tiers it may serve, its list prices
and context window. The host builds the catalog (config, ``register_models``, genai-prices)
and hands plugins a read-only :class:`~dynamic_orchestrator.contract.CatalogView`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Tier

CLIENT_PROVIDER = "client"
"""The provider name of the MCP client's own model (sampling or a delegated plan)."""


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
    """One model of the catalog.

    ``tiers`` given by a plugin (``register_models``) are kept unless the configuration's
    ``execution`` section names the model, which then decides its tiers.
    """

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
