"""``dynamic-orchestrator health``: breaker states, Redis, cache and budget, via the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from click.testing import CliRunner
from dynamic_orchestrator.cli import cli
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator_breaker import Permit, Resilience, ResilienceSettings

from .helpers import MODELS, make_config


def write_config(tmp_path: Path, **sections: Any) -> Path:
    tier = {"preferred": "m-small", "fallback": ["m-big"]}
    data = {
        "use_claude_code": False,
        "execution": {"simple": tier, "moderate": tier, "complex": tier},
        "models": MODELS,
        "metrics": {"persist": False},
        **sections,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_health_without_redis_lists_closed_breakers(tmp_path: Path) -> None:
    path = write_config(tmp_path, budget={"period": "1d", "limit_usd": 3})
    result = CliRunner().invoke(cli, ["health", "--json", "--config", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["redis"] == {"configured": False, "state": "not configured: state is local"}
    assert report["models"]["m-small"]["state"] == "closed"
    assert report["budget"] == {
        "enabled": True, "period": "1d", "limit_usd": 3.0, "spent_usd": 0.0, "shared": False,
    }  # fmt: skip
    text = CliRunner().invoke(cli, ["health", "--config", str(path)])
    assert "m-small" in text.output and "closed" in text.output


def test_bad_config_is_exit_status_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("budget:\n  period: 1d\n")
    result = CliRunner().invoke(cli, ["health", "--config", str(path)])
    assert result.exit_code == 2
    assert "budget: Value error, set both 'period' and 'limit_usd'" in result.output


@pytest.mark.redis
def test_health_shows_a_breaker_another_process_opened(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    redis = {"url": redis_url, "key_prefix": redis_prefix}
    config = make_config(["m-small", "m-big"], redis=redis)

    async def open_elsewhere() -> None:
        other = Resilience(config.plugin_settings("breaker", ResilienceSettings), config)
        assert other.breakers is not None
        permit = await other.breakers.acquire("m-small", probe_ttl=5)
        assert isinstance(permit, Permit)
        error = ProviderError(ErrorKind.QUOTA_EXHAUSTED, "out of credit", provider="echo")
        await other.breakers.failure("m-small", permit, 0.0, error, list)
        await other.aclose()

    anyio.run(open_elsewhere)
    path = write_config(tmp_path, redis=redis)
    result = CliRunner().invoke(cli, ["health", "--json", "--config", str(path)])
    assert result.exit_code == 1  # a breaker is open
    report = json.loads(result.output)
    assert report["redis"]["state"] == "reachable"
    row = report["models"]["m-small"]
    assert row["state"] == "open" and "quota exhausted" in row["reason"]
    assert row["open_for_s"] > 800  # long_open_duration, 900 s by default
    assert report["models"]["m-big"]["state"] == "closed"


def test_health_shows_the_redis_url_without_its_password() -> None:
    from dynamic_orchestrator_breaker.shared import _safe_url

    for url in (
        "redis://default:pw-s3cr3t-1@cache:6379/0",
        "redis://cache:6379/0?password=pw-s3cr3t-1",
        "redis://user:pw-s3cr3t-1@cache:6379/0?password=pw-s3cr3t-1",
    ):
        shown = _safe_url(url)
        assert "pw-s3cr3t-1" not in shown and "cache:6379/0" in shown
