"""A child that crashes is restarted with backoff; a service that cannot start never blocks
start-up; shutdown ends every child."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import anyio
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_mcp_services import McpService, ServiceError

from .conftest import probe_service

FAST = {"backoff_initial": 0.1, "backoff_max": 0.5, "startup_wait": 20}


def _config(services: dict[str, Any], **settings: Any) -> Any:
    return parse_config(
        {"mcp_services": services, "plugins": {"settings": {"mcp_services": settings}}}
    )


async def _wait_ready(service: McpService, timeout: float = 20) -> None:
    with anyio.fail_after(timeout):
        while service.state != "ready":
            await anyio.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_crashed_child_is_restarted(orchestrator_factory: Any) -> None:
    orch = await orchestrator_factory(_config({"probe": probe_service()}, **FAST))
    probe = orch.services[0]
    assert isinstance(probe, McpService)
    first = int(await probe.call_tool("process_id", {}, timeout=20))

    with pytest.raises(ServiceError, match="closed the connection"):
        await probe.call_tool("crash", {}, timeout=20)

    # A call made while the child is down waits for the restarted one.
    second = int(await probe.call_tool("process_id", {}, timeout=20))
    assert second != first
    assert not _alive(first)
    assert probe.restarts == 1 and probe.state == "ready"
    assert probe.last_error is None
    assert probe.known_tools()[0].name == "environment"


async def test_a_child_killed_from_outside_is_restarted(orchestrator_factory: Any) -> None:
    orch = await orchestrator_factory(_config({"probe": probe_service()}, **FAST))
    probe = orch.services[0]
    first = int(await probe.call_tool("process_id", {}, timeout=20))
    os.kill(first, 9)
    with anyio.fail_after(20):
        while probe.restarts < 1:  # noticed without any call: its stdout ended
            await anyio.sleep(0.05)
    await _wait_ready(probe)
    assert int(await probe.call_tool("process_id", {}, timeout=20)) != first


async def test_a_service_that_cannot_start_does_not_block_start_up(
    orchestrator_factory: Any,
) -> None:
    config = _config(
        {
            "broken": {"command": ["/nonexistent/mcp-server"], "capabilities": ["read"]},
            "crashing": {"command": [sys.executable, "-c", "raise SystemExit(1)"]},
            "probe": probe_service(),
        },
        **FAST,
    )
    started = time.perf_counter()
    orch = await orchestrator_factory(config)
    # Start-up returned once the working service was ready, well before the wait's cap:
    # the two that can never start did not hold it (timed against the cap, not a clock
    # budget, so a loaded machine's slow child start does not fail it).
    assert time.perf_counter() - started < FAST["startup_wait"]
    services = {s.name: s for s in orch.services}
    assert services["probe"].state == "ready"
    for name in ("broken", "crashing"):
        assert services[name].state in {"restarting", "connecting"}
        assert services[name].known_tools() == []
    assert "FileNotFoundError" in (services["broken"].last_error or "")
    with anyio.fail_after(10):
        while services["broken"].restarts < 3:  # retried with backoff, in the background
            await anyio.sleep(0.05)
    result = await orch.analyze("read the notes file")
    assert any("tools not listed yet (connecting): broken, crashing" in r for r in result.reasons)
    with pytest.raises(ServiceError, match="has no tool"):  # nothing was ever listed
        await services["broken"].call_tool("anything", {}, timeout=0.5)


async def test_shutdown_ends_the_children(orchestrator_factory: Any) -> None:
    orch = await orchestrator_factory(_config({"a": probe_service(), "b": probe_service()}))
    pids = [int(await s.call_tool("process_id", {}, timeout=20)) for s in orch.services]
    await orch.close()
    assert all(s.state == "stopped" for s in orch.services)
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(ServiceError, match="not running"):
        await orch.services[0].call_tool("process_id", {}, timeout=5)
