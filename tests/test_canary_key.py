"""A canary key, every fault scripted: the key appears in no log line, error, metric or result.

Each provider key is set to a value built around one canary string. Two real processes
run with ``LOG_LEVEL=DEBUG`` and plugin call tracing on: the library driver
(``canary_run.py``, every provider through every fault and direct calls for the
exception texts) and the command line (``run --json`` and ``models --json`` against the
fake server, a model whose answer echoes the key, and ``health`` with the canary as the
Redis password). Everything they print, log or return is searched for the canary, after
checking that the keys really were sent to the server, so the search means something.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

CANARY = "CNRY7q2w9e4r1t6y"
KEYS = {
    "OPENAI_API_KEY": f"{CANARY}-openai-0001",
    "ANTHROPIC_API_KEY": f"{CANARY}-anthropic-0002",
    "GOOGLE_API_KEY": f"{CANARY}-google-0003",
    "GEMINI_API_KEY": f"{CANARY}-gemini-0004",
}


REDIS_PASSWORD = f"{CANARY}-redis-0005"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNAMIC_ORCHESTRATOR_")}
    env.update(KEYS)
    env.update(LOG_LEVEL="DEBUG", DYNAMIC_ORCHESTRATOR_TRACE_PLUGINS="1", **extra)
    return env


def test_canary_appears_nowhere_in_a_library_run() -> None:
    driver = Path(__file__).with_name("canary_run.py")
    run = subprocess.run(
        [sys.executable, str(driver)],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads(run.stdout)
    assert data["requests_with_key"] >= 3 * 12  # the keys were really sent
    assert len(data["texts"]) > 3 * 20 and len(data["records"]) == 3 * 12
    logs = run.stderr.splitlines()
    assert len(logs) > 100  # debug logging and hook tracing were on
    assert any("model_attempt" in line for line in logs)
    assert any("hook_call" in line for line in logs)
    assert any("rate_limited" in line for line in logs)
    leaks = [line for line in logs if CANARY in line]
    leaks += [t for t in data["texts"] + data["records"] if CANARY in t]
    assert not leaks, leaks[:3]
    assert CANARY not in run.stdout


@pytest.fixture
def cli_config(
    tmp_path: Path,
    server_config_data: Callable[..., dict[str, Any]],
) -> Path:
    chain = {"preferred": "gpt-4o-mini", "fallback": ["claude-haiku-4-5", "gemini-2.5-flash"]}
    data = server_config_data(
        execution={tier: chain for tier in ("simple", "moderate", "complex")},
        metrics={"persist": False},
    )
    for settings in data["providers"].values():
        settings["timeout"] = 1
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def cli(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=environment(**env),
        timeout=180,
    )


def test_canary_appears_nowhere_on_the_command_line(
    cli_config: Path, fake_provider_server: FakeProviderServer
) -> None:
    srv = fake_provider_server
    # One request meets a fault on every provider: auth, retried 5xx, then quota.
    srv.script("openai", fs.unauthorized())
    srv.script("anthropic", fs.overloaded(), fs.server_error(), fs.server_error())
    srv.script("gemini", fs.rate_limit(retry_after=0.05), fs.quota_exhausted())
    failed = cli(cli_config, "run", "Show the contents of config.yaml", "--json")
    assert failed.returncode == 1, failed.stderr[-2000:]
    result = json.loads(failed.stdout)
    assert [a["error_kind"] for a in result["attempts"]] == [
        "auth",
        "transient",
        "transient",
        "transient",
        "rate_limited",
        "quota_exhausted",
    ]
    # Then timeouts and a context overflow, which skips to the larger-context model.
    srv.reset()
    srv.script("openai", fs.timeout(30), fs.timeout(30), fs.timeout(30))
    srv.script("anthropic", fs.context_length(limit=100_000))
    second = cli(cli_config, "run", "Show the contents of config.yaml", "--json")
    assert second.returncode == 0, second.stderr[-2000:]
    answer = json.loads(second.stdout)
    assert [(a["provider"], a["error_kind"]) for a in answer["attempts"]] == [
        ("openai", "transient"),
        ("openai", "transient"),
        ("openai", "transient"),
        ("anthropic", "context_overflow"),
        ("gemini", None),
    ]
    listing = cli(cli_config, "models", "--json")
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert srv.requests[0].headers["authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"
    for run in (failed, second, listing):
        assert run.stderr.strip()  # debug logs were written
        assert CANARY not in run.stdout and CANARY not in run.stderr


def test_a_model_that_echoes_the_key_does_not_hand_it_out(
    cli_config: Path, fake_provider_server: FakeProviderServer
) -> None:
    srv = fake_provider_server
    key = KEYS["OPENAI_API_KEY"]
    srv.script("openai", fs.reply(f"Your key is {key}, and again: {key}."))
    run = cli(cli_config, "run", "Show the contents of config.yaml", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["status"] == "completed" and result["provider"] == "openai"
    assert result["output"] == "Your key is ***, and again: ***."  # the rest still arrives
    assert srv.requests[0].headers["authorization"] == f"Bearer {key}"
    assert run.stderr.strip()
    assert CANARY not in run.stdout and CANARY not in run.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_health_does_not_print_the_redis_password(cli_config: Path, as_json: bool) -> None:
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0?password={REDIS_PASSWORD}"
    run = cli(cli_config, "health", *(["--json"] if as_json else []), REDIS_URL=url)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    assert "127.0.0.1:6379" in run.stdout  # the Redis line is there, without the password
    assert CANARY not in run.stdout and CANARY not in run.stderr
