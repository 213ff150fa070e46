"""A plugin that hangs at a boundary that can wait ends within its timeout, named."""

from __future__ import annotations

import time
from typing import Any

import anyio
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_testing.fakes import EchoProvider


class HangingStartup:
    @hookimpl
    async def startup(self, orchestrator: Any) -> None:
        await anyio.sleep_forever()


class HangingExecute:
    @hookimpl(tryfirst=True)
    def execute(self, context: Any) -> Any:
        return anyio.sleep_forever()


class ColdProvider(EchoProvider):
    """A provider whose warm-up never finishes."""

    async def warm(self) -> None:
        await anyio.sleep_forever()


def providers(*items: EchoProvider) -> object:
    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            for item in items:
                register(item)

    return Plugin()


async def test_a_hanging_startup_is_cut_at_its_timeout_and_named(make_orchestrator: Any) -> None:
    config = parse_config({"plugins": {"startup_timeout": 0.2}})
    hanging = HangingStartup()
    with anyio.fail_after(10):  # start-up goes on past the hanging plugin
        orch = await make_orchestrator(config, plugins=(hanging,))
        errors = await orch.hooks.startup(orch, 0.2)
    [error] = errors
    assert isinstance(error, TimeoutError)
    assert str(error) == f"plugin {orch.pm.get_name(hanging)}: startup did not finish within 0.2s"


async def test_a_hanging_execute_fails_the_request_at_its_timeout_naming_the_plugins(
    make_orchestrator: Any,
) -> None:
    config = parse_config({"use_claude_code": False, "plugins": {"execute_timeout": 0.2}})
    hanging = HangingExecute()
    orch = await make_orchestrator(
        config, plugins=(providers(EchoProvider("gemini", prices_provider="google")), hanging)
    )
    name = orch.pm.get_name(hanging)
    with anyio.fail_after(10):
        result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "failed"
    assert "execute did not finish within 0.2s" in (result.error or "")
    assert name is not None and name in (result.error or "")
    assert result.plan is not None  # the client can still run the plan itself


async def test_a_provider_whose_warm_up_hangs_is_named_and_the_chain_moves_on(
    make_orchestrator: Any,
) -> None:
    config = parse_config(
        {
            "use_claude_code": False,
            "retry": {"attempts": 1},
            "providers": {"gemini": {"timeout": 0.2}},
        }
    )
    orch = await make_orchestrator(
        config,
        plugins=(
            providers(ColdProvider("gemini", prices_provider="google"), EchoProvider("openai")),
        ),
    )
    with anyio.fail_after(10):
        result = await orch.orchestrate("Show the contents of config.yaml")
    first = result.attempts[0]
    assert first.provider == "gemini" and first.outcome == "error"
    assert "provider gemini: warm() did not finish within 0.2s" in (first.error or "")
    assert result.status == "completed" and result.model == "gpt-5-nano"


class BlockingProvider(EchoProvider):
    """A provider that blocks the event loop (a synchronous sleep in an async call)."""

    async def complete(self, call: Any) -> Any:
        time.sleep(0.6)
        return await super().complete(call)


async def test_a_provider_blocking_the_event_loop_is_named_by_the_watchdog(
    make_orchestrator: Any,
) -> None:
    config = parse_config({"use_claude_code": False, "plugins": {"loop_block_warning": 0.2}})
    orch = await make_orchestrator(
        config, plugins=(providers(BlockingProvider("gemini", prices_provider="google")),)
    )
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed"
    await anyio.sleep(0.3)  # the watchdog reads the stack while the loop is blocked
    assert orch.watchdog is not None
    [block] = [b for b in orch.watchdog.reports if b.culprit == "provider gemini"]
    assert "in complete" in block.where and block.seconds >= 0.2
