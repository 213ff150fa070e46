"""The fixtures plugin authors get from ``dynamic_orchestrator_testing.pytest_plugin``."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import IntentResult
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_testing.pytest_plugin import (
    DEFAULT_PLUGINS,
    default_plugins,
    provider_plugin,
)


class Manage:
    @hookimpl
    def classify(self, request: Any) -> IntentResult:
        return IntentResult(intent="manage", confidence=1.0, reasons=["test plugin"])


def test_plugin_manager_loads_no_installed_plugin(plugin_manager: Any) -> None:
    names = {plugin_manager.get_name(p) for p in plugin_manager.get_plugins()}
    assert names == {"dynamic_orchestrator.execution"}  # the host's built-in executor only
    assert plugin_manager.hook.classify.get_hookimpls() == []


def test_register_plugin_registers_for_the_test(plugin_manager: Any, register_plugin: Any) -> None:
    name = register_plugin(Manage(), "manage")
    assert name == "manage"
    assert [i.plugin_name for i in plugin_manager.hook.classify.get_hookimpls()] == ["manage"]


def test_register_plugin_unregisters_even_when_the_test_fails(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        from dynamic_orchestrator import hookimpl
        from dynamic_orchestrator.models import IntentResult

        managers = []

        class Plugin:
            @hookimpl
            def classify(self, request):
                return IntentResult(intent="read", confidence=1.0)

        def test_fails(plugin_manager, register_plugin):
            managers.append(plugin_manager)
            register_plugin(Plugin(), "p")
            assert False, "on purpose"

        def test_after():
            (pm,) = managers
            assert pm.get_plugin("p") is None
            assert pm.hook.classify.get_hookimpls() == []
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)


def test_default_plugins_are_found_by_entry_point() -> None:
    found = dict(default_plugins())
    assert list(found) == list(DEFAULT_PLUGINS)  # every default is installed in this workspace
    assert found["tiers"].__name__ == "dynamic_orchestrator_tiers"  # type: ignore[attr-defined]
    assert default_plugins(["no-such-plugin"]) == []


async def test_make_orchestrator_adds_defaults_plugins_and_providers(
    make_orchestrator: Any,
) -> None:
    echo = EchoProvider("gemini")
    orch = await make_orchestrator(plugins=(Manage(),), providers=(echo,))
    assert orch.providers["gemini"] is echo
    assert set(orch.providers) == {"gemini", "client"}  # client: the default client-model plugin
    result = await orch.orchestrate("what is in the readme?")
    assert result.status == "completed" and result.provider == "gemini"
    assert result.analysis.intent == "manage"
    assert echo.calls and echo.calls[0].model.name == result.model
    # a second orchestrator in the same test reuses the registered plugins
    again = await make_orchestrator(plugins=(Manage(),))
    assert (await again.analyze("list the files")).intent == "manage"


async def test_make_orchestrator_without_defaults_says_what_is_missing(
    make_orchestrator: Any,
) -> None:
    from dynamic_orchestrator.errors import NoImplementationError

    orch = await make_orchestrator(Config(), defaults=False)
    with pytest.raises(NoImplementationError, match="no plugin implements 'classify'"):
        await orch.analyze("show the readme")


def test_fake_provider_server_is_reset_for_each_test(fake_provider_server: Any) -> None:
    assert fake_provider_server.requests == []
    assert fake_provider_server.pending("openai") == 0
    fake_provider_server.script("openai", fs.rate_limit(retry_after=3))
    reply = httpx2.post(
        f"{fake_provider_server.openai_base_url}/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert reply.status_code == 429 and reply.headers["retry-after"] == "3"
    fake_provider_server.script("openai", fs.server_error())  # left pending on purpose


def test_fake_provider_server_forgot_the_previous_test(fake_provider_server: Any) -> None:
    assert fake_provider_server.requests == []
    assert fake_provider_server.pending("openai") == 0
    reply = httpx2.post(
        f"{fake_provider_server.openai_base_url}/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert reply.json()["choices"][0]["message"]["content"] == "echo: hi"


async def test_provider_plugin_registers_each_provider(make_orchestrator: Any) -> None:
    first, second = EchoProvider("openai"), EchoProvider("anthropic")
    orch = await make_orchestrator(plugins=(provider_plugin(first, second),), defaults=False)
    assert orch.providers == {"openai": first, "anthropic": second}
