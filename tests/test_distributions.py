"""Every distribution of the workspace builds alone with pip and installs alone with pip.

Each one is built to a wheel by ``pip wheel`` from its own folder, then installed by
``pip install`` into a fresh virtual environment of its own, with the workspace's wheels
as the only source of the other ``dynamic-orchestrator-*`` distributions (third-party
packages come from the package index, as for a user). The installed host must then list
the plugin, with the hooks it implements, through its entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [ROOT, ROOT / "core", ROOT / "testing", *sorted(ROOT.glob("plugins/*/*"))]


def project(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    return data


def new_env(path: Path, with_pip: bool = False) -> Path:
    """A fresh virtual environment; returns its python."""
    venv.EnvBuilder(with_pip=with_pip).create(path)
    return path / "bin" / "python"


def pip(python: Path, *args: str) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(python), "-m", "pip", "--quiet", *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, f"pip {' '.join(args)}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of an environment with pip and the build backend (hatchling)."""
    if sys.platform == "win32":
        pytest.skip("the test drives POSIX virtual environments")
    python = new_env(tmp_path_factory.mktemp("build") / "env", with_pip=True)
    pip(python, "install", "--upgrade", "pip>=23.1", "hatchling>=1.26")
    return python


@pytest.fixture(scope="module")
def wheels(builder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of every distribution, each built by pip from its own folder alone."""
    out = tmp_path_factory.mktemp("wheels")
    for folder in FOLDERS:
        pip(
            builder,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(folder),
        )
    return out


@pytest.mark.timeout(900)
def test_every_distribution_builds_a_wheel_alone(wheels: Path) -> None:
    built = {path.name.split("-")[0] for path in wheels.glob("*.whl")}
    expected = {project(folder)["name"].replace("-", "_") for folder in FOLDERS}
    assert built == expected


@pytest.mark.timeout(900)
@pytest.mark.parametrize("folder", FOLDERS[1:], ids=lambda f: f.name)
def test_each_plugin_installs_alone_and_is_found(
    builder: Path, wheels: Path, folder: Path, tmp_path: Path
) -> None:
    meta = project(folder)
    name = meta["name"]
    python = new_env(tmp_path / "env")  # no pip of its own: the builder's pip installs
    pip(builder, "--python", str(python), "install", "--find-links", str(wheels), name)
    listing = subprocess.run(
        [str(python), "-m", "dynamic_orchestrator", "plugins", "--json"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("DYNAMIC_ORCHESTRATOR_")},
        cwd=tmp_path,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    entry_points = meta.get("entry-points", {}).get("dynamic_orchestrator", {})
    assert folder.name in ("core", "testing") or entry_points, f"{name} declares no entry point"
    for entry in entry_points:
        assert entry in plugins, f"{name}: plugin {entry} not found; found {sorted(plugins)}"
        assert plugins[entry]["distribution"] == name
        assert plugins[entry]["hooks"], f"{name}: plugin {entry} implements no hook"
    others = {p["distribution"] for p in plugins.values() if not p["builtin"]} - {name}
    # Alone: only what the distribution itself depends on came with it.
    requires = " ".join(meta.get("dependencies", []))
    assert all(other in requires for other in others), others
    # A runtime install brings no test kit, and the host alone no MCP SDK or web stack.
    absent = ["dynamic_orchestrator_testing", "pytest"] if folder.name != "testing" else []
    if folder.name == "core":
        absent += ["dynamic_orchestrator_mcp_server", "mcp", "starlette", "uvicorn"]
    probe = (
        "import importlib.util as u, json, sys; "
        "print(json.dumps([m for m in sys.argv[1:] if u.find_spec(m)]))"
    )
    found = subprocess.run(
        [str(python), "-c", probe, *absent], capture_output=True, text=True, check=True
    )
    assert json.loads(found.stdout) == []
