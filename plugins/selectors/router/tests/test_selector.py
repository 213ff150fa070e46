"""The router as the pipeline's ``select_model``: choice, mapping, limits and fallback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dynamic_orchestrator_router
import pytest
import yaml
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config, load_config, parse_config
from dynamic_orchestrator.models import ComplexityResult, Constraints, IntentResult
from dynamic_orchestrator_router.outcomes import PriceTable, read_outcomes
from dynamic_orchestrator_router.training import train
from dynamic_orchestrator_testing.fakes import EchoProvider

# the router's models stand for these catalog models (all served by an "openai" echo)
MAPPING = {"tiny": "gpt-5-nano", "mid": "gpt-5-mini", "big": "gpt-5.1"}
# At today's list prices for a short request (~$0.0001, $0.0006, $0.003), half a cent
# per sure success buys big for arithmetic (+0.8) but not mid for greetings (+0.06).
WTP = 0.005


def _echo(name: str = "openai") -> object:
    """An echo provider, and a fixed analysis (write, simple: 300 output tokens, the prices
    in the comment on WTP): the cost estimates the router weighs then do not move when the
    default classifier's weights are retrained."""
    provider = EchoProvider(name)

    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(provider)

        @hookimpl
        def classify(self, request: Any) -> IntentResult:
            return IntentResult(intent="write", confidence=1.0, reasons=["fixed for the test"])

        @hookimpl
        def score_complexity(self, request: Any, intent: Any) -> ComplexityResult:
            return ComplexityResult(level="simple", score=0.0, reasons=["fixed for the test"])

    return Plugin()


def _config(router_path: Path | None, **settings: Any) -> Config:
    router: dict[str, Any] = {"models": MAPPING, **settings}
    if router_path is not None:
        router["file"] = str(router_path)
    return parse_config({"use_claude_code": False, "plugins": {"settings": {"router": router}}})


def _select(orch: Any, text: str, **options: Any) -> Any:
    """(analysis, selection, analysis result) of the decision stages for ``text``."""
    request = orch.make_request(text, {}, options)
    return orch.run_analysis(request, Constraints(**options))


async def test_without_a_router_file_the_tier_selector_decides(make_orchestrator: Any) -> None:
    from dynamic_orchestrator_tiers import select_by_tier

    orch = await make_orchestrator(_config(None), plugins=(dynamic_orchestrator_router, _echo()))
    analysis, selection, result = _select(orch, "hello there, nice weekend?")
    expected = select_by_tier(analysis, orch.catalog, Constraints())
    assert selection == expected
    assert not any("router" in r for r in result.reasons)


async def test_the_router_picks_per_prompt(
    make_orchestrator: Any, trained_router_path: Path, chat_prompt: str, math_prompt: str
) -> None:
    orch = await make_orchestrator(
        _config(trained_router_path, willingness_to_pay=WTP),
        plugins=(dynamic_orchestrator_router, _echo()),
    )
    _, chat, chat_result = _select(orch, chat_prompt)
    _, math, _ = _select(orch, math_prompt)
    assert chat.chain[0].model == "gpt-5-nano"  # tiny succeeds on greetings
    assert math.chain[0].model == "gpt-5.1"  # only big does arithmetic
    assert {c.model for c in chat.chain} == set(MAPPING.values())  # the rest are fallbacks
    reasons = " | ".join(chat_result.reasons)
    assert "router router.npz, utility mode: p - cost / $0.005 per success" in reasons
    assert "gpt-5-nano (as tiny) p=" in reasons and "gpt-5.1 (as big) p=" in reasons
    assert chat.chain[0].reason.startswith("router p=") and "list price" in chat.chain[0].reason
    assert chat.chain[0].estimated_cost_usd == pytest.approx(
        orch.catalog.get("gpt-5-nano").estimate_cost(  # type: ignore[union-attr]
            chat_result.estimated_input_tokens, chat_result.estimated_output_tokens
        )
    )


async def test_runs_end_to_end(
    make_orchestrator: Any, trained_router_path: Path, math_prompt: str
) -> None:
    orch = await make_orchestrator(
        _config(trained_router_path), plugins=(dynamic_orchestrator_router, _echo())
    )
    result = await orch.orchestrate(math_prompt)
    assert result.status == "completed" and result.model == "gpt-5.1"
    assert result.output.startswith("echo: ")


async def test_threshold_mode_and_knobs_from_settings(
    make_orchestrator: Any, trained_router_path: Path, code_prompt: str
) -> None:
    orch = await make_orchestrator(
        _config(trained_router_path, mode="threshold", target=0.6),
        plugins=(dynamic_orchestrator_router, _echo()),
    )
    _, selection, result = _select(orch, code_prompt)
    assert selection.chain[0].model == "gpt-5-mini"  # the cheapest likely to succeed
    assert any("threshold mode: cheapest model with p >= 0.6" in r for r in result.reasons)
    # a willingness to pay of nothing picks the cheapest model whatever its chances
    orch.config = orch.catalog.config = _config(trained_router_path, willingness_to_pay=1e-9)
    _, selection, _ = _select(orch, code_prompt)
    assert selection.chain[0].model == "gpt-5-nano"


async def test_mapping_leaves_out_and_reports_models(
    make_orchestrator: Any, trained_router_path: Path, math_prompt: str
) -> None:
    config = parse_config(
        {
            "use_claude_code": False,
            "plugins": {
                "settings": {
                    "router": {
                        "file": str(trained_router_path),
                        "models": {"tiny": "gpt-5-nano", "big": None},
                    }
                }
            },
        }
    )
    orch = await make_orchestrator(config, plugins=(dynamic_orchestrator_router, _echo()))
    _, selection, result = _select(orch, math_prompt)
    assert [c.model for c in selection.chain] == ["gpt-5-nano"]
    reasons = " | ".join(result.reasons)
    assert "big (left out by plugins.settings.router.models)" in reasons
    assert "mid (unknown to the catalog: map it in plugins.settings.router.models)" in reasons


async def test_router_names_in_the_catalog_need_no_mapping(
    make_orchestrator: Any, tmp_path: Path
) -> None:
    lines = []
    for i in range(40):
        hard = i % 2 == 0
        prompt = f"{'prove the theorem about primes' if hard else 'say hi to my friend'} {i}"
        lines.append({"prompt": prompt, "model": "gpt-5-nano", "success": not hard})
        lines.append({"prompt": prompt, "model": "gpt-5.1", "success": True})
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    # no costs recorded: priced from genai-prices, with an assumed answer length
    table = read_outcomes([path], PriceTable(output_tokens=200))
    assert table.cost_estimated
    router_file = train(table).save(tmp_path / "mine.npz")
    config = parse_config(
        {"use_claude_code": False, "plugins": {"settings": {"router": {"file": str(router_file)}}}}
    )
    orch = await make_orchestrator(config, plugins=(dynamic_orchestrator_router, _echo()))
    _, hard, _ = _select(orch, "prove the theorem about primes 99")
    _, easy, _ = _select(orch, "say hi to my friend 99")
    assert hard.chain[0].model == "gpt-5.1" and easy.chain[0].model == "gpt-5-nano"


async def test_max_cost_is_never_exceeded(
    make_orchestrator: Any, trained_router_path: Path, math_prompt: str
) -> None:
    orch = await make_orchestrator(
        _config(trained_router_path), plugins=(dynamic_orchestrator_router, _echo())
    )
    _, free_hand, _ = _select(orch, math_prompt)
    costs = {c.model: c.estimated_cost_usd for c in free_hand.chain}
    ceiling = (costs["gpt-5-mini"] + costs["gpt-5.1"]) / 2
    _, capped, result = _select(orch, math_prompt, max_cost=ceiling)
    assert "gpt-5.1" not in [c.model for c in capped.chain]
    assert all(c.estimated_cost_usd <= ceiling for c in capped.chain)
    assert any(r.startswith("above max_cost") and "gpt-5.1" in r for r in result.reasons)
    # nothing of the router fits: the tier selector decides, and says why
    _, none_fit, result = _select(orch, math_prompt, max_cost=1e-12)
    assert none_fit.chain == []
    assert any("router not used: none of its models fits max_cost" in r for r in result.reasons)


async def test_preferred_models_come_first(
    make_orchestrator: Any, trained_router_path: Path, chat_prompt: str
) -> None:
    orch = await make_orchestrator(
        _config(trained_router_path, willingness_to_pay=WTP),
        plugins=(dynamic_orchestrator_router, _echo()),
    )
    _, selection, _ = _select(orch, chat_prompt, preferred_models=["gpt-4o"])
    assert [c.model for c in selection.chain][:2] == ["gpt-4o", "gpt-5-nano"]
    assert selection.chain[0].reason == "preferred by the request"


async def test_unusable_models_are_skipped_with_the_reason(
    make_orchestrator: Any, trained_router_path: Path, math_prompt: str
) -> None:
    config = parse_config(
        {
            "use_claude_code": False,
            "plugins": {
                "settings": {
                    "router": {
                        "file": str(trained_router_path),
                        # no anthropic provider is installed here
                        "models": {**MAPPING, "big": "claude-haiku-4-5"},
                    }
                }
            },
        }
    )
    orch = await make_orchestrator(config, plugins=(dynamic_orchestrator_router, _echo()))
    _, selection, result = _select(orch, math_prompt)
    assert "claude-haiku-4-5" not in [c.model for c in selection.chain]
    assert any("claude-haiku-4-5 (provider 'anthropic'" in r for r in result.reasons)


async def test_a_forced_model_is_left_to_the_tier_selector(
    make_orchestrator: Any, trained_router_path: Path, chat_prompt: str
) -> None:
    orch = await make_orchestrator(
        _config(trained_router_path), plugins=(dynamic_orchestrator_router, _echo())
    )
    _, selection, _ = _select(orch, chat_prompt, model="gpt-5.1")
    assert [c.model for c in selection.chain] == ["gpt-5.1"]
    assert selection.reasons == ["model gpt-5.1 forced"]


async def test_bad_file_or_settings_fall_back_with_a_reason(
    make_orchestrator: Any, tmp_path: Path, chat_prompt: str
) -> None:
    orch = await make_orchestrator(
        _config(tmp_path / "nope.npz"), plugins=(dynamic_orchestrator_router, _echo())
    )
    _, selection, result = _select(orch, chat_prompt)
    assert selection.chain  # the tier selector's chain
    assert any("router not used:" in r and "no such router file" in r for r in result.reasons)
    orch.config = orch.catalog.config = _config(tmp_path / "nope.npz", mode="cheapest")
    _, selection, result = _select(orch, chat_prompt)
    assert any("plugins.settings.router.mode" in r for r in result.reasons)


def test_relative_file_is_found_beside_the_config(
    tmp_path: Path, trained_router_path: Path
) -> None:
    from dynamic_orchestrator_router.settings import resolve_file, settings_of

    shutil.copy(trained_router_path, tmp_path / "r.npz")
    config_file = tmp_path / "conf.yaml"
    config_file.write_text(yaml.safe_dump({"plugins": {"settings": {"router": {"file": "r.npz"}}}}))
    config = load_config(config_file)
    assert resolve_file(settings_of(config), config) == tmp_path / "r.npz"


def test_installed_plugin_runs_before_the_tier_selector() -> None:
    from dynamic_orchestrator.plugins import make_plugin_manager

    pm = make_plugin_manager()
    info = pm.infos["router"]
    assert info.distribution == "dynamic-orchestrator-router"
    assert {"select_model", "register_commands", "startup"} <= set(info.hooks)
    impls = pm.hook.select_model.get_hookimpls()  # called last to first
    names = [i.plugin_name for i in reversed(impls)]
    assert names.index("router") < names.index("tiers")
    router_impl = next(i for i in impls if i.plugin_name == "router")
    assert not router_impl.trylast


def test_startup_reports_a_bad_router_file(tmp_path: Path) -> None:
    from dynamic_orchestrator_router.model import RouterFileError

    bad = tmp_path / "bad.npz"
    bad.write_text("not a router")
    orchestrator = type("Starting", (), {"config": _config(bad)})()
    with pytest.raises(RouterFileError, match="not a router file"):
        dynamic_orchestrator_router.startup(orchestrator)
