"""The host finds this plugin through its entry point (the plugin must be installed:
``pip install -e ".[test]"``)."""

import json
import os
import subprocess
import sys

ENTRY_POINT = "{{ cookiecutter.entry_point }}"
DISTRIBUTION = "{{ cookiecutter.project_slug }}"


def test_the_host_lists_this_plugin() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNAMIC_ORCHESTRATOR_")}
    listing = subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    data = json.loads(listing.stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    failed = {f["name"]: f["error"] for f in data["failed"]}
    assert ENTRY_POINT not in failed, f"the plugin failed to load: {failed.get(ENTRY_POINT)}"
    assert ENTRY_POINT in plugins, f"not installed? run pip install -e . (found {sorted(plugins)})"
    assert plugins[ENTRY_POINT]["distribution"] == DISTRIBUTION
    assert plugins[ENTRY_POINT]["hooks"], "the plugin implements no hook"
