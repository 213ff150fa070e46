"""Retries: a model's first try runs outside the retry loop, and the waits between tries
are the same jittered exponential back-off (or the provider's ``Retry-After``) as when
every try ran inside it."""

from __future__ import annotations

import asyncio
import random
import sys
from typing import Any

import anyio
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_testing.pytest_plugin import provider_plugin


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep the retries ask for (the host's first wait and tenacity's), each at the
    top of its jitter window and not slept; any other sleep in the process is left alone."""
    asked: list[float] = []
    real = asyncio.sleep

    async def sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
        callers = {sys._getframe(depth).f_code.co_filename for depth in range(1, 4)}
        if any("tenacity" in name or name.endswith("execution.py") for name in callers):
            asked.append(round(seconds, 6))
            return await real(0)
        return await real(seconds, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    monkeypatch.setattr(anyio, "sleep", sleep)
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    return asked


async def _orchestrate(make_orchestrator: Any, echo: EchoProvider, attempts: int) -> Any:
    config = parse_config({"retry": {"attempts": attempts, "initial_wait": 1.0, "max_wait": 100.0}})
    orch = await make_orchestrator(config, plugins=(provider_plugin(echo),))
    return await orch.orchestrate("say hi", options={"model": "gpt-5-nano"})


async def test_the_waits_double_from_the_first_retry(
    make_orchestrator: Any, waits: list[float]
) -> None:
    transient = ErrorKind.TRANSIENT
    echo = EchoProvider("openai").fail(transient, transient, transient, None)
    result = await _orchestrate(make_orchestrator, echo, attempts=4)
    assert result.status == "completed"
    assert len(echo.calls) == 4
    assert waits == [1.0, 2.0, 4.0]


async def test_a_retry_after_is_waited_as_given(make_orchestrator: Any, waits: list[float]) -> None:
    limited = ProviderError(ErrorKind.TRANSIENT, "busy", provider="openai", retry_after=0.25)
    echo = EchoProvider("openai").fail(limited, None)
    result = await _orchestrate(make_orchestrator, echo, attempts=3)
    assert result.status == "completed"
    assert waits == [0.25]


async def test_no_wait_and_no_second_try_when_the_first_succeeds(
    make_orchestrator: Any, waits: list[float]
) -> None:
    echo = EchoProvider("openai")
    result = await _orchestrate(make_orchestrator, echo, attempts=4)
    assert result.status == "completed" and len(echo.calls) == 1
    assert waits == []


async def test_the_tries_stop_at_the_configured_number(
    make_orchestrator: Any, waits: list[float]
) -> None:
    transient = ErrorKind.TRANSIENT
    echo = EchoProvider("openai").fail(*[transient] * 5)
    result = await _orchestrate(make_orchestrator, echo, attempts=3)
    assert result.status == "failed"
    assert len(echo.calls) == 3
    assert waits == [1.0, 2.0]
