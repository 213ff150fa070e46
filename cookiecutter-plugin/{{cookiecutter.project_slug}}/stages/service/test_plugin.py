"""The service's tools on their own, then routed to and called in a real orchestrator."""

from datetime import UTC, datetime
from typing import Any

import pytest

import {{ cookiecutter.package_name }} as plugin

pytestmark = pytest.mark.anyio

Service = plugin.{{ cookiecutter.class_prefix }}Service
NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


async def test_days_between_counts_days() -> None:
    service = Service()
    answer = await service.call_tool(
        "days_between", {"start": "2024-01-01", "end": "2024-03-01"}, timeout=5
    )
    assert answer == "60 days"


async def test_current_time_uses_the_time_zone() -> None:
    service = Service(clock=lambda: NOON)
    assert await service.call_tool("current_time", {}, timeout=5) == "2024-03-01T12:00:00+00:00"
    paris = await service.call_tool("current_time", {"timezone": "Europe/Paris"}, timeout=5)
    assert paris == "2024-03-01T13:00:00+01:00"


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("current_time", {"timezone": "Mars/Olympus"}, "unknown time zone"),
        ("days_between", {"start": "yesterday", "end": "2024-03-01"}, "start: expected a date"),
        ("delete_everything", {}, "unknown tool"),
    ],
)
async def test_bad_calls_say_what_is_wrong(name: str, arguments: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await Service().call_tool(name, arguments, timeout=5)


async def test_requests_are_routed_to_its_tools(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(plugin,))
    assert [s.name for s in orch.services] == [plugin.NAME]
    analysis = await orch.analyze("How many days between 2024-01-01 and 2024-03-01?")
    assert plugin.NAME in analysis.services
    assert "days_between" in analysis.tools


async def test_a_model_calls_its_tool(make_orchestrator: Any) -> None:
    from dynamic_orchestrator_testing.fakes import EchoProvider

    # The echo provider calls the tool named in a [call:NAME] marker, then echoes the result.
    echo = EchoProvider("gemini")
    orch = await make_orchestrator(plugins=(plugin,), providers=(echo,))
    result = await orch.orchestrate("[call:current_time] What time is it now in UTC?")
    assert result.status == "completed", result.error
    assert plugin.NAME in result.analysis.services
    assert len(echo.calls) == 2  # the tool call, then the answer with the tool's result
    assert f'tool="current_time" service="{plugin.NAME}"' in echo.calls[1].messages[-1].content
