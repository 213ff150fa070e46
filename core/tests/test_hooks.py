"""Every hook: documented, and exercised by a ``test_hook_<name>`` through a real plugin."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
from dynamic_orchestrator import hookimpl, hookspecs
from dynamic_orchestrator.catalog import ModelInfo, PriceTiers
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.contract import Rewrite
from dynamic_orchestrator.errors import ConfigError, PluginError, RequestError
from dynamic_orchestrator.execution import ExecutionContext
from dynamic_orchestrator.hooks import Hooks
from dynamic_orchestrator.models import (
    Candidate,
    ComplexityResult,
    Execution,
    IntentInfo,
    IntentResult,
    MetricsSummary,
    Prompt,
    RequestRecord,
    Selection,
    ServiceRoute,
    ToolSpec,
)
from dynamic_orchestrator.plugins import hookspec_names
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_testing.pytest_plugin import provider_plugin

HOOKS = sorted(hookspec_names())


def test_every_hook_is_documented_the_pytest_way() -> None:
    for name in HOOKS:
        spec = getattr(hookspecs, name)
        doc = inspect.getdoc(spec) or ""
        assert doc, f"{name} has no docstring"
        for param in inspect.signature(spec).parameters:
            assert f":param {param}:" in doc, f"{name}: parameter {param} is not documented"
        firstresult = getattr(spec, "dynamic_orchestrator_spec", {}).get("firstresult")
        if firstresult:
            assert "Stops at the first non-None result." in doc, name
        if inspect.signature(spec).return_annotation not in ("None", None):
            assert ":return:" in doc, f"{name}: return value not documented"


def test_every_hook_has_a_test() -> None:
    sources = "\n".join(
        p.read_text()
        for p in Path(__file__).resolve().parents[2].rglob("test_*.py")
        if ".venv" not in p.parts
    )
    missing = [name for name in HOOKS if not re.search(rf"def test_hook_{name}\b", sources)]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"


# --- registration hooks ----------------------------------------------------------------


async def test_hook_register_models(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def register_models(self, register: Any, config: Config) -> None:
            register(
                ModelInfo(
                    name="house-model",
                    provider="echo",
                    tiers=("simple",),
                    input_price=PriceTiers(1.0),
                    output_price=PriceTiers(2.0),
                    context_window=8000,
                    source="test",
                )
            )

    orch = await make_orchestrator(plugins=(Plugin(),))
    model = orch.catalog.get("house-model")
    assert model is not None and model.provider == "echo"
    assert model.estimate_cost(1_000_000, 1_000_000) == pytest.approx(3.0)
    assert orch.catalog.unusable_reason("house-model") == (
        "provider 'echo' is not installed (no plugin registers it; a plugin for type 'echo' "
        "is published as dynamic-orchestrator-echo, where one exists)"
    )


async def test_hook_register_providers(make_orchestrator: Any) -> None:
    echo = EchoProvider("openai")

    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(echo)

    orch = await make_orchestrator(plugins=(Plugin(),))
    assert orch.providers["openai"] is echo
    assert orch.catalog.usable("gpt-5-mini")
    assert not orch.catalog.usable("claude-haiku-4-5")


async def test_duplicate_provider_names_keep_the_first(make_orchestrator: Any) -> None:
    first, second = EchoProvider("openai"), EchoProvider("openai")

    class A:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(first)

    class B:
        @hookimpl(trylast=True)
        def register_providers(self, register: Any) -> None:
            register(second)

    orch = await make_orchestrator(plugins=(B(), A()))
    assert orch.providers["openai"] is first


async def test_hook_register_services(make_orchestrator: Any) -> None:
    class FakeService:
        name = "files"
        capabilities: ClassVar[list[str]] = ["read"]

        def known_tools(self) -> list[ToolSpec]:
            return [ToolSpec(name="read_file", service="files")]

        async def call_tool(self, name: str, arguments: Any, *, timeout: float) -> str:
            return "contents"

    class Plugin:
        @hookimpl
        def register_services(self, register: Any, config: Config) -> None:
            register(FakeService())

    orch = await make_orchestrator(plugins=(Plugin(),))
    assert [s.name for s in orch.services] == ["files"]


async def test_hook_register_intents(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def register_intents(self, register: Any, config: Config) -> None:
            register(IntentInfo("translate", output_tokens={"simple": 77}))

        @hookimpl
        def classify(self, request: Any) -> IntentResult:
            return IntentResult(intent="translate", confidence=0.8, reasons=["house rule"])

        @hookimpl
        def score_complexity(self, request: Any, intent: IntentResult) -> ComplexityResult:
            return ComplexityResult(level="simple", score=0.1)

    orch = await make_orchestrator(plugins=(Plugin(),))
    assert list(orch.intents) == ["read", "write", "search", "analyze", "manage", "translate"]
    # the default classifier gave the five its output-token estimates
    assert orch.intents["write"].output_tokens["complex"] == 2000
    result = await orch.analyze("say hello in French")
    assert (result.intent, result.estimated_output_tokens) == ("translate", 77)


async def test_an_unregistered_intent_fails_the_request_naming_it(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def classify(self, request: Any) -> IntentResult:
            return IntentResult(intent="translate", confidence=0.8)

    orch = await make_orchestrator(plugins=(Plugin(),))
    with pytest.raises(PluginError, match="intent 'translate', which no plugin registered"):
        await orch.analyze("say hello in French")
    result = await orch.orchestrate("say hello in French")
    assert result.status == "failed" and "register_intents" in (result.error or "")


async def test_the_configuration_sets_an_intents_output_tokens(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def register_intents(self, register: Any, config: Config) -> None:
            register(IntentInfo("translate", output_tokens={"simple": 77, "complex": 900}))

        @hookimpl
        def classify(self, request: Any) -> IntentResult:
            return IntentResult(intent="translate", confidence=0.8, reasons=["house rule"])

        @hookimpl
        def score_complexity(self, request: Any, intent: IntentResult) -> ComplexityResult:
            return ComplexityResult(level="simple", score=0.1)

    config = parse_config(
        {
            "intents": {
                "translate": {"output_tokens": {"simple": 40}},
                "write": {"output_tokens": {"complex": 3000}},
            }
        }
    )
    orch = await make_orchestrator(config, plugins=(Plugin(),))
    # the configuration's figure wins; a level it does not give keeps the plugin's
    assert dict(orch.intents["translate"].output_tokens) == {"simple": 40, "complex": 900}
    assert orch.intents["write"].output_tokens["complex"] == 3000  # over the rules plugin's
    result = await orch.analyze("say hello in French")
    assert (result.intent, result.estimated_output_tokens) == ("translate", 40)

    with pytest.raises(
        ConfigError, match=r"intents\.translate\.output_tokens\.simple: .*greater than 0"
    ):
        parse_config({"intents": {"translate": {"output_tokens": {"simple": 0}}}})
    with pytest.raises(ConfigError, match=r"intents\.summarise: no plugin registers"):
        await make_orchestrator(parse_config({"intents": {"summarise": {}}}))


def test_an_intent_name_is_checked() -> None:
    with pytest.raises(ValueError, match="lower case letters"):
        IntentInfo("Translate!")
    with pytest.raises(ValueError, match="positive integer"):
        IntentInfo("translate", output_tokens={"simple": 0})


def test_hook_register_commands(plugin_manager: Any, register_plugin: Any) -> None:
    @click.command("hello")
    def hello() -> None:
        click.echo("hi")

    class Plugin:
        @hookimpl
        def register_commands(self, register: Any) -> None:
            register(hello)

    register_plugin(Plugin())
    assert [c.name for c in Hooks(plugin_manager).register_commands()] == ["hello"]


def test_hook_register_http_routes(plugin_manager: Any, register_plugin: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    class A:
        @hookimpl
        def register_http_routes(self, register: Any, config: Config) -> None:
            register("/metrics", app)

    class B:
        @hookimpl(trylast=True)
        def register_http_routes(self, register: Any) -> None:
            register("/metrics", object())
            register("/health", app)

    register_plugin(B())
    register_plugin(A())
    routes = dict(Hooks(plugin_manager).register_http_routes(Config()))
    assert routes == {"/metrics": app, "/health": app}


async def test_hook_plugin_settings(make_orchestrator: Any) -> None:
    from dynamic_orchestrator.contract import PluginSettings
    from dynamic_orchestrator.errors import ConfigError
    from pydantic import BaseModel, ConfigDict

    class Greeting(BaseModel):
        model_config = ConfigDict(extra="forbid")
        word: str = "hello"
        times: int = 1

    seen: list[Greeting] = []

    class Plugin:
        @hookimpl
        def plugin_settings(self) -> PluginSettings:
            return PluginSettings("greeter", Greeting, aliases={"greeting.word": "word"})

        @hookimpl
        def startup(self, orchestrator: Any) -> None:
            seen.append(orchestrator.config.plugin_settings("greeter", Greeting))

    config = Config(greeting={"word": "hi"}, plugins={"greeter": {"times": 2}})  # type: ignore[call-arg, arg-type]
    await make_orchestrator(config, plugins=(Plugin(),))
    assert seen == [Greeting(word="hi", times=2)]  # the older key and plugins.greeter, merged
    bad = Config(plugins={"greeter": {"tiems": 2}})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"plugins\.greeter\.tiems: unknown key"):
        await make_orchestrator(bad, plugins=(Plugin(),))


# --- lifecycle ----------------------------------------------------------------------------


async def test_hook_startup(make_orchestrator: Any) -> None:
    seen: list[str] = []

    class Plugin:
        @hookimpl
        def startup(self, orchestrator: Any) -> Any:
            async def go() -> None:
                seen.append(f"started with {len(orchestrator.catalog.models)} models")

            return go()

    await make_orchestrator(plugins=(Plugin(),))
    assert seen and seen[0].startswith("started with")


async def test_hook_shutdown(make_orchestrator: Any) -> None:
    seen: list[str] = []

    class Failing:
        @hookimpl
        def shutdown(self, orchestrator: Any) -> None:
            raise RuntimeError("boom")

    class Plugin:
        @hookimpl
        def shutdown(self, orchestrator: Any) -> None:
            seen.append("closed")

    orch = await make_orchestrator(plugins=(Plugin(), Failing()))
    await orch.close()
    await orch.close()  # idempotent
    assert seen == ["closed"]  # one failing hook does not stop the others


# --- per-request stages ---------------------------------------------------------------------


async def test_hook_classify(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def classify(self, request: Any) -> IntentResult | None:
            if "ticket" in request.text:
                return IntentResult(intent="manage", confidence=0.9, reasons=["ticket"])
            return None

    orch = await make_orchestrator(plugins=(Plugin(),))
    assert (await orch.analyze("close the ticket please")).intent == "manage"
    # returning None lets the default decide
    assert (await orch.analyze("Find all usages of parse()")).intent == "search"


async def test_hook_score_complexity(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def score_complexity(self, request: Any, intent: IntentResult) -> ComplexityResult:
            return ComplexityResult(
                level="complex", score=0.99, reasons=[f"always ({intent.intent})"]
            )

    orch = await make_orchestrator(plugins=(Plugin(),))
    result = await orch.analyze("rename x to y")
    assert (result.complexity, result.complexity_score, result.tier) == ("complex", 0.99, "complex")
    assert any("always (write)" in r for r in result.reasons)


async def test_hook_route_services(make_orchestrator: Any) -> None:
    class Service:
        name = "git"
        capabilities: ClassVar[list[str]] = ["manage"]

        def known_tools(self) -> list[ToolSpec]:
            return []

        async def call_tool(self, name: str, arguments: Any, *, timeout: float) -> str:
            return ""

    class Plugin:
        @hookimpl
        def register_services(self, register: Any) -> None:
            register(Service())

        @hookimpl
        def route_services(self, request: Any, intent: Any, services: list[Any]) -> ServiceRoute:
            tool = ToolSpec(name="git_log", service="git")
            return ServiceRoute(
                services=[s.name for s in services],
                tools=[tool],
                tool_tokens_sent=50,
                tool_tokens_available=500,
                reasons=["git for manage"],
            )

    orch = await make_orchestrator(plugins=(Plugin(),))
    result = await orch.analyze("tag the release")
    assert result.services == ["git"] and result.tools == ["git_log"]
    # tool tokens count in the estimate; all available tools count in the baseline
    assert result.estimated_input_tokens > 50


async def test_hook_system_prompt_tokens(make_orchestrator: Any) -> None:
    class Plugin:
        size = 0

        @hookimpl
        def system_prompt_tokens(self, intent: IntentResult) -> int:
            return self.size

    plugin = Plugin()
    orch = await make_orchestrator(plugins=(plugin,))
    text = "Find all usages of parse()"
    before = (await orch.analyze(text)).estimated_input_tokens
    plugin.size = 1000
    assert (await orch.analyze(text)).estimated_input_tokens == before + 1000


async def test_hook_select_model(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def select_model(
            self, request: Any, analysis: Any, catalog: Any, constraints: Any
        ) -> Selection:
            return Selection(
                tier="simple",
                chain=[Candidate(model="gpt-5-nano", provider="openai", estimated_cost_usd=0.0001)],
                reasons=["house rule"],
            )

    orch = await make_orchestrator(plugins=(Plugin(), provider_plugin(EchoProvider("openai"))))
    result = await orch.analyze("design a distributed system")
    assert result.recommended_model == "gpt-5-nano" and "house rule" in result.reasons


async def test_hook_generate_prompt(make_orchestrator: Any) -> None:
    echo = EchoProvider("openai")

    class Plugin:
        @hookimpl
        def generate_prompt(self, request: Any, analysis: Any, model: ModelInfo) -> Prompt:
            return Prompt(system=f"for {model.name}", user=request.text.upper())

    orch = await make_orchestrator(plugins=(Plugin(), provider_plugin(echo)))
    result = await orch.orchestrate("show the readme")
    assert result.status == "completed"
    assert echo.calls[0].system == f"for {result.model}"
    assert result.output == "echo: SHOW THE README"


async def test_hook_rewrite_prompt(make_orchestrator: Any) -> None:
    echo = EchoProvider("openai")

    class Plugin:
        @hookimpl
        def rewrite_prompt(self, context: ExecutionContext) -> Any:
            async def shout() -> Rewrite:
                first = next(iter(context.prompts.values()))
                return Rewrite(text=first.user.upper(), input_tokens=7, output_tokens=5)

            return shout()

    orch = await make_orchestrator(plugins=(Plugin(), provider_plugin(echo)))
    result = await orch.orchestrate("show the readme")
    assert result.output == "echo: SHOW THE README"
    assert all(call.messages[0].content == "SHOW THE README" for call in echo.calls)
    assert result.usage.input_tokens > 7 and result.usage.output_tokens > 5  # counted


async def test_hook_execute(make_orchestrator: Any) -> None:
    class Plugin:
        @hookimpl
        def execute(self, context: ExecutionContext) -> Any:
            async def run() -> Execution:
                from dynamic_orchestrator.models import Completion

                return Execution(
                    completion=Completion(
                        text=f"ran {context.selection.chain[0].model}",
                        model=context.selection.chain[0].model,
                        provider="custom",
                        input_tokens=10,
                        output_tokens=5,
                        cost_usd=0.5,
                    )
                )

            return run()

    orch = await make_orchestrator(plugins=(Plugin(), provider_plugin(EchoProvider("openai"))))
    result = await orch.orchestrate("show the readme")
    assert result.status == "completed" and result.output.startswith("ran ")
    assert result.cost_usd == 0.5


async def test_hook_call_model(make_orchestrator: Any) -> None:
    """A wrapper sees every try, may refuse one (the chain falls back) or change the call."""
    from dataclasses import replace

    from dynamic_orchestrator.contract import ErrorKind, ModelCall, ProviderError

    seen: list[str] = []

    class Gate:
        @hookimpl(wrapper=True)
        def call_model(self, model_call: ModelCall) -> Any:
            inner = yield
            seen.append(model_call.candidate.model)

            async def gated() -> Any:
                if len(seen) == 1:  # refuse the first model without calling it
                    inner.close()
                    raise ProviderError(ErrorKind.UNAVAILABLE, "gate closed")
                model_call.call = replace(model_call.call, max_tokens=7)
                return await inner

            return gated()

    echo = EchoProvider("openai")
    orch = await make_orchestrator(
        plugins=(Gate(), provider_plugin(echo)),
        config=parse_config(
            {"execution": {"simple": {"preferred": "gpt-5-nano", "fallback": ["gpt-5-mini"]}}}
        ),
    )
    result = await orch.orchestrate("show the readme")
    assert result.status == "completed" and result.model == "gpt-5-mini"
    assert seen == ["gpt-5-nano", "gpt-5-mini"]
    assert [a.outcome for a in result.attempts] == ["ok"]  # the refused try never ran
    assert [c.max_tokens for c in echo.calls] == [7]


async def test_hook_record(make_orchestrator: Any) -> None:
    records: list[RequestRecord] = []

    class Sink:
        @hookimpl
        def record(self, record: RequestRecord) -> None:
            records.append(record)

    class BrokenSink:
        @hookimpl
        def record(self, record: RequestRecord) -> None:
            raise RuntimeError("sink down")

    orch = await make_orchestrator(
        plugins=(
            Sink(),
            BrokenSink(),
            provider_plugin(EchoProvider("gemini", prices_provider="google")),
        )
    )
    result = await orch.orchestrate("Where is the JWT secret loaded from?")
    assert result.status == "completed"
    (record,) = records
    assert record.request_id == result.request_id
    assert (record.intent, record.status, record.model) == ("search", "completed", result.model)
    assert record.input_tokens == result.usage.input_tokens
    assert "JWT" not in record.model_dump_json()  # records hold no request text


async def test_hook_metrics_summary(make_orchestrator: Any) -> None:
    class Sink:
        @hookimpl
        def metrics_summary(self, period: str, persistent: bool) -> MetricsSummary:
            return MetricsSummary(period=period, total_requests=7 if persistent else 3)  # type: ignore[arg-type]

    orch = await make_orchestrator(plugins=(Sink(),))
    assert (await orch.metrics("1h")).total_requests == 3
    assert (await orch.metrics("1h", persistent=True)).total_requests == 7


async def test_hook_circuit_states(make_orchestrator: Any) -> None:
    class Breakers:
        @hookimpl
        def circuit_states(self) -> dict[str, str]:
            return {"gpt-5-mini": "open"}

    orch = await make_orchestrator(plugins=(Breakers(),))
    summary = await orch.metrics("5m")
    assert summary.circuit_breakers == {"gpt-5-mini": "open"}
    assert summary.notes == ["no metrics sink is installed: nothing was recorded"]


async def test_hook_record_verdict(make_orchestrator: Any) -> None:
    class Labels:
        def __init__(self, stores: bool) -> None:
            self.stores, self.seen = stores, []

        @hookimpl
        def record_verdict(self, request_id: str, verdict: bool | float, source: str) -> bool:
            self.seen.append((request_id, verdict, source))
            return self.stores

    class Broken:
        @hookimpl
        def record_verdict(self, request_id: str) -> bool:
            raise OSError("disk full")

    keeper, viewer = Labels(True), Labels(False)
    orch = await make_orchestrator(plugins=(keeper, viewer, Broken()))
    assert orch.feedback("r-1", False) == 1  # all saw it; one stored it; the broken one is logged
    assert orch.feedback("r-2", 1) == 1  # an int score is a float in [0, 1]
    assert keeper.seen == viewer.seen == [("r-1", False, "feedback"), ("r-2", 1.0, "feedback")]
    with pytest.raises(RequestError, match="verdict"):
        orch.feedback("r-3", "up")  # type: ignore[arg-type]
    with pytest.raises(RequestError, match="request_id"):
        orch.feedback("", True)


# --- host behaviour ---------------------------------------------------------------------------


def test_async_first_result_hook_is_refused_with_the_plugin_name(
    plugin_manager: Any,
) -> None:
    class AsyncClassifier:
        @hookimpl
        async def classify(self, request: Any) -> None:
            return None

    with pytest.raises(
        PluginError, match=r"plugin 'async-classifier': hook 'classify' is 'async def'"
    ):
        plugin_manager.register(AsyncClassifier(), name="async-classifier")


async def test_a_crashing_plugin_fails_the_request_not_the_host(make_orchestrator: Any) -> None:
    records: list[RequestRecord] = []

    class Crashing:
        @hookimpl
        def select_model(self, **_: Any) -> None:
            raise ZeroDivisionError("oops")

        @hookimpl
        def record(self, record: RequestRecord) -> None:
            records.append(record)

    orch = await make_orchestrator(plugins=(Crashing(),))
    result = await orch.orchestrate("show the readme")
    assert result.status == "failed"
    assert "plugin" in result.error and "select_model" in result.error and "oops" in result.error
    assert records and records[0].status == "failed"  # recorded, not lost
    # the next request is served
    with pytest.raises(PluginError):
        await orch.analyze("show the readme")
