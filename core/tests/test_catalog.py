"""The catalog: prices and context windows from genai-prices, overrides from config."""

from __future__ import annotations

import pytest
from dynamic_orchestrator.catalog import PriceTiers, build_catalog, lookup_prices, measured_cost
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator_testing.fakes import EchoProvider
from genai_prices import Usage, calc_price


@pytest.mark.parametrize(
    ("model", "input_tokens", "output_tokens"),
    [
        ("gpt-5-nano", 1_000, 500),
        ("claude-haiku-4-5", 12_345, 678),
        ("gemini-2.5-flash-lite", 50, 5_000),
        # tiered prices: below and above the 200k-token cliff
        ("claude-sonnet-4-5", 150_000, 2_000),
        ("claude-sonnet-4-5", 250_000, 2_000),
        ("gemini-2.5-pro", 300_000, 1_000),
    ],
)
def test_prices_match_genai_prices(model: str, input_tokens: int, output_tokens: int) -> None:
    info = lookup_prices(model)
    assert info is not None and info.prices_id is not None
    expected = float(
        calc_price(
            Usage(input_tokens=input_tokens, output_tokens=output_tokens), info.prices_id
        ).total_price
    )
    assert measured_cost(info, input_tokens, output_tokens) == pytest.approx(expected, rel=1e-9)
    assert info.estimate_cost(input_tokens, output_tokens) == pytest.approx(expected, rel=1e-9)


def test_cache_tokens_are_priced_by_genai_prices() -> None:
    info = lookup_prices("claude-haiku-4-5")
    assert info is not None
    plain = measured_cost(info, 10_000, 100)
    cached = measured_cost(info, 10_000, 100, cache_read_tokens=9_000)
    assert plain is not None and cached is not None and cached < plain


def test_unknown_models_have_no_price() -> None:
    assert lookup_prices("no-such-model-anywhere") is None
    assert measured_cost(None, 10, 10) is None


def test_tiers_come_from_execution_and_overrides_from_config() -> None:
    config = parse_config(
        {
            "execution": {"simple": {"preferred": "house-llm", "fallback": ["gpt-5-nano"]}},
            "models": {
                "house-llm": {
                    "provider": "local",
                    "input_price_per_mtok": 0.5,
                    "output_price_per_mtok": 1.5,
                    "context_window": 32_000,
                }
            },
        }
    )
    catalog = build_catalog(config, [EchoProvider("local")])
    house = catalog.get("house-llm")
    assert house is not None
    assert (house.provider, house.tiers, house.context_window) == ("local", ("simple",), 32_000)
    assert house.estimate_cost(1_000_000, 1_000_000) == pytest.approx(2.0)
    assert catalog.usable("house-llm")
    nano = catalog.get("gpt-5-nano")
    assert nano is not None and nano.tiers == ("simple",) and nano.provider == "openai"
    assert "provider 'openai' is not loaded" in (catalog.unusable_reason("gpt-5-nano") or "")


def test_a_model_in_several_tiers_lists_them_all() -> None:
    config = Config()
    catalog = build_catalog(config)
    shared = catalog.get("claude-haiku-4-5")
    assert shared is not None and set(shared.tiers) == {"simple", "moderate"}


def test_price_cliff_applies_to_all_tokens() -> None:
    tiers = PriceTiers(base=1.0, tiers=((200_000, 2.0),))
    assert tiers.rate(200_000) == 1.0 and tiers.rate(200_001) == 2.0
