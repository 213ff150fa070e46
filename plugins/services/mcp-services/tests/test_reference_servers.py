"""Against the four real servers: server-everything, server-filesystem (npm),
mcp-server-git and mcp-server-time (PyPI), started as stdio children by the plugin."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import RequestRecord
from dynamic_orchestrator_mcp_services import McpService
from dynamic_orchestrator_testing.fakes import EchoProvider

from .conftest import start_orchestrator

pytestmark = pytest.mark.slow


class Recorder:
    """A metrics sink that keeps every record."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    @hookimpl
    def record(self, record: RequestRecord) -> None:
        self.records.append(record)


class EchoProviders:
    def __init__(self) -> None:
        self.provider = EchoProvider("openai", cost_usd=0.001)

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(self.provider)


@pytest.fixture(scope="module")
async def setup(reference_config: Config) -> AsyncIterator[tuple[Orchestrator, Recorder]]:
    recorder = Recorder()
    orch = await start_orchestrator(reference_config, recorder, EchoProviders())
    try:
        yield orch, recorder
    finally:
        await orch.close()


def services_of(orch: Orchestrator) -> dict[str, McpService]:
    return {s.name: s for s in orch.services if isinstance(s, McpService)}


async def test_the_four_servers_are_connected_and_listed(setup: Any) -> None:
    orch, _ = setup
    services = services_of(orch)
    assert sorted(services) == ["everything", "filesystem", "git", "time"]
    for service in services.values():
        assert service.state == "ready", service.status()
    names = {s: {t.name for t in svc.known_tools()} for s, svc in services.items()}
    assert {"get_current_time", "convert_time"} <= names["time"]
    assert {"git_status", "git_log", "git_commit"} <= names["git"]
    assert {"read_text_file", "write_file", "list_allowed_directories"} <= names["filesystem"]
    assert {"echo", "get-sum", "get-env"} <= names["everything"]
    tool = next(t for t in services["time"].known_tools() if t.name == "get_current_time")
    assert tool.service == "time" and "timezone" in json.dumps(tool.input_schema)


async def test_each_server_runs_a_tool(setup: Any, reference_config: Config) -> None:
    orch, _ = setup
    services = services_of(orch)
    repo = reference_config.mcp_services["git"].command[-1]  # type: ignore[index]
    now = await services["time"].call_tool(
        "get_current_time", {"timezone": "Asia/Tokyo"}, timeout=20
    )
    assert json.loads(now)["timezone"] == "Asia/Tokyo"
    log = await services["git"].call_tool("git_log", {"repo_path": repo}, timeout=20)
    assert "add app" in log and "first commit" in log
    files = await services["filesystem"].call_tool("list_allowed_directories", {}, timeout=20)
    assert files.rstrip().endswith("files")
    echoed = await services["everything"].call_tool("echo", {"message": "ping 42"}, timeout=20)
    assert "ping 42" in echoed
    bad = await services["everything"].call_tool("get-sum", {"a": "x"}, timeout=20)
    assert bad.startswith("error from the tool")


async def test_analyze_reports_the_routed_services_and_tools(setup: Any) -> None:
    orch, _ = setup
    result = await orch.analyze("What time is it in Tokyo right now?")
    assert result.services[0] == "time"
    assert "get_current_time" in result.tools
    assert len(result.tools) < 10
    reason = next(r for r in result.reasons if r.startswith("tools:"))
    assert "get_current_time (time)" in reason and "of 41 sent" in reason


async def test_a_delegated_plan_lists_the_routed_tools(setup: Any) -> None:
    orch, recorder = setup
    result = await orch.orchestrate("Show me the last 5 commits", options={"execute": False})
    assert result.status == "delegated" and result.plan is not None
    assert result.analysis is not None
    assert [t.name for t in result.plan.tools] == result.analysis.tools
    assert "git_log" in result.analysis.tools
    assert result.plan.tools[0].service == result.analysis.services[0] == "git"
    assert all(t.input_schema for t in result.plan.tools)
    record = recorder.records[-1]
    assert record.services == result.analysis.services
    assert 0 < record.tool_tokens_sent < record.tool_tokens_available / 3


async def test_a_model_calls_a_real_tool_and_gets_its_result(setup: Any) -> None:
    orch, recorder = setup
    result = await orch.orchestrate(
        "[call:list_allowed_directories] Which directories is the file server allowed to use?",
        options={"model": "gpt-5-nano"},
    )
    assert result.status == "completed", result.error
    assert result.output is not None
    # The second model call echoes the tool message: the real server's answer, framed.
    assert '<tool_result tool="list_allowed_directories" service="filesystem">' in result.output
    assert "Allowed directories" in result.output and "files" in result.output
    assert [a.outcome for a in result.attempts] == ["ok", "ok"]
    assert result.cost_usd == pytest.approx(0.002)  # both calls counted
    record = recorder.records[-1]
    assert record.services[0] == "filesystem"
    assert record.tool_tokens_sent > 0
