"""What a turn is read as, and what each gateway call leaves in the metrics sinks."""

from __future__ import annotations

import anthropic
import anyio
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.models import RequestRecord
from dynamic_orchestrator_mcp_server.gateway.routing import read_signals, scenario, strip_wrappers
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_mcp_server.settings import GatewayConfig
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

CONFIG = GatewayConfig()


def claude_code_turn(words: str, **extra: object) -> dict[str, object]:
    return {
        "max_tokens": 64000,
        "thinking": {"type": "adaptive"},
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>agents: Explore, Plan</system-reminder>",
                    },
                    {
                        "type": "text",
                        "text": "<system-reminder>As you answer, use context.</system-reminder>",
                    },
                    {"type": "text", "text": words, "cache_control": {"type": "ephemeral"}},
                ],
            }
        ],
        **extra,
    }


def test_the_users_words_come_without_wrappers_and_adaptive_thinking_is_no_signal() -> None:
    assert strip_wrappers("<system-reminder>x\ny</system-reminder>\nfix the bug") == "fix the bug"
    signals = read_signals(claude_code_turn("fix the bug"), "claude-sonnet-4-6", CONFIG, 2000)
    assert signals.words == "fix the bug" and not signals.thinking and signals.adaptive_thinking
    name, why = scenario(signals, CONFIG)
    assert name == "default" and "adaptive thinking" in why


def test_scenarios_background_long_context_think_tool_results_web_search() -> None:
    small = {"max_tokens": 100, "messages": [{"role": "user", "content": "title for: fix the bug"}]}
    assert (
        scenario(read_signals(small, "claude-sonnet-4-6", CONFIG, 200), CONFIG)[0] == "background"
    )
    haiku = claude_code_turn("summarize")
    assert scenario(read_signals(haiku, "claude-haiku-4-5", CONFIG, 500), CONFIG)[0] == "background"
    assert (
        scenario(read_signals(claude_code_turn("x"), "claude-sonnet-4-6", CONFIG, 400_000), CONFIG)[
            0
        ]
        == "longContext"
    )
    think = claude_code_turn("x", thinking={"type": "enabled", "budget_tokens": 4000})
    assert scenario(read_signals(think, "claude-sonnet-4-6", CONFIG, 500), CONFIG)[0] == "think"
    results = claude_code_turn("read it")
    results["messages"] = [
        *results["messages"],  # type: ignore[list-item]
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "Read", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]},
    ]
    signals = read_signals(results, "claude-sonnet-4-6", CONFIG, 500)
    assert signals.tool_results and signals.words == "read it"
    assert scenario(signals, CONFIG)[0] == "toolResults"
    search = claude_code_turn(
        "news?", tools=[{"type": "web_search_20250305", "name": "web_search"}]
    )
    assert (
        scenario(read_signals(search, "claude-sonnet-4-6", CONFIG, 500), CONFIG)[0] == "webSearch"
    )


def test_each_call_is_recorded_with_measured_usage_and_the_saving_against_the_requested_model(
    gateway: GatewayServer, fake_provider_server: FakeProviderServer
) -> None:
    records: list[RequestRecord] = []

    class Sink:
        @hookimpl
        def record(self, record: RequestRecord) -> None:
            records.append(record)

    gateway.orchestrator.pm.register(Sink())
    fake_provider_server.script("gemini", fs.reply("4", input_tokens=1000, output_tokens=10))
    sdk = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0)
    answer = sdk.messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        messages=[{"role": "user", "content": "What is 2+2?"}],
    )
    assert answer.headers["x-orchestrator-model"] == "gemini-2.5-flash-lite"
    summary = anyio.run(gateway.orchestrator.metrics, "5m")
    assert summary.total_requests == 1 and summary.model_distribution == {
        "gemini-2.5-flash-lite": 1
    }
    assert summary.measured.tokens == 1010
    # claude-sonnet-4-6 at the same counts: 1000 * $3/M + 10 * $15/M; flash-lite: 1000 * $0.1/M + 10 * $0.4/M
    assert abs(summary.total_saved_usd - ((3000 + 150) - (100 + 4)) / 1e6) < 1e-9
    # the routing reasons reach the record, not only the log
    (record,) = records
    assert record.reasons[0].startswith("scenario background: a background call")
    assert record.model == "gemini-2.5-flash-lite"
