"""The commands this distribution adds to ``dynamic-orchestrator``, and how they are found."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import dynamic_orchestrator_mcp_server as plugin
import pytest
from click.testing import CliRunner
from dynamic_orchestrator.cli import cli
from dynamic_orchestrator.plugins import COMMAND_GROUP, GROUP, command_entry_point


def registered() -> dict[str, object]:
    found: dict[str, object] = {}
    plugin.register_commands(lambda command: found.setdefault(command.name or "", command))
    return found


def test_register_commands_gives_serve_gateway_and_claude() -> None:
    assert sorted(registered()) == ["claude", "gateway", "serve"]


def test_the_entry_points_name_the_same_commands_as_the_hook() -> None:
    declared = {
        ep.name: ep.load()
        for ep in metadata.entry_points(group=COMMAND_GROUP)
        if ep.dist is not None and ep.dist.name == "dynamic-orchestrator-mcp-server"
    }
    assert declared == registered()


def test_serve_is_found_without_loading_the_other_plugins_commands() -> None:
    probe = (
        "import sys\n"
        "from dynamic_orchestrator.cli import cli\n"
        "try:\n    cli(['serve', '--help'], standalone_mode=False)\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('dynamic_orchestrator_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[-1]
    assert loaded == str(
        ["dynamic_orchestrator_mcp_server", "dynamic_orchestrator_mcp_server.commands"]
    )


def test_a_disabled_server_plugin_takes_its_commands_along(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMIC_ORCHESTRATOR_DISABLE_PLUGINS", "mcp-server")
    monkeypatch.setattr(cli, "_plugin_commands", None)  # found again, under this environment
    assert command_entry_point("serve") is None
    done = CliRunner().invoke(cli, ["serve"])
    assert done.exit_code == 2
    assert "pip install dynamic-orchestrator-mcp-server" in done.output


def test_an_allow_list_without_the_server_leaves_serve_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMIC_ORCHESTRATOR_LOAD_PLUGINS", "rules,tiers")
    assert command_entry_point("serve") is None
    monkeypatch.setenv("DYNAMIC_ORCHESTRATOR_LOAD_PLUGINS", "rules,mcp-server")
    entry_point = command_entry_point("serve")
    assert entry_point is not None
    assert entry_point.dist is not None
    assert any(ep.group == GROUP for ep in entry_point.dist.entry_points)
