"""The pipeline end to end on the default plugins and deterministic in-process providers."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.catalog import lookup_prices
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.errors import ErrorKind, OrchestratorError, ProviderError, RequestError
from dynamic_orchestrator.models import RequestRecord
from dynamic_orchestrator_testing.fakes import EchoProvider

FAST_RETRY = {"retry": {"attempts": 3, "initial_wait": 0, "max_wait": 0}}


def plugin(*providers: EchoProvider, records: list[RequestRecord] | None = None) -> object:
    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            for provider in providers:
                register(provider)

        @hookimpl
        def record(self, record: RequestRecord) -> None:
            if records is not None:
                records.append(record)

    return Plugin()


async def test_no_keys_means_a_delegated_plan_and_no_claimed_saving(make_orchestrator: Any) -> None:
    records: list[RequestRecord] = []
    orch = await make_orchestrator(plugins=(plugin(records=records),))
    result = await orch.orchestrate(
        "Create a REST API for user management",
        context={"framework": "FastAPI", "unused": ""},
    )
    assert result.status == "delegated"
    assert result.plan is not None and result.plan.model == result.model
    assert "Create a REST API for user management" in result.plan.prompt
    assert "framework: FastAPI" in result.plan.prompt and "unused" not in result.plan.prompt
    assert result.plan.system and result.plan.tier == result.analysis.tier
    assert (result.cost_usd, result.saved_usd) == (0.0, 0.0)
    assert "no saving claimed" in result.savings_basis
    assert result.usage.estimated is True
    assert records[0].status == "delegated" and records[0].saved_usd == 0.0


async def test_completed_request_measures_cost_and_names_its_baseline(
    make_orchestrator: Any,
) -> None:
    gemini = EchoProvider("gemini", prices_provider="google")
    records: list[RequestRecord] = []
    orch = await make_orchestrator(plugins=(plugin(gemini, records=records),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed"
    assert (result.model, result.provider) == ("gemini-2.5-flash-lite", "gemini")
    assert result.output == "echo: Show the contents of config.yaml"
    assert result.usage.estimated is False
    expected = lookup_prices("gemini-2.5-flash-lite").estimate_cost(
        result.usage.input_tokens, result.usage.output_tokens
    )
    assert result.cost_usd == pytest.approx(expected, rel=1e-6)
    assert result.baseline_cost_usd > result.cost_usd
    assert result.saved_usd == pytest.approx(result.baseline_cost_usd - result.cost_usd, abs=1e-8)
    assert "measured from provider-reported usage" in result.savings_basis
    assert "claude-sonnet-4-6" in result.savings_basis
    assert [a.outcome for a in result.attempts] == ["ok"]
    (record,) = records
    assert record.cost_usd == result.cost_usd and record.saved_usd == result.saved_usd
    assert record.baseline_model == "claude-sonnet-4-6"


async def test_the_record_carries_each_stage_and_attempt_in_time_order(
    make_orchestrator: Any,
) -> None:
    gemini = EchoProvider("gemini", prices_provider="google").fail(*[ErrorKind.TRANSIENT] * 3)
    openai = EchoProvider("openai")
    records: list[RequestRecord] = []
    orch = await make_orchestrator(
        parse_config(FAST_RETRY), plugins=(plugin(gemini, openai, records=records),)
    )
    result = await orch.orchestrate("Show the contents of config.yaml")
    (record,) = records
    assert record.tier == result.analysis.tier and record.savings_basis == result.savings_basis
    assert record.intent_confidence == result.analysis.intent_confidence
    assert [s[0] for s in record.stages] == [
        "classify",
        "score_complexity",
        "select_model",
        "generate_prompt",
        "execute",
    ]
    starts = [s[1] for s in record.stages]
    assert starts == sorted(starts) and all(s[2] >= 0 for s in record.stages)
    execute = record.stages[-1]
    assert execute[1] + execute[2] <= record.duration_ms
    assert [a.model for a in record.attempt_log] == [a.model for a in result.attempts]
    started = [a.started_at for a in record.attempt_log]
    assert all(s is not None for s in started) and started == sorted(started)
    assert "started_at" not in result.model_dump(mode="json")["attempts"][0]


async def test_execute_false_returns_the_plan_without_calling(make_orchestrator: Any) -> None:
    gemini = EchoProvider("gemini", prices_provider="google")
    orch = await make_orchestrator(plugins=(plugin(gemini),))
    result = await orch.orchestrate("Show the contents of config.yaml", options={"execute": False})
    assert result.status == "delegated" and gemini.calls == []
    assert result.plan.model == "gemini-2.5-flash-lite"


async def test_transient_errors_retry_then_fall_back(make_orchestrator: Any) -> None:
    gemini = EchoProvider("gemini", prices_provider="google").fail(*[ErrorKind.TRANSIENT] * 3)
    openai = EchoProvider("openai")
    orch = await make_orchestrator(parse_config(FAST_RETRY), plugins=(plugin(gemini, openai),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed" and result.model == "gpt-5-nano"
    assert [(a.model, a.outcome) for a in result.attempts] == [
        ("gemini-2.5-flash-lite", "error"),
        ("gemini-2.5-flash-lite", "error"),
        ("gemini-2.5-flash-lite", "error"),
        ("gpt-5-nano", "ok"),
    ]
    assert result.attempts[0].error_kind == "transient"


async def test_a_retry_that_succeeds_stays_on_the_same_model(make_orchestrator: Any) -> None:
    gemini = EchoProvider("gemini", prices_provider="google").fail(ErrorKind.TRANSIENT)
    orch = await make_orchestrator(parse_config(FAST_RETRY), plugins=(plugin(gemini),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert [a.outcome for a in result.attempts] == ["error", "ok"]
    assert result.model == "gemini-2.5-flash-lite"


async def test_bad_request_does_not_fall_back(make_orchestrator: Any) -> None:
    gemini = EchoProvider("gemini", prices_provider="google").fail(ErrorKind.BAD_REQUEST)
    openai = EchoProvider("openai")
    records: list[RequestRecord] = []
    orch = await make_orchestrator(plugins=(plugin(gemini, openai, records=records),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "failed"
    assert len(result.attempts) == 1 and openai.calls == []
    assert "bad_request" in result.error
    assert records[0].status == "failed" and records[0].error_kind == "bad_request"


async def test_long_retry_after_falls_back_at_once(make_orchestrator: Any) -> None:
    limited = ProviderError(ErrorKind.RATE_LIMITED, "slow down", retry_after=3600)
    gemini = EchoProvider("gemini", prices_provider="google").fail(limited)
    openai = EchoProvider("openai")
    orch = await make_orchestrator(parse_config(FAST_RETRY), plugins=(plugin(gemini, openai),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert [a.outcome for a in result.attempts] == ["error", "ok"]
    assert result.model == "gpt-5-nano"


async def test_a_rate_limit_without_retry_after_falls_back_unless_on_the_last_model(
    make_orchestrator: Any,
) -> None:
    def limited() -> ProviderError:
        return ProviderError(ErrorKind.RATE_LIMITED, "slow down")

    gemini = EchoProvider("gemini", prices_provider="google").fail(limited())
    openai = EchoProvider("openai").fail(limited())
    anthropic = EchoProvider("anthropic")
    orch = await make_orchestrator(
        parse_config(FAST_RETRY), plugins=(plugin(gemini, openai, anthropic),)
    )
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert [(a.model, a.outcome) for a in result.attempts] == [
        ("gemini-2.5-flash-lite", "error"),
        ("gpt-5-nano", "error"),
        ("claude-haiku-4-5", "ok"),
    ]  # fell back at once while a model followed
    last = EchoProvider("gemini", prices_provider="google").fail(limited())
    config = parse_config(
        {**FAST_RETRY, "execution": {"simple": {"preferred": "gemini-2.5-flash-lite"}}}
    )
    orch = await make_orchestrator(config, plugins=(plugin(last),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert [a.outcome for a in result.attempts] == ["error", "ok"]  # the last one backs off
    assert result.status == "completed"


async def test_short_retry_after_is_honoured_on_the_same_model(make_orchestrator: Any) -> None:
    limited = ProviderError(ErrorKind.RATE_LIMITED, "slow down", retry_after=0.01)
    gemini = EchoProvider("gemini", prices_provider="google").fail(limited)
    orch = await make_orchestrator(parse_config(FAST_RETRY), plugins=(plugin(gemini),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert [a.outcome for a in result.attempts] == ["error", "ok"]
    assert result.model == "gemini-2.5-flash-lite"


async def test_context_overflow_only_goes_to_larger_windows(make_orchestrator: Any) -> None:
    config = parse_config(
        {
            "execution": {"simple": {"preferred": "big", "fallback": ["small", "bigger"]}},
            "models": {
                "big": {"provider": "echo", "context_window": 100_000},
                "small": {"provider": "echo", "context_window": 8_000},
                "bigger": {"provider": "echo", "context_window": 1_000_000},
            },
        }
    )
    echo = EchoProvider("echo").fail(ErrorKind.CONTEXT_OVERFLOW)
    orch = await make_orchestrator(config, plugins=(plugin(echo),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert [(a.model, a.outcome) for a in result.attempts] == [("big", "error"), ("bigger", "ok")]


async def test_timeouts_count_as_transient(make_orchestrator: Any) -> None:
    config = parse_config(
        {**FAST_RETRY, "retry": {"attempts": 1}, "providers": {"gemini": {"timeout": 0.05}}}
    )
    slow = EchoProvider("gemini", prices_provider="google", delay=1.0)
    openai = EchoProvider("openai")
    orch = await make_orchestrator(config, plugins=(plugin(slow, openai),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.attempts[0].error_kind == "transient"
    assert "timed out after 0.05s" in result.attempts[0].error
    assert result.model == "gpt-5-nano"


class Gauge(EchoProvider):
    """An echo provider that notes the most calls it had in flight at once."""

    def __init__(self, name: str, delay: float) -> None:
        super().__init__(name, delay=delay, prices_provider="google")
        self.in_flight = self.most = 0

    async def complete(self, call: Any) -> Any:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            return await super().complete(call)
        finally:
            self.in_flight -= 1


async def test_a_burst_waits_for_the_providers_slots_and_the_wait_is_not_its_timeout(
    make_orchestrator: Any,
) -> None:
    # Twelve requests at once, two slots, each call 0.1 s with a 0.3 s timeout: the last
    # pair waits 0.5 s for a slot, which would time it out if the wait were counted.
    config = parse_config(
        {**FAST_RETRY, "providers": {"gemini": {"timeout": 0.3, "max_concurrent": 2}}}
    )
    gemini = Gauge("gemini", delay=0.1)
    orch = await make_orchestrator(config, plugins=(plugin(gemini),))
    results: list[Any] = []

    async def one(i: int) -> None:
        results.append(await orch.orchestrate(f"Show the contents of {i}.yaml"))

    async with anyio.create_task_group() as group:
        for i in range(12):
            group.start_soon(one, i)
    assert gemini.most == 2
    assert [r.status for r in results] == ["completed"] * 12
    assert all(a.outcome == "ok" for r in results for a in r.attempts)


async def test_a_burst_takes_turns_deciding_so_the_event_loop_keeps_turning(
    make_orchestrator: Any,
) -> None:
    ticks = 0
    seen: list[int] = []

    class Watch:
        @hookimpl(tryfirst=True)
        def classify(self, request: Any) -> None:
            seen.append(ticks)  # how many passes of the loop the ticker made so far

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    orch = await make_orchestrator(
        parse_config({"use_claude_code": False}), plugins=(plugin(EchoProvider("gemini")), Watch())
    )
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        async with anyio.create_task_group() as burst:
            for i in range(20):
                burst.start_soon(orch.orchestrate, f"Show the contents of {i}.yaml")
        group.cancel_scope.cancel()
    assert len(seen) == 20
    # Each decision had a pass of the loop of its own: other tasks ran between any two.
    assert all(later > earlier for earlier, later in pairwise(seen))


async def test_every_model_failing_lists_every_attempt(make_orchestrator: Any) -> None:
    config = parse_config({**FAST_RETRY, "retry": {"attempts": 1}})
    providers = [
        EchoProvider(n, prices_provider=p).fail(ErrorKind.AUTH)
        for n, p in (("gemini", "google"), ("openai", None), ("anthropic", None))
    ]
    orch = await make_orchestrator(config, plugins=(plugin(*providers),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "failed"
    assert [a.model for a in result.attempts] == Config().execution["simple"].models
    assert all(a.error_kind == "auth" for a in result.attempts)
    # Failed here, plan attached: the client can still run it with a model of its own.
    chain = Config().execution["simple"].models
    assert result.plan is not None
    assert (result.plan.model, result.plan.tier) == (chain[0], "simple")
    assert "config.yaml" in result.plan.prompt and result.plan.system
    assert result.output is None and result.provider is None


async def test_max_cost_that_nothing_fits_fails_clearly(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(
        plugins=(plugin(EchoProvider("gemini", prices_provider="google")),)
    )
    result = await orch.orchestrate("Show the readme", options={"max_cost": 1e-9})
    assert result.status == "failed"
    assert result.error.startswith("no usable model fits max_cost")
    assert result.analysis is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("",), "request: must not be empty"),
        (("   \n",), "request: must not be empty"),
        ((42,), "request: expected a string, got int"),
        (("hi", ["x"]), "context: expected an object, got list"),
        (
            ("hi", {}, {"max_cost": -1}),
            "options.max_cost: Input should be greater than or equal to 0",
        ),
        (("hi", {}, {"maxcost": 1}), "options.maxcost: unknown option"),
        (("hi", {}, {"max_tokens": "lots"}), "options.max_tokens: Input should be a valid integer"),
        (("hi", {}, {"preferred_models": "gpt-4o"}), "options.preferred_models"),
        (("hi", {}, "fast"), "options: expected an object, got str"),
    ],
)
async def test_bad_input_is_refused_with_the_field_named(
    make_orchestrator: Any, args: tuple[Any, ...], message: str
) -> None:
    orch = await make_orchestrator()
    with pytest.raises(RequestError) as info:
        await orch.orchestrate(*args)
    assert message in str(info.value)


async def test_oversized_request_is_refused(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(parse_config({"server": {"max_request_chars": 100}}))
    with pytest.raises(RequestError, match="request: 101 characters, more than the limit of 100"):
        await orch.analyze("x" * 101)


async def test_using_an_uninitialized_orchestrator_is_a_clear_error() -> None:
    orch = Orchestrator(Config())
    with pytest.raises(OrchestratorError, match="not initialized"):
        await orch.analyze("show the readme")


async def test_context_api_and_seed_initialize_form() -> None:
    async with Orchestrator() as orch:
        analysis = await orch.analyze("Refactor the authentication module", context={"x": 1})
        assert analysis.intent == "write"
    seed_form = Orchestrator(Config(), mcp_session=None)
    await seed_form.initialize()
    assert (await seed_form.analyze("Find all usages of parse()")).intent == "search"
    await seed_form.close()


async def test_analysis_result_fields_match_the_contract(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(plugin(EchoProvider("openai")),))
    result = await orch.analyze("Refactor the authentication module")
    data = result.model_dump(mode="json")
    contract = {
        "intent",
        "intent_confidence",
        "complexity",
        "complexity_score",
        "recommended_model",
        "fallback_models",
        "estimated_input_tokens",
        "estimated_output_tokens",
        "estimated_cost_usd",
        "baseline_model",
        "baseline_cost_usd",
        "services",
        "reasons",
    }
    assert contract <= set(data)
    expected = next(m for m in Config().execution[data["tier"]].models if orch.catalog.usable(m))
    assert data["recommended_model"] == expected
    assert data["estimated_cost_usd"] > 0 and data["baseline_cost_usd"] > 0


class _SamplingClient:
    """An MCP client connection that can sample and answers every sample with "sampled"."""

    can_sample = True

    def __init__(self) -> None:
        self.asked: list[Any] = []

    async def sample(self, params: Any) -> Any:
        from mcp_types import CreateMessageResult, TextContent

        self.asked.append(params)
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="sampled"), model="haiku"
        )


async def test_a_request_planned_ahead_is_analysed_once_under_one_request_id(
    make_orchestrator: Any,
) -> None:
    classified: list[str] = []
    records: list[RequestRecord] = []

    class Counting:
        @hookimpl(wrapper=True)
        def classify(self, request: Any) -> Any:
            classified.append(request.request_id)
            return (yield)

    orch = await make_orchestrator(plugins=(Counting(), plugin(records=records)))
    client = _SamplingClient()
    ahead = orch.make_request("Show the contents of config.yaml")
    call = orch.plan_client_call(ahead, client=client)
    assert call is not None and call.client is client
    assert orch.plan_client_call(ahead, client=client) == call  # the front door asks again
    result = await orch.run(orch.make_request("Show the contents of config.yaml"), client=client)
    assert result.status == "completed" and result.output == "sampled"
    assert classified == [ahead.request_id]
    assert result.request_id == ahead.request_id == records[-1].request_id
    # the decision is used once: the same request again is a new request
    again = await orch.run(orch.make_request("Show the contents of config.yaml"), client=client)
    assert again.request_id != ahead.request_id and len(classified) == 2
