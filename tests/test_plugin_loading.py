"""Entry-point discovery with real installed plugin distributions, in a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "plugin_fixtures"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install the fixture plugin distributions into a target directory."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to build the fixture plugins")
    target = tmp_path_factory.mktemp("site")
    for name in ("good", "broken", "misspelt"):
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(target),
                "--python",
                sys.executable,
                str(FIXTURES / name),
            ],
            check=True,
        )
    return target


def run_cli(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(site), **env}
    for key in list(environment):
        if key.startswith("DYNAMIC_ORCHESTRATOR_") and key not in env:
            del environment[key]
    return subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def test_installed_plugin_is_discovered_listed_and_used(plugin_site: Path) -> None:
    listing = run_cli(plugin_site, "plugins", "--json")
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    by_name = {p["name"]: p for p in data["plugins"]}
    assert by_name["good"]["distribution"] == "do-test-good"
    assert by_name["good"]["version"] == "1.2.3"
    assert by_name["good"]["hooks"] == ["classify"]
    for default in ("rules", "tiers", "compact"):
        assert default in by_name
    # The installed plugin wins over the trylast default classifier.
    analysis = run_cli(plugin_site, "analyze", "good-plugin: show the readme", "--json")
    assert analysis.returncode == 0, analysis.stderr
    result = json.loads(analysis.stdout)
    assert result["intent"] == "search"
    assert "good-plugin marker" in " ".join(result["reasons"])


def test_broken_plugins_do_not_stop_the_host(plugin_site: Path) -> None:
    listing = run_cli(plugin_site, "plugins", "--json")
    data = json.loads(listing.stdout)
    failed = {f["name"]: f["error"] for f in data["failed"]}
    assert "this plugin is broken on purpose" in failed["broken"]
    assert "unknown hook(s) clasify" in failed["misspelt"]
    assert "misspelt" not in {p["name"] for p in data["plugins"]}
    # the warning names the plugin, on stderr
    assert "broken" in listing.stderr
    # and requests still work
    assert run_cli(plugin_site, "analyze", "show the readme").returncode == 0


def test_strict_mode_reraises_with_the_plugin_name(plugin_site: Path) -> None:
    result = run_cli(plugin_site, "plugins", DYNAMIC_ORCHESTRATOR_STRICT_PLUGINS="1")
    assert result.returncode != 0
    assert "plugin 'broken' failed to load" in result.stderr


def test_allow_list_and_block_list(plugin_site: Path) -> None:
    allowed = run_cli(
        plugin_site, "plugins", "--json", DYNAMIC_ORCHESTRATOR_LOAD_PLUGINS="good,tiers"
    )
    names = {p["name"] for p in json.loads(allowed.stdout)["plugins"]}
    assert names == {"good", "tiers"}
    # matching by distribution name works too
    by_dist = run_cli(
        plugin_site, "plugins", "--json", DYNAMIC_ORCHESTRATOR_LOAD_PLUGINS="do-test-good"
    )
    assert {p["name"] for p in json.loads(by_dist.stdout)["plugins"]} == {"good"}
    blocked = run_cli(
        plugin_site,
        "plugins",
        "--json",
        DYNAMIC_ORCHESTRATOR_DISABLE_PLUGINS="good,broken,misspelt",
    )
    data = json.loads(blocked.stdout)
    assert "good" not in {p["name"] for p in data["plugins"]}
    assert data["failed"] == []
    none = run_cli(plugin_site, "plugins", "--json", DYNAMIC_ORCHESTRATOR_LOAD_PLUGINS="")
    assert json.loads(none.stdout)["plugins"] == []


def test_tracing_logs_hook_calls_to_stderr(plugin_site: Path) -> None:
    result = run_cli(
        plugin_site,
        "analyze",
        "show the readme",
        "--json",
        DYNAMIC_ORCHESTRATOR_TRACE_PLUGINS="1",
        DYNAMIC_ORCHESTRATOR_DISABLE_PLUGINS="broken,misspelt",
        LOG_LEVEL="INFO",
    )
    assert result.returncode == 0, result.stderr
    assert "hook_call" in result.stderr and "classify" in result.stderr
    json.loads(result.stdout)  # stdout stays clean JSON
