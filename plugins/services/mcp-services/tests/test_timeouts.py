"""A service that hangs: the call ends at the service's own timeout, with the service named."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_mcp_services.settings import ServiceConfig
from pydantic import ValidationError

from .conftest import probe_service


async def _hanging_call(orchestrator_factory: Any, service: dict[str, Any], timeout: float) -> str:
    orch = await orchestrator_factory(
        parse_config(
            {
                "mcp_services": {"hanging": service},
                "plugins": {"settings": {"mcp_services": {"startup_wait": 20}}},
            }
        )
    )
    (hanging,) = orch.services
    with anyio.fail_after(20), pytest.raises(TimeoutError) as caught:  # a guard, not a figure
        await hanging.call_tool("slow", {"seconds": 120}, timeout=timeout)
    return str(caught.value)


async def test_a_hanging_service_ends_at_its_own_timeout(orchestrator_factory: Any) -> None:
    message = await _hanging_call(orchestrator_factory, probe_service(timeout=0.5), timeout=60)
    assert message == (
        "service 'hanging' did not answer tool 'slow' within 0.5s "
        "(plugins.mcp_services.services.hanging.timeout)"
    )


async def test_without_its_own_timeout_the_tool_timeout_applies(orchestrator_factory: Any) -> None:
    message = await _hanging_call(orchestrator_factory, probe_service(), timeout=0.5)
    assert (
        message == "service 'hanging' did not answer tool 'slow' within 0.5s (tools.tool_timeout)"
    )


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_a_service_timeout_must_be_positive_and_finite(bad: float) -> None:
    with pytest.raises(ValidationError, match="timeout"):
        ServiceConfig.model_validate(probe_service(timeout=bad))
