"""Fixtures: orchestrators with the breaker plugin on echo providers, and Redis servers."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import dynamic_orchestrator_breaker
import pytest
from dynamic_orchestrator.config import Config
from dynamic_orchestrator_testing.fakes import EchoProvider

from .helpers import REDIS_URL, Providers, free_port, reachable


@pytest.fixture
def echo() -> EchoProvider:
    return EchoProvider("echo")


@pytest.fixture
def echo2() -> EchoProvider:
    return EchoProvider("echo2")


@pytest.fixture
def providers(echo: EchoProvider, echo2: EchoProvider) -> Providers:
    return Providers(echo, echo2)


@pytest.fixture
async def resilient(make_orchestrator: Any, providers: Providers) -> AsyncIterator[Any]:
    """``await resilient(config)``: an orchestrator with the breaker plugin and both echoes."""

    async def make(config: Config, *extra: object) -> Any:
        return await make_orchestrator(
            config, plugins=(dynamic_orchestrator_breaker, providers, *extra)
        )

    yield make


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis at 127.0.0.1:6379; skipped when absent (failed under CI=true)."""
    if not reachable("127.0.0.1", 6379):
        message = "no Redis server at 127.0.0.1:6379"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: Redis tests must run)")
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    import redis

    prefix = f"do-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def own_redis(redis_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of this test's own on a free port, so that it can be killed."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", port):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"redis-server on port {port} did not start")
            time.sleep(0.05)
        yield proc, f"redis://127.0.0.1:{port}/0"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
