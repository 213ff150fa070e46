"""Four real MCP servers to test and measure against, started as stdio children.

``@modelcontextprotocol/server-everything`` and ``@modelcontextprotocol/server-filesystem``
(npm, pinned versions that run on Node 20) are installed once into a cache directory;
``mcp-server-git`` and ``mcp-server-time`` (PyPI) run from this Python environment (the
repository's ``dev`` dependency group installs them). Used by this plugin's tests and by
``benchmarks/tool_routing.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

__all__ = [
    "NPM_SERVERS",
    "NpmUnavailableError",
    "install_npm_servers",
    "make_git_repository",
    "reference_services",
]

NPM_SERVERS = {
    "everything": ("@modelcontextprotocol/server-everything", "2026.8.31", "mcp-server-everything"),
    "filesystem": ("@modelcontextprotocol/server-filesystem", "2026.8.31", "mcp-server-filesystem"),
}
"""Service name → (npm package, pinned version, its executable)."""

ENV_NPM_DIR = "DYNAMIC_ORCHESTRATOR_TEST_NPM_DIR"


class NpmUnavailableError(RuntimeError):
    """node or npm is not installed here."""


def _cache_root() -> Path:
    configured = os.environ.get(ENV_NPM_DIR)
    if configured:
        return Path(configured)
    specs = "\n".join(f"{pkg}@{version}" for pkg, version, _ in NPM_SERVERS.values())
    key = hashlib.sha256(specs.encode()).hexdigest()[:12]
    return Path(platformdirs.user_cache_dir("dynamic-orchestrator")) / "mcp-servers" / key


def _bin(root: Path, executable: str) -> Path:
    return root / "node_modules" / ".bin" / executable


def install_npm_servers(timeout: float = 600.0) -> Path:
    """The directory holding the pinned npm servers, installing them on first use.

    :raises NpmUnavailableError: node or npm is missing.
    :raises subprocess.CalledProcessError: npm failed (its output is in the error).
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise NpmUnavailableError("node and npm are needed to run the npm MCP servers")
    root = _cache_root()
    if all(_bin(root, exe).exists() for _, _, exe in NPM_SERVERS.values()):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=root.parent))
    try:
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(staging),
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--loglevel=error",
                *(f"{pkg}@{version}" for pkg, version, _ in NPM_SERVERS.values()),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if root.exists():
            shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def make_git_repository(path: Path) -> Path:
    """A small git repository with two commits and a feature branch, at ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(path),
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (path / "README.md").write_text("# sample\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "first commit")
    (path / "app.py").write_text("print('hello')\n")
    git("add", "app.py")
    git("commit", "-q", "-m", "add app")
    git("branch", "feature")
    return path


def reference_services(workdir: Path, npm_root: Path | None) -> dict[str, dict[str, Any]]:
    """``mcp_services`` entries for the four servers, working inside ``workdir``.

    ``npm_root`` is :func:`install_npm_servers`'s directory; None leaves the npm servers out.
    """
    files = workdir / "files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "notes.txt").write_text("remember the milk\n")
    repo = workdir / "repo"
    if not (repo / ".git").exists():
        make_git_repository(repo)
    services: dict[str, dict[str, Any]] = {
        "git": {
            "command": [sys.executable, "-m", "mcp_server_git", "--repository", str(repo)],
            "capabilities": ["read", "write", "analyze", "manage"],
        },
        "time": {
            "command": [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"],
            "capabilities": ["read"],
        },
    }
    if npm_root is not None:
        node = shutil.which("node") or "node"
        services["everything"] = {
            "command": [node, str(_bin(npm_root, NPM_SERVERS["everything"][2]))],
            "capabilities": [],
        }
        services["filesystem"] = {
            "command": [node, str(_bin(npm_root, NPM_SERVERS["filesystem"][2])), str(files)],
            "capabilities": ["read", "write", "search", "manage"],
        }
    return services
