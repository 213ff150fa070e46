"""Fixtures: real downstream MCP servers (the four reference servers, and a probe server)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.plugins import make_plugin_manager
from dynamic_orchestrator_mcp_services.testing import (
    NpmUnavailableError,
    install_npm_servers,
    reference_services,
)
from dynamic_orchestrator_testing.pytest_plugin import default_plugins

PROBE_SERVER = Path(__file__).parent / "servers" / "probe_server.py"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def probe_service(**extra: Any) -> dict[str, Any]:
    """An ``mcp_services`` entry running the probe server as a stdio child."""
    return {"command": [sys.executable, str(PROBE_SERVER)], **extra}


@pytest.fixture(scope="session")
def npm_servers() -> Path:
    """The pinned npm MCP servers, installed once; skipped without node/npm (not in CI)."""
    try:
        return install_npm_servers()
    except NpmUnavailableError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but {exc}")
        pytest.skip(f"{exc}: install Node.js 20+ to run the tests against the npm MCP servers")
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"npm install of the MCP servers failed: {exc.stderr}")


@pytest.fixture(scope="session")
def reference_config(npm_servers: Path, tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A configuration with the four reference servers as ``mcp_services``."""
    work = tmp_path_factory.mktemp("reference")
    return parse_config({"mcp_services": reference_services(work, npm_servers)}, "reference")


async def start_orchestrator(config: Config, *plugins: object) -> Orchestrator:
    """An initialized orchestrator with the default plugins (this one included) and ``plugins``."""
    pm = make_plugin_manager(load_entrypoints=False)
    for name, module in default_plugins():
        pm.register(module, name=name)
    for plugin in plugins:
        pm.register(plugin)
    orch = Orchestrator(config, plugin_manager=pm)
    await orch.initialize()
    return orch


@pytest.fixture
async def orchestrator_factory() -> AsyncIterator[Any]:
    """``await make(config, *plugins)``: started orchestrators, closed after the test."""
    built: list[Orchestrator] = []

    async def make(config: Config, *plugins: object) -> Orchestrator:
        orch = await start_orchestrator(config, *plugins)
        built.append(orch)
        return orch

    try:
        yield make
    finally:
        for orch in built:
            await orch.close()
