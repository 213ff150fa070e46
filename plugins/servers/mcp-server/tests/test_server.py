"""The MCP server through the SDK's real client, in memory, on both protocol versions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import mcp_types as t
import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import ErrorKind
from dynamic_orchestrator.models import MetricsSummary, RequestRecord
from dynamic_orchestrator.orchestrator import Orchestrator
from dynamic_orchestrator_mcp_server.server import INSTRUCTIONS, build_server
from dynamic_orchestrator_testing.fakes import EchoProvider
from mcp import Client, MCPError

from .server_helpers import Sampler, text_of

# "legacy" is the 2025-11-25 handshake; "2026-07-28" is the stateless protocol.
MODES = ["legacy", "2026-07-28"]
REQUEST = "Where is the JWT secret loaded from?"


class Sink:
    """A metrics sink that keeps every record."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    @hookimpl
    def record(self, record: RequestRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def orch(make_orchestrator: Callable[..., Any]) -> Orchestrator:
    """The default plugins (the client-model provider included), no provider key."""
    orchestrator: Orchestrator = await make_orchestrator()
    return orchestrator


# --- listing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", MODES)
async def test_only_tools_are_advertised_and_an_unknown_prompt_is_a_bad_argument(
    orch: Orchestrator, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Client(build_server(orch.config, orchestrator=orch), mode=protocol) as client:
        if protocol == "legacy":  # capabilities come with the 2025-11-25 handshake
            capabilities = client.server_capabilities
            assert capabilities is not None and capabilities.tools is not None
            assert capabilities.prompts is None and capabilities.resources is None
        assert (await client.list_prompts()).prompts == []  # still answered, empty
        with pytest.raises(MCPError) as info:
            await client.get_prompt("nope")
    assert info.value.error.code == t.INVALID_PARAMS
    assert "Unknown prompt: 'nope'" in info.value.error.message
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "no traceback logged"


def test_argument_errors_read_as_one_line() -> None:
    from dynamic_orchestrator_mcp_server.server import clear_argument_errors

    raw = (
        "Error executing tool get_metrics: 1 validation error for get_metricsArguments\n"
        "period\n  Input should be '1m', '5m', '1h' or '1d' [type=literal_error, "
        "input_value='7m', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.14/v/literal_error"
    )
    assert clear_argument_errors(raw) == (
        "get_metrics: invalid arguments: period: Input should be '1m', '5m', '1h' or '1d' "
        "(got '7m')"
    )
    assert clear_argument_errors("request: must not be empty") == "request: must not be empty"


@pytest.mark.parametrize("protocol", MODES)
async def test_tools_have_schemas_annotations_and_titles(orch: Orchestrator, protocol: str) -> None:
    async with Client(build_server(orch.config, orchestrator=orch), mode=protocol) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"analyze_request", "orchestrate", "get_metrics"}
    for tool in tools.values():
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations is not None and tool.annotations.title == tool.title
        assert tool.description and "\n" not in tool.description
    orchestrate = tools["orchestrate"]
    schema = orchestrate.input_schema
    assert schema["required"] == ["request"]
    assert schema["properties"]["request"]["maxLength"] == orch.config.server.max_request_chars
    assert schema["properties"]["context"]["type"] == "object"
    options = schema["$defs"]["Options"]["properties"]
    assert set(options) == {"preferred_models", "max_cost", "model", "execute", "max_tokens"}
    assert set(orchestrate.output_schema["properties"]) >= {  # type: ignore[index]
        "status",
        "output",
        "plan",
        "analysis",
        "model",
        "provider",
        "attempts",
        "usage",
        "cost_usd",
        "baseline_cost_usd",
        "saved_usd",
        "duration_ms",
        "cached",
        "request_id",
    }
    assert set(tools["analyze_request"].input_schema["properties"]) == {"request", "context"}
    period = tools["get_metrics"].input_schema["properties"]["period"]
    assert period["enum"] == ["1m", "5m", "1h", "1d"] and period["default"] == "5m"
    hints = {name: tool.annotations for name, tool in tools.items()}
    assert hints["analyze_request"].read_only_hint is True  # type: ignore[union-attr]
    assert hints["analyze_request"].open_world_hint is False  # type: ignore[union-attr]
    assert hints["get_metrics"].read_only_hint is True  # type: ignore[union-attr]
    assert hints["orchestrate"].read_only_hint is False  # type: ignore[union-attr]
    assert hints["orchestrate"].open_world_hint is True  # type: ignore[union-attr]
    assert hints["orchestrate"].destructive_hint is False  # type: ignore[union-attr]


@pytest.mark.parametrize("protocol", ["legacy", "auto"])
async def test_instructions_say_what_to_do_with_a_delegated_plan(
    orch: Orchestrator, protocol: str
) -> None:
    async with Client(build_server(orch.config, orchestrator=orch), mode=protocol) as client:
        assert client.instructions == INSTRUCTIONS
    assert "delegated" in INSTRUCTIONS and "plan.system" in INSTRUCTIONS
    assert "plan.prompt" in INSTRUCTIONS and "not count it as a saving" in INSTRUCTIONS


# --- results -----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", MODES)
async def test_analyze_request_returns_the_orchestrators_result(
    orch: Orchestrator, protocol: str
) -> None:
    context = {"framework": "FastAPI"}
    expected = (await orch.analyze(REQUEST, context)).model_dump(mode="json")
    async with Client(build_server(orch.config, orchestrator=orch), mode=protocol) as client:
        result = await client.call_tool("analyze_request", {"request": REQUEST, "context": context})
    assert not result.is_error
    assert result.structured_content == expected
    assert json.loads(text_of(result)) == expected


@pytest.mark.parametrize("protocol", MODES)
async def test_without_sampling_or_keys_the_plan_is_delegated(
    make_orchestrator: Callable[..., Any], protocol: str
) -> None:
    sink = Sink()
    orch = await make_orchestrator(plugins=(sink,))
    async with Client(build_server(orch.config, orchestrator=orch), mode=protocol) as client:
        result = await client.call_tool("orchestrate", {"request": REQUEST})
    assert not result.is_error
    data = result.structured_content
    assert data is not None and json.loads(text_of(result)) == data
    assert data["status"] == "delegated"
    assert data["output"] is None
    plan = data["plan"]
    tier = data["analysis"]["tier"]
    assert plan["tier"] == tier and plan["model"] == orch.config.claude_code_models[tier][0]
    assert REQUEST in plan["prompt"] and plan["system"]
    assert plan["tools"] == []
    assert data["attempts"] == [], "a client that cannot sample steps aside: not an attempt"
    assert data["cost_usd"] == 0.0 and data["saved_usd"] == 0.0
    assert "no saving claimed" in data["savings_basis"]
    assert [r.status for r in sink.records] == ["delegated"]
    assert sink.records[0].saved_usd == 0.0 and sink.records[0].tokens_saved == 0


@pytest.mark.parametrize("protocol", MODES)
async def test_sampling_runs_on_the_clients_model_once(
    make_orchestrator: Callable[..., Any], protocol: str
) -> None:
    sink = Sink()
    orch = await make_orchestrator(plugins=(sink,))
    sampler = Sampler()
    server = build_server(orch.config, orchestrator=orch)
    async with Client(server, mode=protocol, sampling_callback=sampler) as client:
        result = await client.call_tool("orchestrate", {"request": REQUEST})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None
    assert data["status"] == "completed"
    assert data["output"] == "sampled answer"
    assert (data["provider"], data["model"]) == ("client", "client-llm")
    assert data["cost_usd"] is None, "the client pays; its cost is unknown here"
    assert data["saved_usd"] == 0.0 and "no saving claimed" in data["savings_basis"]
    assert data["usage"]["estimated"] is True
    assert [(a["provider"], a["outcome"]) for a in data["attempts"]] == [("client", "ok")]
    # One request to the client's model, one record: never executed or recorded twice.
    assert len(sampler.requests) == 1
    assert [r.status for r in sink.records] == ["completed"]
    assert sink.records[0].saved_usd == 0.0 and sink.records[0].cost_usd is None
    params = sampler.requests[0]
    tier = data["analysis"]["tier"]
    hints = [h.name for h in params.model_preferences.hints or []]  # type: ignore[union-attr]
    assert hints[0] == data["analysis"]["recommended_model"]
    assert set(hints) == set(orch.config.claude_code_models[tier])
    assert params.system_prompt and REQUEST in params.messages[0].content.text  # type: ignore[union-attr]


async def test_on_2026_the_first_round_asks_before_anything_runs(
    make_orchestrator: Callable[..., Any],
) -> None:
    sink = Sink()
    orch = await make_orchestrator(plugins=(sink,))
    server = build_server(orch.config, orchestrator=orch)
    async with Client(server, mode="2026-07-28", sampling_callback=Sampler()) as client:
        first = await client.session.call_tool(
            "orchestrate", {"request": REQUEST}, allow_input_required=True
        )
        assert isinstance(first, t.InputRequiredResult)
        [question] = first.input_requests.values()  # type: ignore[union-attr]
        assert question.method == "sampling/createMessage"
        assert sink.records == [], "nothing may run or be recorded before the answer"


async def test_a_refused_sample_falls_back_to_the_next_model(
    make_orchestrator: Callable[..., Any],
) -> None:
    echo = EchoProvider("gemini", prices_provider="google")
    sink = Sink()

    class Echo:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(echo)

    orch = await make_orchestrator(plugins=(Echo(), sink))
    sampler = Sampler(refuse=True)
    server = build_server(orch.config, orchestrator=orch)
    async with Client(server, mode="legacy", sampling_callback=sampler) as client:
        result = await client.call_tool("orchestrate", {"request": REQUEST})
    data = result.structured_content
    assert data is not None and data["status"] == "completed", text_of(result)
    attempts = [(a["provider"], a["outcome"], a["error"]) for a in data["attempts"]]
    assert attempts[0][:2] == ("client", "error")
    assert "declined or failed" in attempts[0][2] and "User rejected" in attempts[0][2]
    assert attempts[-1][:2] == ("gemini", "ok")
    assert len(sampler.requests) == 1, "a refusal is not asked again"
    assert data["output"].startswith("echo:")
    assert [r.status for r in sink.records] == ["completed"]


async def test_a_refused_sample_with_nothing_to_fall_back_to_fails_clearly(
    orch: Orchestrator,
) -> None:
    server = build_server(orch.config, orchestrator=orch)
    async with Client(server, mode="legacy", sampling_callback=Sampler(refuse=True)) as client:
        result = await client.call_tool("orchestrate", {"request": REQUEST})
        assert result.is_error
        assert text_of(result).startswith("orchestrate failed: auth from client/")
        assert result.structured_content["status"] == "failed"  # type: ignore[index]
        assert result.structured_content["attempts"][0]["error_kind"] == ErrorKind.AUTH  # type: ignore[index]
        again = await client.call_tool("analyze_request", {"request": REQUEST})
        assert not again.is_error


async def test_on_2026_a_refusal_is_the_clients_abort_and_nothing_runs(
    make_orchestrator: Callable[..., Any],
) -> None:
    sink = Sink()
    orch = await make_orchestrator(plugins=(sink,))
    server = build_server(orch.config, orchestrator=orch)
    async with Client(server, mode="2026-07-28", sampling_callback=Sampler(refuse=True)) as client:
        with pytest.raises(MCPError, match="User rejected"):
            await client.call_tool("orchestrate", {"request": REQUEST})
        assert sink.records == []
        again = await client.call_tool(
            "orchestrate", {"request": REQUEST, "options": {"execute": False}}
        )
        assert again.structured_content["status"] == "delegated"  # type: ignore[index]


@pytest.mark.parametrize("protocol", MODES)
async def test_the_clients_model_as_a_fallback_depends_on_the_protocol(
    make_orchestrator: Callable[..., Any], protocol: str
) -> None:
    """With the client's model after the API models: on 2025-11-25 the server can still ask
    it mid-call when the API model fails; on 2026-07-28 it can only ask up front, which it
    does only for a leading client model, so the client's model steps aside there."""
    echo = EchoProvider("gemini", prices_provider="google", models={"gemini-2.5-flash-lite"}).fail(
        ErrorKind.AUTH
    )

    class Echo:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(echo)

    config = Config(use_claude_code_first=False)
    orch = await make_orchestrator(config, plugins=(Echo(),))
    sampler = Sampler()
    server = build_server(config, orchestrator=orch)
    async with Client(server, mode=protocol, sampling_callback=sampler) as client:
        result = await client.call_tool("orchestrate", {"request": REQUEST})
    data = result.structured_content
    assert data is not None
    attempts = [(a["provider"], a["outcome"]) for a in data["attempts"]]
    assert attempts[0] == ("gemini", "error")
    if protocol == "legacy":
        assert data["status"] == "completed" and data["provider"] == "client"
        assert attempts[1:] == [("client", "ok")] and len(sampler.requests) == 1
    else:
        assert data["status"] == "failed" and result.is_error
        assert attempts == [("gemini", "error")] and sampler.requests == []


@pytest.mark.parametrize("protocol", MODES)
async def test_api_provider_runs_and_savings_are_measured(
    make_orchestrator: Callable[..., Any], protocol: str
) -> None:
    echo = EchoProvider("gemini", prices_provider="google")

    class Echo:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(echo)

    orch = await make_orchestrator(plugins=(Echo(),))
    async with Client(build_server(orch.config, orchestrator=orch), mode=protocol) as client:
        result = await client.call_tool("orchestrate", {"request": REQUEST})
    data = result.structured_content
    assert data is not None and data["status"] == "completed"
    assert data["provider"] == "gemini" and data["output"].startswith("echo:")
    assert data["cost_usd"] is not None and data["baseline_cost_usd"] is not None
    assert data["saved_usd"] == pytest.approx(data["baseline_cost_usd"] - data["cost_usd"])
    assert len(echo.calls) == 1


@pytest.mark.parametrize("protocol", MODES)
@pytest.mark.parametrize("sampling", [False, True])
async def test_progress_goes_through_the_stages(
    orch: Orchestrator, protocol: str, sampling: bool
) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    server = build_server(orch.config, orchestrator=orch)
    callback = Sampler() if sampling else None
    async with Client(server, mode=protocol, sampling_callback=callback) as client:
        await client.call_tool("orchestrate", {"request": REQUEST}, progress_callback=on_progress)
    values = [p for p, _, _ in seen]
    messages = [m or "" for _, _, m in seen]
    assert values == sorted(values) and len(set(values)) == len(values), seen
    assert values[-1] == 100 and all(total == 100 for _, total, _ in seen)
    assert messages[0] == "analyzing" and messages[1].startswith("selected ")
    if sampling:
        assert any(m.startswith("calling ") for m in messages) and messages[-1] == "done"
    else:
        assert messages[-1] == "delegated"


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", MODES)
async def test_bad_arguments_unknown_tools_and_oversized_requests_are_error_results(
    make_orchestrator: Callable[..., Any], protocol: str
) -> None:
    config = Config.model_validate({"server": {"max_request_chars": 50}})
    orch = await make_orchestrator(config)
    async with Client(build_server(config, orchestrator=orch), mode=protocol) as client:
        cases = [
            ("orchestrate", {"request": 42}, ["request", "valid string"]),
            ("orchestrate", {}, ["request", "Field required"]),
            ("orchestrate", {"request": "hi", "options": {"max_cost": -1}}, ["options.max_cost"]),
            ("orchestrate", {"request": "hi", "options": {"colour": 1}}, ["options.colour"]),
            ("orchestrate", {"request": "   "}, ["request: must not be empty"]),
            ("analyze_request", {"request": "x", "context": [1]}, ["context", "dictionary"]),
            ("analyze_request", {"request": "x" * 51}, ["request", "at most 50 characters"]),
            ("get_metrics", {"period": "2m"}, ["period", "'1m', '5m', '1h' or '1d'"]),
            ("no_such_tool", {"request": "x"}, ["Unknown tool: no_such_tool"]),
        ]
        for name, arguments, fragments in cases:
            result = await client.call_tool(name, arguments)
            assert result.is_error, (name, arguments)
            message = text_of(result)
            for fragment in fragments:
                assert fragment in message, (fragment, message)
            assert len(message) < 1000, "the message quotes no huge input"
            assert "https://" not in message and "validation error" not in message, message
            assert "\n" not in message, message
        ok = await client.call_tool("analyze_request", {"request": "x" * 50})
        assert not ok.is_error


@pytest.mark.parametrize("protocol", MODES)
async def test_a_crashing_plugin_gives_a_clear_error_and_the_server_keeps_serving(
    make_orchestrator: Callable[..., Any], protocol: str
) -> None:
    class Crashing:
        armed = True

        @hookimpl
        def classify(self, request: Any) -> Any:
            if self.armed:
                raise RuntimeError("the classifier fell over")
            return None

    crashing = Crashing()
    orch = await make_orchestrator(plugins=(crashing,))
    async with Client(build_server(orch.config, orchestrator=orch), mode=protocol) as client:
        analysis = await client.call_tool("analyze_request", {"request": REQUEST})
        assert analysis.is_error
        assert "failed in hook 'classify': RuntimeError: the classifier fell over" in text_of(
            analysis
        )
        run = await client.call_tool("orchestrate", {"request": REQUEST})
        assert run.is_error and text_of(run).startswith("orchestrate failed: plugin ")
        assert run.structured_content["status"] == "failed"  # type: ignore[index]
        crashing.armed = False
        assert not (await client.call_tool("analyze_request", {"request": REQUEST})).is_error


async def test_a_missing_stage_plugin_is_reported_not_crashed(
    make_orchestrator: Callable[..., Any],
) -> None:
    orch = await make_orchestrator(defaults=False)
    async with Client(build_server(orch.config, orchestrator=orch)) as client:
        result = await client.call_tool("analyze_request", {"request": REQUEST})
        assert result.is_error and "no plugin implements 'classify'" in text_of(result)
        assert len((await client.list_tools()).tools) == 3


# --- metrics and the lazily built orchestrator ---------------------------------------------------


async def test_get_metrics_reads_the_live_window(make_orchestrator: Callable[..., Any]) -> None:
    periods: list[tuple[str, bool]] = []

    class Metrics:
        @hookimpl
        def metrics_summary(self, period: str, persistent: bool) -> MetricsSummary:
            periods.append((period, persistent))
            return MetricsSummary(period=period, total_requests=7)  # type: ignore[arg-type]

    orch = await make_orchestrator(plugins=(Metrics(),))
    async with Client(build_server(orch.config, orchestrator=orch)) as client:
        result = await client.call_tool("get_metrics", {"period": "1h"})
    assert periods == [("1h", False)]
    expected = (await orch.metrics("1h")).model_dump(mode="json")
    assert result.structured_content == expected
    assert expected["total_requests"] == 7


async def test_without_a_sink_the_summary_says_so(orch: Orchestrator) -> None:
    async with Client(build_server(orch.config, orchestrator=orch)) as client:
        result = await client.call_tool("get_metrics", {})
    data = result.structured_content
    assert data is not None and data["period"] == "5m" and data["total_requests"] == 0
    assert any("no metrics sink" in note for note in data["notes"])


@pytest.mark.parametrize("protocol", MODES)
async def test_the_server_builds_its_own_orchestrator_on_demand(protocol: str) -> None:
    async with Client(build_server(Config()), mode=protocol) as client:
        assert len((await client.list_tools()).tools) == 3
        result = await client.call_tool("orchestrate", {"request": REQUEST})
    assert result.structured_content["status"] == "delegated"  # type: ignore[index]


def test_building_the_server_leaves_one_logging_path() -> None:
    import logging

    root = logging.getLogger()
    saved = list(root.handlers)
    for handler in saved:
        root.removeHandler(handler)
    try:
        build_server(Config())
        names = [type(h).__name__ for h in root.handlers]
        # The SDK's Rich handler is gone; our redacting handler takes the records.
        assert "RichHandler" not in names
        assert [h.get_name() for h in root.handlers] == ["dynamic-orchestrator"]
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
