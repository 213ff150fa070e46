"""Each front door imports only what its command or request needs.

Run in fresh interpreters with every default and extra plugin installed (the development
environment): the heavy stacks (the provider SDKs, the ``mcp`` SDK, numpy, genai-prices'
bundled data, structlog, prometheus_client, the stemmer, OpenTelemetry and its protobuf)
stay out until something uses them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "openai",
    "anthropic",
    "google.genai",
    "mcp",
    "mcp_types",
    "numpy",
    "genai_prices.data",
    "structlog",
    "prometheus_client",
    "snowballstemmer",
    "httpx",
    "starlette",
    "uvicorn",
    "pydantic_settings",
    "google.protobuf",
    "opentelemetry",
)


def _imported(code: str) -> set[str]:
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _cli(*args: str) -> str:
    return (
        "from dynamic_orchestrator.cli import cli\n"
        f"try:\n    cli({list(args)!r}, standalone_mode=False)\nexcept SystemExit:\n    pass"
    )


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import dynamic_orchestrator", id="import"),
        pytest.param(_cli("--version"), id="--version"),
        pytest.param(_cli("analyze", "Refactor the authentication module"), id="analyze"),
        pytest.param(_cli("models"), id="models"),
        pytest.param(_cli("plugins"), id="plugins"),
        # found through its entry point: no other plugin's commands (the router's numpy)
        pytest.param(_cli("serve", "--help"), id="serve --help"),
        pytest.param(
            "import anyio\n"
            "from dynamic_orchestrator import Orchestrator\n"
            "async def go():\n"
            "    async with Orchestrator() as orch:\n"
            "        await orch.analyze('Where is the JWT secret loaded from?')\n"
            "anyio.run(go)",
            id="library analyze",
        ),
    ],
)
def test_heavy_stacks_stay_out(code: str) -> None:
    assert _imported(code) == set()


def test_version_imports_no_pydantic_nor_the_contract() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['dynamic-orchestrator', '--version']\n"
        "from dynamic_orchestrator.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pydantic', 'dynamic_orchestrator.contract') if m in sys.modules))"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_recorded_request_builds_the_installed_metrics_sinks_only() -> None:
    imported = _imported(
        "import anyio\n"
        "from dynamic_orchestrator import Orchestrator\n"
        "async def go():\n"
        "    async with Orchestrator() as orch:\n"
        "        await orch.orchestrate('Create a REST API for user management')\n"
        "anyio.run(go)"
    )
    assert imported == {"prometheus_client"}  # the Prometheus sink counts the request


def test_the_mcp_server_imports_the_mcp_sdk_but_no_provider_sdk() -> None:
    imported = _imported("import dynamic_orchestrator_mcp_server.server")
    assert "mcp" in imported
    assert imported.isdisjoint({"openai", "anthropic", "google.genai", "numpy"})
