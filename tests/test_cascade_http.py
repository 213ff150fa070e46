"""The verifying cascade through the whole Orchestrator and the official OpenAI SDK over real
HTTP, against the fake provider server: what ran, why, and what it cost."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dynamic_orchestrator_cascade
import dynamic_orchestrator_openai
import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

STRONG, CHEAP = "gpt-4o", ["gpt-5-nano", "gpt-4o-mini"]  # the two cheapest, cheapest first
TEXT = "Which option is right, A or B?"


@pytest.fixture
async def orch(
    fake_provider_server: FakeProviderServer,
    server_config: Callable[..., Any],
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-0123456789")
    chain = {"preferred": STRONG, "fallback": CHEAP}
    config = server_config(
        use_claude_code=False,
        execution={tier: chain for tier in ("simple", "moderate", "complex")},
        plugins={"settings": {"cascade": {"enabled": True}}},
    )
    return await make_orchestrator(
        config, plugins=(dynamic_orchestrator_openai, dynamic_orchestrator_cascade)
    )


def answer(srv: FakeProviderServer, **texts: str) -> None:
    for model, text in texts.items():
        srv.script("openai", fs.reply(text, output_tokens=5), model=model)


def models_called(srv: FakeProviderServer) -> list[str | None]:
    return [r.model for r in srv.requests]


def assert_cost_is_the_sum(result: Any) -> None:
    ran = [a for a in result.attempts if a.outcome != "skipped"]
    assert all(a.cost_usd and a.cost_usd > 0 for a in ran)
    assert result.cost_usd == pytest.approx(sum(a.cost_usd for a in ran))


async def test_agreement_is_accepted_without_the_strong_model(
    orch: Any, fake_provider_server: FakeProviderServer
) -> None:
    answer(fake_provider_server, **{CHEAP[0]: "B", CHEAP[1]: "Answer: (b)"})
    result = await orch.orchestrate(TEXT)
    assert models_called(fake_provider_server) == CHEAP
    assert result.status == "completed" and result.output == "B" and result.model == CHEAP[0]
    assert [a.reason for a in result.attempts] == [
        "cheapest model first",
        "a second cheap answer is needed to compare",
    ]
    assert_cost_is_the_sum(result)


async def test_disagreement_escalates_with_its_reason_and_cost(
    orch: Any, fake_provider_server: FakeProviderServer
) -> None:
    answer(fake_provider_server, **{CHEAP[0]: "A", CHEAP[1]: "B", STRONG: "B"})
    result = await orch.orchestrate(TEXT)
    assert models_called(fake_provider_server) == [*CHEAP, STRONG]
    assert result.output == "B" and result.model == STRONG
    escalation = result.attempts[-1]
    assert escalation.model == STRONG and escalation.outcome == "ok"
    assert "disagree (choice:A, choice:B)" in (escalation.reason or "")
    assert_cost_is_the_sum(result)


async def test_an_escalation_that_cannot_fit_max_cost_is_not_started(
    orch: Any, fake_provider_server: FakeProviderServer
) -> None:
    strong_estimate = (await orch.analyze(TEXT)).estimated_cost_usd
    answer(fake_provider_server, **{CHEAP[0]: "A", CHEAP[1]: "B"})
    budget = strong_estimate  # the strong model alone fits; after the cheap calls it does not
    result = await orch.orchestrate(TEXT, options={"max_cost": budget})
    assert models_called(fake_provider_server) == CHEAP  # the strong model was never called
    skipped = result.attempts[-1]
    assert skipped.model == STRONG and skipped.outcome == "skipped"
    assert "max_cost" in (skipped.reason or "") and skipped.cost_usd == 0.0
    assert result.output == "A" and result.cost_usd <= budget
    assert_cost_is_the_sum(result)


async def test_self_check_over_http_counts_the_check_call(
    fake_provider_server: FakeProviderServer,
    server_config: Callable[..., Any],
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-0123456789")
    chain = {"preferred": STRONG, "fallback": CHEAP}
    config = server_config(
        use_claude_code=False,
        execution={tier: chain for tier in ("simple", "moderate", "complex")},
        plugins={"settings": {"cascade": {"enabled": True, "verifier": "self_check"}}},
    )
    orch = await make_orchestrator(
        config, plugins=(dynamic_orchestrator_openai, dynamic_orchestrator_cascade)
    )
    srv = fake_provider_server
    srv.script("openai", fs.reply("Paris"), fs.reply("NO: it is Lyon"), model=CHEAP[0])
    answer(srv, **{STRONG: "Paris, France"})
    result = await orch.orchestrate("What is the capital of France?")
    assert models_called(srv) == [CHEAP[0], CHEAP[0], STRONG]
    check = srv.requests[1].body["messages"][-1]["content"]
    assert "What is the capital of France?" in check and "Paris" in check and "YES or NO" in check
    assert result.output == "Paris, France"
    assert "self-check" in (result.attempts[-1].reason or "")
    assert_cost_is_the_sum(result)


class AcmeVerifiers:
    """A third-party plugin: a verifier that keeps any cheap answer of a few words (one
    call), where the default ``agreement`` asks a second cheap model and escalates."""

    plugin_name = "acme_verifiers"  # sorts before the cascade: registered before its hook

    @hookimpl(optionalhook=True)
    def register_verifiers(self, register: Callable[[str, Any], None]) -> None:
        register("short_enough", lambda request: ShortEnough())


class ShortEnough:
    name = "short_enough"

    def judge(self, answers: Sequence[str | None]) -> tuple[str, str]:
        words = len((answers[0] or "").split())
        if 0 < words <= 8:
            return "accept", f"short_enough: {words} words"
        return "escalate", f"short_enough: {words} words"


async def test_a_plugin_verifier_changes_what_is_accepted(
    fake_provider_server: FakeProviderServer,
    server_config: Callable[..., Any],
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-0123456789")
    chain = {"preferred": STRONG, "fallback": CHEAP}
    srv = fake_provider_server
    results = {}
    for verifier in ("agreement", "short_enough"):
        config = server_config(
            use_claude_code=False,
            execution={tier: chain for tier in ("simple", "moderate", "complex")},
            plugins={"settings": {"cascade": {"enabled": True, "verifier": verifier}}},
        )
        orch = await make_orchestrator(
            config,
            plugins=(dynamic_orchestrator_openai, dynamic_orchestrator_cascade, AcmeVerifiers()),
        )
        srv.reset()
        answer(srv, **{CHEAP[0]: "Paris is the capital.", CHEAP[1]: "Lyon", STRONG: "Paris."})
        results[verifier] = (await orch.orchestrate("Capital of France?"), models_called(srv))
    default, called = results["agreement"]  # the two cheap answers disagree: escalated
    assert called == [*CHEAP, STRONG] and default.output == "Paris."
    plugin, called = results["short_enough"]
    assert called == [CHEAP[0]]  # accepted by the plugin's verifier: one cheap call
    assert plugin.output == "Paris is the capital." and plugin.model == CHEAP[0]
    assert plugin.attempts[0].reason == "cheapest model first"
    assert_cost_is_the_sum(plugin)
