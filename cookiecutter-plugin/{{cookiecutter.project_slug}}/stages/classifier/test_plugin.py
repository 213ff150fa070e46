"""The keyword classifier: on its own, then deciding requests in a real orchestrator."""

from typing import Any

import pytest
from dynamic_orchestrator.models import Request

import {{ cookiecutter.package_name }} as plugin


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Audit the payment module", "analyze"),
        ("Please DEPLOY the release", "manage"),
        ("grep the logs for timeouts", "search"),
    ],
)
def test_a_keyword_decides_the_intent(text: str, intent: str) -> None:
    result = plugin.classify(Request(text=text))
    assert result is not None
    assert result.intent == intent
    assert result.confidence == plugin.CONFIDENCE
    assert result.reasons and "keyword" in result.reasons[0]


def test_other_requests_are_left_to_other_plugins() -> None:
    assert plugin.classify(Request(text="What does the README say?")) is None
    assert plugin.classify(Request(text="auditorium seating")) is None  # whole words only


def test_the_hook_answers_through_a_plugin_manager(
    plugin_manager: Any, register_plugin: Any
) -> None:
    register_plugin(plugin, "{{ cookiecutter.entry_point }}")
    result = plugin_manager.hook.classify(
        request=Request(text="rollback yesterday's deploy"), host=None
    )
    assert result.intent == "manage"


@pytest.mark.anyio
async def test_an_orchestrator_uses_it_before_the_default(make_orchestrator: Any) -> None:
    orch = await make_orchestrator(plugins=(plugin,))
    analysis = await orch.analyze("Audit the payment module")
    assert analysis.intent == "analyze"
    assert any("keyword 'audit'" in reason for reason in analysis.reasons)
    # Without a keyword, the default classifier decides.
    other = await orch.analyze("Find all usages of parse()")
    assert not any("keyword" in reason for reason in other.reasons)
