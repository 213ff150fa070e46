"""Shared state through the real Redis server: two plugin states in one process, as two
orchestrator processes would hold them (the multi-process test is test_processes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import dynamic_orchestrator_breaker
import pytest
import structlog
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.plugins import make_plugin_manager
from dynamic_orchestrator_breaker import Permit, Resilience
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_testing.pytest_plugin import default_plugins

from .helpers import Providers, free_port, make_config

pytestmark = pytest.mark.redis


def shared_config(url: str, prefix: str, **sections: Any) -> Config:
    return make_config(
        ["m-small", "m-small2"], redis={"url": url, "key_prefix": prefix}, **sections
    )


@pytest.fixture
async def two_orchestrators(redis_url: str, redis_prefix: str) -> AsyncIterator[Callable[..., Any]]:
    """``await pair(**sections)``: two orchestrators on their own plugin managers, one Redis."""
    opened: list[Orchestrator] = []

    async def pair(**sections: Any) -> list[tuple[Orchestrator, EchoProvider]]:
        out = []
        for _ in range(2):
            pm = make_plugin_manager(load_entrypoints=False)
            for name, module in default_plugins():
                pm.register(module, name=name)
            pm.register(dynamic_orchestrator_breaker, name="breaker")
            echo = EchoProvider("echo")
            pm.register(Providers(echo, EchoProvider("echo2")))
            orch = Orchestrator(
                shared_config(redis_url, redis_prefix, **sections), plugin_manager=pm
            )
            await orch.initialize()
            opened.append(orch)
            out.append((orch, echo))
        return out

    try:
        yield pair
    finally:
        for orch in opened:
            await orch.close()


def state(orch: Orchestrator) -> Resilience:
    found = dynamic_orchestrator_breaker.state(orch)
    assert found is not None
    return found


async def test_a_breaker_opened_by_one_is_honoured_by_the_other(two_orchestrators: Any) -> None:
    (a, echo_a), (b, echo_b) = await two_orchestrators(circuit_breaker={"minimum_calls": 1})
    echo_a.fail(ErrorKind.TRANSIENT, ErrorKind.TRANSIENT)
    first = await a.orchestrate("Show the contents of config.yaml")
    assert first.model == "m-small2"
    result = await b.orchestrate("Show the contents of other.yaml")
    assert result.model == "m-small2" and echo_b.calls == []
    assert result.attempts[0].outcome == "skipped"
    assert "failure rate 1/1" in (result.attempts[0].error or "")
    assert (await b.metrics("5m")).circuit_breakers["m-small"] == "open"


async def test_exactly_the_probes_get_through_across_both(two_orchestrators: Any) -> None:
    breaker = {"minimum_calls": 1, "open_duration": 0.3, "half_open_probes": 2}
    (a, _), (b, _) = await two_orchestrators(circuit_breaker=breaker)
    ra, rb = state(a).breakers, state(b).breakers
    assert ra is not None and rb is not None
    permit = await ra.acquire("m-small", probe_ttl=10)
    assert isinstance(permit, Permit)
    await ra.failure("m-small", permit, 0.0, ProviderError(ErrorKind.TRANSIENT, "x"), list)
    assert not isinstance(await rb.acquire("m-small", probe_ttl=10), Permit)  # open for b too
    await anyio.sleep(0.35)
    granted: list[tuple[str, Permit]] = []

    async def ask(name: str, registry: Any) -> None:
        got = await registry.acquire("m-small", probe_ttl=10)
        if isinstance(got, Permit):
            granted.append((name, got))

    async with anyio.create_task_group() as group:
        for i in range(20):
            group.start_soon(ask, "a" if i % 2 else "b", ra if i % 2 else rb)
    assert len(granted) == 2 and all(p.probe for _, p in granted)
    for name, probe in granted:
        await (ra if name == "a" else rb).success("m-small", probe, 0.01)
    # The episode closed where both probes succeeded; the other side learns it from Redis.
    for registry in (ra, rb):
        got = await registry.acquire("m-small", probe_ttl=10)
        assert isinstance(got, Permit) and not got.probe
        assert registry.breaker("m-small").state == "closed"


async def test_a_response_cached_by_one_is_a_hit_for_the_other(two_orchestrators: Any) -> None:
    cache = {"enabled": True, "ttl": 30, "backend": "redis"}
    (a, echo_a), (b, echo_b) = await two_orchestrators(cache=cache)
    first = await a.orchestrate("Summarise the README", {"repo": "x"})
    second = await b.orchestrate("summarise  the readme", {"repo": "x"})
    assert len(echo_a.calls) == 1 and echo_b.calls == []
    assert second.cached and second.output == first.output and second.cost_usd == 0.0


async def test_the_period_budget_is_one_total_for_both(two_orchestrators: Any) -> None:
    budget = {"period": "1h", "limit_usd": 0.01}
    (a, echo_a), (b, _) = await two_orchestrators(budget=budget)
    echo_a.cost_usd = 0.01
    assert (await a.orchestrate("Show the contents of config.yaml")).status == "completed"
    refused = await b.orchestrate("Show the contents of other.yaml")
    assert refused.status == "failed" and "budget exceeded: $0.010000 spent" in (
        refused.error or ""
    )


async def test_unreachable_redis_falls_back_to_local_state_and_says_so_once(
    resilient: Any, echo: EchoProvider
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    config = make_config(
        ["m-small", "m-small2"],
        redis={"url": url, "retry_interval": 60},
        circuit_breaker={"minimum_calls": 1},
        cache={"enabled": True, "backend": "redis"},
        budget={"period": "1d", "limit_usd": 5},
    )
    with structlog.testing.capture_logs() as logs:
        orch = await resilient(config)
        echo.fail(ErrorKind.TRANSIENT, ErrorKind.TRANSIENT)
        results = [await orch.orchestrate(f"Show the contents of f{i}.yaml") for i in range(5)]
        again = await orch.orchestrate("Show the contents of f0.yaml")
    assert all(r.status == "completed" for r in results)
    assert results[1].attempts[0].outcome == "skipped"  # the local breaker opened
    assert again.cached  # the local cache served
    down = [e for e in logs if e["event"] == "redis_unavailable"]
    assert len(down) == 1 and down[0]["fallback"] == "local state until it is back"
    report = await state(orch).health()
    assert report["redis"]["state"].startswith("local fallback: unreachable")


async def test_killing_redis_mid_run_loses_no_request(
    resilient: Any, echo: EchoProvider, own_redis: Any
) -> None:
    proc, url = own_redis
    config = make_config(
        ["m-small", "m-small2"],
        redis={"url": url, "retry_interval": 0.2, "timeout": 0.2},
        cache={"enabled": True, "backend": "redis"},
        budget={"period": "1d", "limit_usd": 100},
    )
    orch = await resilient(config)
    echo.delay = 0.01
    results: list[Any] = []

    async def one(i: int) -> None:
        results.append(await orch.orchestrate(f"Show the contents of file{i}.yaml"))

    async with anyio.create_task_group() as group:
        for i in range(200):
            group.start_soon(one, i)
            if i == 100:
                proc.kill()
            await anyio.sleep(0.001)
    assert len(results) == 200
    assert all(r.status == "completed" for r in results), [r.error for r in results]
    assert not state(orch).shared.reachable


async def test_a_burst_keeps_redis_shared_and_the_budget_exact(
    redis_url: str, redis_prefix: str, resilient: Any, echo: EchoProvider
) -> None:
    import redis.asyncio as aioredis

    config = make_config(
        ["m-small", "m-small2"],
        redis={"url": redis_url, "key_prefix": redis_prefix, "max_connections": 20},
        budget={"period": "1d", "limit_usd": 1000},
    )
    orch = await resilient(config)
    echo.cost_usd = 0.001
    results: list[Any] = []

    async def one(i: int) -> None:
        results.append(await orch.orchestrate(f"Show the contents of file{i}.yaml"))

    async with anyio.create_task_group() as group:
        for i in range(400):
            group.start_soon(one, i)
    shared = state(orch).shared
    assert all(r.status == "completed" for r in results)
    assert (shared.degradations, shared.local_calls) == (0, 0)  # never went local
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [k async for k in client.scan_iter(f"{redis_prefix}budget:*")]
        total = sum([float(await client.get(k) or 0) for k in keys])
    finally:
        await client.aclose()
    assert total == pytest.approx(400 * 0.001, rel=1e-9)  # each charge sent exactly once
    report = await state(orch).health()
    assert report["redis"]["went_local"] == 0 and report["redis"]["max_connections"] == 20


async def test_a_timeout_while_the_event_loop_was_late_is_not_taken_for_redis_down(
    redis_url: str, redis_prefix: str
) -> None:
    import time

    from dynamic_orchestrator_breaker import SharedState
    from dynamic_orchestrator_breaker.settings import RedisConfig

    settings = RedisConfig(url=redis_url, key_prefix=redis_prefix, timeout=0.2)
    key = f"{redis_prefix}nothing"

    async def wait_on_redis(client: Any) -> Any:
        return await client.blpop([key], timeout=0.05)  # Redis answers after 50 ms

    async def hold_the_loop() -> None:
        await anyio.sleep(0.01)
        time.sleep(0.6)  # a burst's work, say: the reply waits in the socket meanwhile

    shared = SharedState(settings)
    try:
        assert await shared.run(lambda client: client.ping()) is True
        async with anyio.create_task_group() as group:
            group.start_soon(hold_the_loop)
            late = await shared.run(wait_on_redis)
        assert late is dynamic_orchestrator_breaker.DOWN
        assert (shared.late_loop_timeouts, shared.degradations) == (1, 0)
        assert await shared.run(lambda client: client.ping()) is True  # not put off
        assert shared.status()["state"] == "reachable"

        async def redis_slow(client: Any) -> Any:
            return await client.blpop([key], timeout=1)  # slower than the 0.2 s timeout

        assert await shared.run(redis_slow) is dynamic_orchestrator_breaker.DOWN
        assert (shared.late_loop_timeouts, shared.degradations) == (1, 1)  # that one counts
    finally:
        await shared.close()
