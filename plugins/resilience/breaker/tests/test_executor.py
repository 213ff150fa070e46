"""The resilient executor end to end: fallback by error kind, breakers, budget and cache.

Providers are the in-process echo fakes with scripted faults; every request goes through
``Orchestrator.orchestrate`` with the default plugins and this one.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import dynamic_orchestrator_memory
import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.contract import ConfigError
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import Completion, IntentResult, ServiceRoute, ToolSpec
from dynamic_orchestrator.tokens import estimate_tool_tokens
from dynamic_orchestrator_breaker.budget import INPUT_MARGIN, estimate_call_input_tokens
from dynamic_orchestrator_breaker.executor import _cacheable
from dynamic_orchestrator_testing.fakes import EchoProvider

from .helpers import Providers, make_config, state_of

CHAIN = ["m-small", "m-small2", "m-big"]


def outcomes(result: Any) -> list[tuple[str, str, str | None]]:
    return [(a.model, a.outcome, a.error_kind) for a in result.attempts]


async def test_transient_errors_retry_then_fall_back_listing_every_attempt(
    resilient: Any, echo: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN))
    echo.fail(ErrorKind.TRANSIENT, ErrorKind.TRANSIENT)
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed" and result.model == "m-small2"
    assert outcomes(result) == [
        ("m-small", "error", "transient"),
        ("m-small", "error", "transient"),
        ("m-small2", "ok", None),
    ]


async def test_a_bad_request_does_not_fall_back_nor_count_against_the_breaker(
    resilient: Any, echo: EchoProvider, echo2: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN))
    echo.fail(ErrorKind.BAD_REQUEST)
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "failed" and "bad_request" in (result.error or "")
    assert outcomes(result) == [("m-small", "error", "bad_request")]
    assert echo2.calls == []
    assert state_of(orch).breakers.breaker("m-small").snapshot().calls == 0


async def test_context_overflow_goes_only_to_a_larger_context_model(
    resilient: Any, echo: EchoProvider, echo2: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN))
    echo.fail(ErrorKind.CONTEXT_OVERFLOW)
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed" and result.model == "m-big"
    assert outcomes(result) == [("m-small", "error", "context_overflow"), ("m-big", "ok", None)]
    assert echo2.calls == []  # m-small2 has the same window: skipped


async def test_an_open_breaker_is_skipped_and_listed(resilient: Any, echo: EchoProvider) -> None:
    orch = await resilient(make_config(CHAIN, circuit_breaker={"minimum_calls": 2}))
    echo.fail(*[ErrorKind.TRANSIENT] * 4)  # two requests, each failing both its tries
    first = await orch.orchestrate("Show the contents of a.yaml")
    assert first.model == "m-small2"
    # Two failed calls, one request: one outcome in the window, not enough to judge.
    assert state_of(orch).breakers.breaker("m-small").snapshot().calls == 1
    await orch.orchestrate("Show the contents of c.yaml")
    metrics = await orch.metrics("5m")
    assert metrics.circuit_breakers["m-small"] == "open"
    assert metrics.circuit_breakers["m-big"] == "closed"
    calls_before = len(echo.calls)
    second = await orch.orchestrate("Show the contents of b.yaml")
    assert second.status == "completed" and second.model == "m-small2"
    assert outcomes(second)[0] == ("m-small", "skipped", "unavailable")
    assert "circuit open (failure rate 2/2" in (second.attempts[0].error or "")
    assert len(echo.calls) == calls_before  # no call reached the open model


async def test_a_model_skipped_past_its_open_breaker_passes_its_tries_on(
    resilient: Any, echo: EchoProvider, echo2: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN))
    state_of(orch).breakers.breaker("m-small").force_open(60, "dead")
    echo2.fail(*[ErrorKind.TRANSIENT] * 3)  # m-small2 answers at its fourth try
    result = await orch.orchestrate("Show the contents of a.yaml")
    assert result.status == "completed" and result.model == "m-small2"
    assert outcomes(result) == [
        ("m-small", "skipped", "unavailable"),
        *[("m-small2", "error", "transient")] * 3,
        ("m-small2", "ok", None),
    ]


async def test_a_model_that_was_called_keeps_its_tries_to_itself(
    resilient: Any, echo: EchoProvider, echo2: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN))
    echo.fail(*[ErrorKind.TRANSIENT] * 2)
    echo2.fail(*[ErrorKind.TRANSIENT] * 2)
    result = await orch.orchestrate("Show the contents of a.yaml")
    assert result.status == "completed" and result.model == "m-big"
    assert [model for model, *_ in outcomes(result)] == ["m-small"] * 2 + ["m-small2"] * 2 + [
        "m-big"
    ]


async def test_a_request_that_recovers_on_retry_counts_once_as_a_success(
    resilient: Any, echo: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN, circuit_breaker={"minimum_calls": 1}))
    echo.fail(ErrorKind.TRANSIENT)
    result = await orch.orchestrate("Show the contents of a.yaml")
    assert outcomes(result) == [("m-small", "error", "transient"), ("m-small", "ok", None)]
    snap = state_of(orch).breakers.breaker("m-small").snapshot()
    assert (snap.state, snap.calls, snap.failure_rate) == ("closed", 1, 0.0)


class WindowWatch:
    """Notes ``m-small``'s breaker window once ``m-small2`` has answered, mid-request."""

    def __init__(self) -> None:
        self.orch: Any = None
        self.seen: list[Any] = []

    @hookimpl(wrapper=True)
    def call_model(self, model_call: Any) -> Any:
        inner = yield
        if inner is None or model_call.candidate.model != "m-small2":
            return inner

        async def watched() -> Any:
            completion = await inner
            self.seen.append(state_of(self.orch).breakers.breaker("m-small").snapshot())
            return completion

        return watched()


async def test_a_model_the_chain_left_is_counted_once_before_the_request_ends(
    resilient: Any, echo: EchoProvider
) -> None:
    watch = WindowWatch()
    orch = watch.orch = await resilient(
        make_config(CHAIN, circuit_breaker={"minimum_calls": 1}), watch
    )
    echo.fail(ErrorKind.TRANSIENT, ErrorKind.TRANSIENT)
    result = await orch.orchestrate("Show the contents of a.yaml")
    assert result.model == "m-small2"
    [mid] = watch.seen  # m-small's failure was entered when the chain moved on
    assert (mid.calls, mid.failure_rate) == (1, 1.0)
    after = state_of(orch).breakers.breaker("m-small").snapshot()
    assert after.calls == 1  # two failed tries, one request: one entry, not re-entered
    assert state_of(orch).breakers.breaker("m-small2").snapshot().calls == 1


async def test_a_dead_model_opens_after_its_consecutive_failures_whatever_the_minimum(
    resilient: Any, echo: EchoProvider
) -> None:
    config = make_config(CHAIN, circuit_breaker={"consecutive_failures": 5})
    orch = await resilient(config)
    echo.fail(*[ErrorKind.TRANSIENT] * 100)
    for i in range(10):
        result = await orch.orchestrate(f"Show the contents of {i}.yaml")
        assert result.status == "completed" and result.model == "m-small2"
    # One step of the run per request, not per try: four requests of two failed tries
    # each, then the fifth request's first failure opens it.
    assert sum(1 for c in echo.calls if c.model.name == "m-small") == 4 * 2 + 1
    snap = state_of(orch).breakers.breaker("m-small").snapshot()
    assert snap.state == "open" and snap.reason == "5 failures in a row"
    assert snap.calls < 50  # far below the minimum: the run of failures opened it


async def test_a_rate_limit_without_retry_after_is_not_a_failure_rate(
    resilient: Any, echo: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN, circuit_breaker={"minimum_calls": 2}))
    echo.fail(*[ErrorKind.RATE_LIMITED] * 4)
    for i in range(4):
        result = await orch.orchestrate(f"Show the contents of {i}.yaml")
        assert result.model == "m-small2"
    snap = state_of(orch).breakers.breaker("m-small").snapshot()
    assert (snap.state, snap.calls) == ("closed", 0)


async def test_rate_limit_with_retry_after_cools_the_model_down(
    resilient: Any, echo: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN))
    echo.fail(ProviderError(ErrorKind.RATE_LIMITED, "slow down", retry_after=30))
    result = await orch.orchestrate("Show the contents of config.yaml")
    # Retry-After 30s is above retry.max_retry_after (1s): fall back at once.
    assert outcomes(result) == [("m-small", "error", "rate_limited"), ("m-small2", "ok", None)]
    snap = state_of(orch).breakers.breaker("m-small").snapshot()
    assert snap.state == "open" and "Retry-After 30s" in snap.reason
    again = await orch.orchestrate("Show the contents of other.yaml")
    assert outcomes(again)[0][:2] == ("m-small", "skipped")


async def test_a_short_retry_after_is_waited_for_and_the_retry_is_the_probe(
    resilient: Any, echo: EchoProvider
) -> None:
    config = make_config(CHAIN, retry={"max_retry_after": 1})
    orch = await resilient(config)
    echo.fail(ProviderError(ErrorKind.RATE_LIMITED, "slow down", retry_after=0.05))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert outcomes(result) == [("m-small", "error", "rate_limited"), ("m-small", "ok", None)]
    assert state_of(orch).breakers.breaker("m-small").state == "closed"


async def test_quota_exhausted_opens_for_long_and_health_says_why(
    resilient: Any, echo: EchoProvider
) -> None:
    orch = await resilient(make_config(CHAIN, circuit_breaker={"long_open_duration": 600}))
    echo.fail(ErrorKind.QUOTA_EXHAUSTED)
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.model == "m-small2"
    report = await state_of(orch).health()
    row = report["models"]["m-small"]
    assert row["state"] == "open" and 590 < row["open_for_s"] <= 600
    assert "quota exhausted" in row["reason"]


async def test_a_refused_key_marks_every_model_of_the_provider_open(
    resilient: Any, echo: EchoProvider
) -> None:
    orch = await resilient(make_config(["m-small", "m-big", "m-small2"]))
    echo.fail(ErrorKind.AUTH)
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed" and result.model == "m-small2"
    # m-big shares the provider whose key was refused: skipped without a call.
    assert outcomes(result) == [
        ("m-small", "error", "auth"),
        ("m-big", "skipped", "unavailable"),
        ("m-small2", "ok", None),
    ]
    report = await state_of(orch).health()
    for model in ("m-small", "m-big"):
        assert report["models"][model]["state"] == "open"
        assert "provider echo misconfigured" in report["models"][model]["reason"]
    assert report["models"]["m-small2"]["state"] == "closed"


async def test_half_open_lets_exactly_the_probes_through_under_concurrency(
    resilient: Any, echo: EchoProvider, echo2: EchoProvider
) -> None:
    breaker = {"minimum_calls": 1, "open_duration": 0.3, "half_open_probes": 2}
    orch = await resilient(make_config(["m-small", "m-small2"], circuit_breaker=breaker))
    echo.fail(ErrorKind.TRANSIENT, ErrorKind.TRANSIENT)
    first = await orch.orchestrate("Show the contents of config.yaml")
    # Both tries failed: the request's one outcome on m-small opened the breaker.
    assert outcomes(first) == [
        ("m-small", "error", "transient"),
        ("m-small", "error", "transient"),
        ("m-small2", "ok", None),
    ]
    assert state_of(orch).breakers.breaker("m-small").state == "open"
    await anyio.sleep(0.35)
    echo.delay = 1.0  # probes stay in flight while the others arrive (they decide in turns)
    echo.calls.clear()
    results: list[Any] = []

    async def one(i: int) -> None:
        results.append(await orch.orchestrate(f"Show the contents of file{i}.yaml"))

    async with anyio.create_task_group() as group:
        for i in range(25):
            group.start_soon(one, i)
    assert len(echo.calls) == 2  # the two probes, nothing else
    assert sum(r.model == "m-small" for r in results) == 2
    assert sum(r.model == "m-small2" for r in results) == 23
    assert all(r.status == "completed" for r in results)
    assert state_of(orch).breakers.breaker("m-small").state == "closed"


async def test_max_cost_caps_max_tokens_from_what_is_left(
    resilient: Any, echo: EchoProvider
) -> None:
    orch = await resilient(make_config(["m-small"]))
    max_cost = 0.002
    result = await orch.orchestrate(
        "Show the contents of config.yaml", options={"max_cost": max_cost}
    )
    assert result.status == "completed"
    (call,) = echo.calls
    in_tokens = math.ceil(estimate_call_input_tokens(call) * INPUT_MARGIN)
    expected = int((max_cost - in_tokens * 1.0 / 1e6) / (4.0 / 1e6))
    assert call.max_tokens == expected


async def test_a_period_budget_skips_what_cannot_fit_then_refuses_when_spent(
    resilient: Any, echo: EchoProvider, echo2: EchoProvider, providers: Providers
) -> None:
    config = make_config(["m-big", "m-small2"], budget={"period": "1d", "limit_usd": 1.0})
    orch = await resilient(config)
    echo.cost_usd = 0.99993  # the first answer spends nearly all of the budget
    first = await orch.orchestrate("Show the contents of a.yaml")
    assert first.model == "m-big" and first.cost_usd == pytest.approx(0.99993)
    echo2.cost_usd = 0.0001  # as the provider reports it
    second = await orch.orchestrate("Show the contents of b.yaml")
    # $0.00007 left: m-big ($2/$8 per Mtok) cannot fit its input; m-small2 ($1/$4) can.
    assert outcomes(second)[0] == ("m-big", "skipped", "unavailable")
    assert "budget: $0.000070 left, but m-big needs at least" in (second.attempts[0].error or "")
    assert second.model == "m-small2"
    third = await orch.orchestrate("Show the contents of c.yaml")
    assert third.status == "failed" and third.attempts == []
    assert "budget exceeded: $1.000030 spent of the $1.000000 limit for the current 1d" in (
        third.error or ""
    )
    assert providers.records[-1].status == "failed"


class Toolbox:
    """A service with one tool, routed to every request."""

    name = "toolbox"
    capabilities: list[str] = []  # noqa: RUF012
    spec = ToolSpec(name="lookup", description="Look it up.", input_schema={}, service="toolbox")

    def known_tools(self) -> list[ToolSpec]:
        return [self.spec]

    async def call_tool(self, name: str, arguments: dict[str, Any], *, timeout: float) -> str:
        return "42"

    @hookimpl
    def register_services(self, register: Any) -> None:
        register(self)

    @hookimpl
    def route_services(self, request: Any, intent: IntentResult, services: Any) -> ServiceRoute:
        tokens = estimate_tool_tokens(self.spec)
        return ServiceRoute(
            services=[self.name], tools=[self.spec], tool_tokens_sent=tokens,
            tool_tokens_available=tokens,
        )  # fmt: skip


async def test_a_failed_request_records_the_money_it_really_spent(
    resilient: Any, echo: EchoProvider, providers: Providers
) -> None:
    orch = await resilient(make_config(["m-small"]), Toolbox())
    echo.cost_usd = 0.001
    echo.fail(None, ErrorKind.BAD_REQUEST)  # the tool round is paid, then the model fails
    result = await orch.orchestrate("[call:lookup] find the answer")
    assert result.status == "failed"
    assert result.cost_usd == pytest.approx(0.001)
    assert providers.records[-1].cost_usd == pytest.approx(0.001)


async def test_a_cache_hit_costs_nothing_and_is_counted(
    resilient: Any, echo: EchoProvider, providers: Providers
) -> None:
    config = make_config(["m-small"], cache={"enabled": True, "ttl": 60})
    orch = await resilient(config, dynamic_orchestrator_memory)
    first = await orch.orchestrate("Show the contents of config.yaml", {"env": "prod"})
    second = await orch.orchestrate("  show the CONTENTS of   config.yaml ", {"env": "prod"})
    assert len(echo.calls) == 1
    assert not first.cached and first.cost_usd > 0
    assert second.cached and second.output == first.output
    assert second.cost_usd == 0.0 and second.attempts == []
    assert (second.usage.input_tokens, second.usage.output_tokens) == (0, 0)
    assert "cache hit" in second.savings_basis
    assert [r.cached for r in providers.records] == [False, True]
    assert (await orch.metrics("5m")).cache_hit_rate == 0.5
    other = await orch.orchestrate("Show the contents of config.yaml", {"env": "dev"})
    assert not other.cached and len(echo.calls) == 2  # another context: another key


async def test_failures_are_never_cached(resilient: Any, echo: EchoProvider) -> None:
    orch = await resilient(make_config(["m-small"], cache={"enabled": True, "ttl": 60}))
    echo.fail(ErrorKind.BAD_REQUEST)
    assert (await orch.orchestrate("Show the contents of config.yaml")).status == "failed"
    again = await orch.orchestrate("Show the contents of config.yaml")
    assert again.status == "completed" and not again.cached


async def test_the_cache_expires_after_its_ttl(resilient: Any, echo: EchoProvider) -> None:
    orch = await resilient(make_config(["m-small"], cache={"enabled": True, "ttl": 0.2}))
    await orch.orchestrate("Show the contents of config.yaml")
    await anyio.sleep(0.25)
    again = await orch.orchestrate("Show the contents of config.yaml")
    assert not again.cached and len(echo.calls) == 2


async def test_per_model_overrides_apply_to_that_model_only(
    resilient: Any, echo: EchoProvider
) -> None:
    breaker = {"minimum_calls": 10, "models": {"m-small": {"minimum_calls": 1}}}
    orch = await resilient(make_config(CHAIN, circuit_breaker=breaker))
    registry = state_of(orch).breakers
    assert registry.breaker("m-small").settings.minimum_calls == 1
    assert registry.breaker("m-big").settings.minimum_calls == 10
    echo.fail(ErrorKind.TRANSIENT, ErrorKind.TRANSIENT)
    await orch.orchestrate("Show the contents of config.yaml")
    assert registry.breaker("m-small").state == "open"


def test_an_answer_without_text_is_never_cached() -> None:
    answer = Completion(text="4", model="m", provider="p", input_tokens=1, output_tokens=1)
    assert _cacheable(answer, sent_tools=False)
    # the gateway's stand-in for an opened stream (a turn without tools): never read again
    stand_in = answer.model_copy(update={"text": None, "input_tokens": 0, "output_tokens": 0})
    assert not _cacheable(stand_in, sent_tools=False)


async def test_max_tokens_from_max_cost_never_exceeds_the_models_output_limit(
    resilient: Any, echo: EchoProvider
) -> None:
    from dynamic_orchestrator_breaker.budget import DEFAULT_OUTPUT_LIMIT

    orch = await resilient(make_config(["m-small"]))
    result = await orch.orchestrate("Show the contents of config.yaml", options={"max_cost": 1})
    assert result.status == "completed"
    (call,) = echo.calls
    assert call.max_tokens == DEFAULT_OUTPUT_LIMIT  # $1 would pay for ~250,000 tokens


@pytest.mark.parametrize("max_cost", [math.inf, math.nan, 1e300, -1.0])
async def test_a_non_finite_or_absurd_max_cost_is_refused_at_the_door(
    resilient: Any, echo: EchoProvider, max_cost: float
) -> None:
    from dynamic_orchestrator.errors import RequestError

    orch = await resilient(make_config(["m-small"]))
    with pytest.raises(RequestError, match=r"max_cost"):
        await orch.orchestrate("Show the contents of config.yaml", options={"max_cost": max_cost})
    assert echo.calls == []


async def test_two_orchestrators_in_one_process_keep_their_own_breakers_and_settings(
    resilient: Any, echo: EchoProvider
) -> None:
    tripping = await resilient(make_config(CHAIN, circuit_breaker={"minimum_calls": 1}))
    patient = await resilient(make_config(CHAIN, circuit_breaker={"minimum_calls": 50}))
    assert tripping.pm is patient.pm  # one plugin manager, one plugin module
    assert state_of(tripping) is not state_of(patient)
    assert state_of(tripping).settings.circuit_breaker.minimum_calls == 1
    assert state_of(patient).settings.circuit_breaker.minimum_calls == 50
    echo.fail(ErrorKind.TRANSIENT, ErrorKind.TRANSIENT)
    await tripping.orchestrate("Show the contents of config.yaml")
    assert (await tripping.metrics("5m")).circuit_breakers["m-small"] == "open"
    assert (await patient.metrics("5m")).circuit_breakers["m-small"] == "closed"


async def test_a_time_based_window_from_the_settings_per_model(
    resilient: Any, echo: EchoProvider
) -> None:
    config = make_config(
        CHAIN,
        circuit_breaker={
            "window_type": "time",
            "window_duration": 30,
            "minimum_calls": 2,
            "consecutive_failures": 0,
            "models": {"m-small2": {"window_type": "count", "window_size": 5}},
        },
    )
    orch = await resilient(config)
    breakers = state_of(orch).breakers
    small, small2 = breakers.breaker("m-small").settings, breakers.breaker("m-small2").settings
    assert (small.window_type, small.window_duration) == ("time", 30)
    assert (small2.window_type, small2.window_size) == ("count", 5)
    echo.fail(*[ErrorKind.TRANSIENT] * 4)  # two requests fail on m-small, within 30 s
    for i in range(2):
        assert (await orch.orchestrate(f"Show the contents of {i}.yaml")).model == "m-small2"
    snap = breakers.breaker("m-small").snapshot()
    assert snap.state == "open" and snap.reason.startswith("failure rate 2/2")


def test_the_window_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="window_type"):
        make_config(CHAIN, circuit_breaker={"window_type": "sliding"})
    with pytest.raises(ConfigError, match="window_duration"):
        make_config(CHAIN, circuit_breaker={"window_duration": 0})
