"""The real Claude Code CLI through the gateway, the fake provider server upstream.

Claude Code (npm ``@anthropic-ai/claude-code``) is installed once into a cache directory
(``DYNAMIC_ORCHESTRATOR_NPM_CACHE``, default ``~/.cache/dynamic-orchestrator/npm``). Where npm
cannot reach its registry the tests skip, saying so; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dynamic_orchestrator.config import Config
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

from .conftest import gateway_config

PACKAGE = "@anthropic-ai/claude-code"
pytestmark = pytest.mark.timeout(900)  # the first run installs Claude Code from npm
HARD = (
    "Design and implement a distributed, fault-tolerant consensus protocol with leader "
    "election, log replication and snapshotting; refactor the storage engine for it, "
    "analyze the concurrency and security trade-offs, and write the migration plan."
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Claude Code is required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed, so Claude Code cannot be installed")
    default = Path.home() / ".cache" / "dynamic-orchestrator" / "npm"
    prefix = Path(os.environ.get("DYNAMIC_ORCHESTRATOR_NPM_CACHE", default))
    binary = prefix / "node_modules" / ".bin" / "claude"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [str(npm), "install", "--prefix", str(prefix), "--no-audit", "--no-fund", PACKAGE],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0 or not binary.exists():
            _unavailable(f"npm could not install {PACKAGE}: {done.stderr.strip()[-400:]}")
    return binary


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    (tmp_path / "notes.txt").write_text("the secret word is pineapple\n")
    return tmp_path


def claude(
    binary: Path, url: str, workdir: Path, *args: str, model: str = "claude-sonnet-4-6"
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir / "home"),
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": "dummy-client-key",
        "ANTHROPIC_MODEL": model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    return subprocess.run(
        [str(binary), *args],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def only(srv: FakeProviderServer, provider: str) -> Config:
    """The gateway with one upstream wire format keyed; the others disabled."""
    url = {"openai": srv.openai_base_url, "anthropic": srv.anthropic_base_url}[provider]
    providers = {
        name: {"enabled": False} for name in ("openai", "anthropic", "gemini") if name != provider
    }
    return gateway_config(srv, providers={provider: {"base_url": url}, **providers})


@pytest.fixture
def openai_upstream(
    fake_provider_server: FakeProviderServer, keys: None
) -> Iterator[GatewayServer]:
    with GatewayServer(only(fake_provider_server, "openai")) as gw:
        yield gw


@pytest.fixture
def anthropic_upstream(
    fake_provider_server: FakeProviderServer, keys: None
) -> Iterator[GatewayServer]:
    with GatewayServer(only(fake_provider_server, "anthropic")) as gw:
        yield gw


def test_a_plain_turn_is_routed_to_a_cheap_openai_format_model(
    claude_bin: Path,
    openai_upstream: GatewayServer,
    fake_provider_server: FakeProviderServer,
    workdir: Path,
) -> None:
    done = claude(claude_bin, openai_upstream.url, workdir, "-p", "What is 2+2?")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("echo: ")
    (turn,) = [r for r in fake_provider_server.requests if r.body.get("tools")]
    assert turn.provider == "openai" and turn.model == "gpt-5-nano"
    assert turn.body["stream"] is True and len(turn.body["tools"]) >= 10
    assert "dummy-client-key" not in json.dumps(turn.headers)


def test_a_tool_round_trip_reads_a_file_through_an_anthropic_format_upstream(
    claude_bin: Path,
    anthropic_upstream: GatewayServer,
    fake_provider_server: FakeProviderServer,
    workdir: Path,
) -> None:
    path = workdir / "notes.txt"
    prompt = f'Read my notes [call:Read {{"file_path": "{path}"}}]'
    done = claude(
        claude_bin, anthropic_upstream.url, workdir, "-p", prompt, "--allowedTools", "Read"
    )
    assert done.returncode == 0, done.stderr
    assert "pineapple" in done.stdout
    turns = [r for r in fake_provider_server.requests if r.body.get("tools")]
    assert len(turns) == 2 and {r.provider for r in turns} == {"anthropic"}
    assert turns[0].model == "claude-haiku-4-5"  # a simple turn, the cheapest Claude
    result = turns[1].body["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and "pineapple" in json.dumps(result)
    assert "claude-code" in turns[0].headers.get("anthropic-beta", "")
    assert "dummy-client-key" not in json.dumps(turns[0].headers)


def test_a_hard_turn_stays_on_the_strong_model(
    claude_bin: Path,
    anthropic_upstream: GatewayServer,
    fake_provider_server: FakeProviderServer,
    workdir: Path,
) -> None:
    done = claude(claude_bin, anthropic_upstream.url, workdir, "-p", HARD)
    assert done.returncode == 0, done.stderr
    (turn,) = [r for r in fake_provider_server.requests if r.body.get("tools")]
    assert turn.model == "claude-sonnet-4-6"
    last = turn.body["messages"][-1]["content"][-1]
    assert last.get("cache_control") == {"type": "ephemeral"}  # blocks passed through untouched


def test_the_claude_command_runs_claude_through_a_gateway_it_starts(
    claude_bin: Path, fake_provider_server: FakeProviderServer, keys: None, workdir: Path
) -> None:
    config = workdir / "gateway.yaml"
    config.write_text(
        json.dumps(
            {
                "providers": {
                    "openai": {"base_url": fake_provider_server.openai_base_url},
                    "anthropic": {"enabled": False},
                    "gemini": {"enabled": False},
                },
                "metrics": {"persist": False},
            }
        )
    )
    env = {
        **os.environ,
        "HOME": str(workdir / "home"),
        "DYNAMIC_ORCHESTRATOR_CLAUDE": str(claude_bin),
        "ANTHROPIC_MODEL": "claude-sonnet-4-6",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dynamic_orchestrator",
            "claude",
            "--config",
            str(config),
            "-p",
            "What is 2+2?",
        ],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("echo: ")
    assert "gateway at http://127.0.0.1:" in done.stderr
    assert [r.model for r in fake_provider_server.requests if r.body.get("tools")] == ["gpt-5-nano"]
