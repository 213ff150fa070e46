"""The dashboard: its figures against ``metrics --json``, over real HTTP, in a real browser.

A store is seeded with made-up requests over 30 days
(:mod:`dynamic_orchestrator_sqlite.dashboard.sample`). ``dynamic-orchestrator metrics
--json`` and ``dynamic-orchestrator dashboard`` run as real processes on it; the page's
figures (``data-figure`` elements) must equal the command's for the same period. The
browser test loads the page in headless Chromium with every host name unresolvable but
127.0.0.1, so the page shows with no network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
import yaml
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_mcp_server.http_transport import http_app
from dynamic_orchestrator_sqlite.dashboard import DashboardApp, render
from dynamic_orchestrator_sqlite.dashboard.sample import write_sample_store

FIGURES = (
    "total_requests",
    "failed_requests",
    "delegated_requests",
    "success_rate",
    "total_cost_usd",
    "total_saved_usd",
    "p50_duration_ms",
    "p95_duration_ms",
    "p99_duration_ms",
    "cache_hit_rate",
    "total_tokens",
    "total_tokens_saved",
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, config file naming it)."""
    folder = tmp_path_factory.mktemp("dashboard")
    path = folder / "metrics.sqlite3"
    assert write_sample_store(path, time.time()) > 500
    config = folder / "config.yaml"
    # Kept 40 days: the default retention (7) would prune the month when a command starts.
    config.write_text(yaml.safe_dump({"metrics": {"path": str(path), "retention_days": 40}}))
    return path, config


def env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith(("DYNAMIC_ORCHESTRATOR_", "OTEL_"))
    }


def metrics_json(config: Path, period: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "dynamic_orchestrator", "metrics", "--period", period, "--json",
         "--config", str(config)],
        capture_output=True, text=True, env=env(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def page_figures(html: str) -> dict[str, str]:
    found = re.findall(r'data-figure="([a-z0-9_]+)" data-value="([^"]*)"', html)
    return {name: unescape(value) for name, value in found}


def assert_same(figures: dict[str, str], expected: dict[str, Any]) -> None:
    for name in FIGURES:
        assert float(figures[name]) == pytest.approx(expected[name], abs=1e-9), name


@pytest.fixture(scope="module")
def dashboard_url(seeded: tuple[Path, Path]) -> Iterator[str]:
    """``dynamic-orchestrator dashboard`` running on the seeded store."""
    _, config = seeded
    process = subprocess.Popen(
        [sys.executable, "-m", "dynamic_orchestrator", "dashboard", "--port", "0", "--no-open",
         "--period", "1h", "--config", str(config)],
        stderr=subprocess.PIPE, text=True, env=env(),
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/dashboard)", line)
        assert match, line
        url = match.group(1)
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("period", ["1h", "1d"])
def test_the_page_shows_the_figures_of_metrics_json(
    seeded: tuple[Path, Path], dashboard_url: str, period: str
) -> None:
    _, config = seeded
    expected = metrics_json(config, period)
    assert expected["total_requests"] > 50 and expected["failed_requests"] > 0
    with urllib.request.urlopen(f"{dashboard_url}?period={period}", timeout=10) as response:
        assert response.status == 200
        html = response.read().decode()
    figures = page_figures(html)
    assert figures["period"] == period
    assert_same(figures, expected)
    with urllib.request.urlopen(f"{dashboard_url}?period={period}&format=json") as response:
        data = json.load(response)
    for name in (*FIGURES, "model_distribution", "intent_distribution"):
        assert data["summary"][name] == expected[name], name
    assert sum(b["requests"] for b in data["buckets"]) == expected["total_requests"]
    assert sum(b["failed"] for b in data["buckets"]) == expected["failed_requests"]
    # Breaker refusals with their reason, and the last failures, from the stored attempts.
    (refusal,) = data["breaker_refusals"]
    assert refusal["reason"].startswith("circuit open (failure rate")
    assert refusal["reason"] in unescape(html)
    assert len(data["failures"]) == min(10, expected["failed_requests"])
    assert data["failures"][0]["error"] in unescape(html)


def test_thirty_days_counts_every_request_and_bad_periods_are_refused(
    seeded: tuple[Path, Path], dashboard_url: str
) -> None:
    with urllib.request.urlopen(f"{dashboard_url}?period=30d&format=json") as response:
        data = json.load(response)
    assert data["summary"]["total_requests"] == 770 and len(data["buckets"]) == 30
    day = metrics_json(seeded[1], "1d")
    assert data["summary"]["total_requests"] > day["total_requests"]
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{dashboard_url}?period=7y")
    assert error.value.code == 400 and b"period: expected one of 1h, 1d, 30d" in error.value.read()


def test_a_period_longer_than_the_retention_says_so(seeded: tuple[Path, Path]) -> None:
    app = DashboardApp(seeded[0], retention_days=7)
    assert "records older than 7 days are deleted" in render(app.figures("30d"))
    assert "records older than" not in render(app.figures("1d"))


def test_the_page_needs_nothing_from_the_network(seeded: tuple[Path, Path]) -> None:
    html = render(DashboardApp(seeded[0]).figures("1d"))
    assert "<script" not in html and "@import" not in html
    assert not re.search(r'(src|href)="(?!\?period=)', html)
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert 'name="viewport"' in html  # laid out for phones too


async def test_served_beside_mcp_behind_the_same_token(
    seeded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = seeded
    monkeypatch.setenv("DO_TEST_DASHBOARD_TOKEN", "tok-dashboard-123")
    config = parse_config(
        {
            "metrics": {"path": str(path), "retention_days": 40},
            "server": {"auth_token_env": "DO_TEST_DASHBOARD_TOKEN"},
        }
    )
    app = http_app(config, "127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/dashboard"
        try:
            async with httpx2.AsyncClient(timeout=30) as client:
                assert (await client.get(url)).status_code == 401
                headers = {"authorization": "Bearer tok-dashboard-123"}
                response = await client.get(url + "?period=1d&format=json", headers=headers)
                assert response.status_code == 200
                data = response.json()
                # A running server shows its breakers' live states (all closed here).
                assert data["breaker_states"] is not None
                assert set(data["breaker_states"].values()) <= {"closed"}
                page = await client.get(url, headers=headers)
                assert page.status_code == 200 and "data-figure" in page.text
        finally:
            server.should_exit = True


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed (CI installs it: apt-get install chromium)")
        pytest.skip("no chromium here (apt-get install chromium)")
    return found


def browser(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--disable-extensions", "--disable-background-networking",
         # No network: every host name fails to resolve, but the loopback address.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("period", ["1h", "1d"])
def test_a_real_browser_shows_the_figures_offline(
    seeded: tuple[Path, Path], dashboard_url: str, period: str, tmp_path: Path
) -> None:
    expected = metrics_json(seeded[1], period)
    done = browser("--dump-dom", f"{dashboard_url}?period={period}")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<svg" in dom and "Circuit breakers" in dom
    assert_same(page_figures(dom), expected)
    for width, height in ((1280, 1500), (390, 2600)):
        shot = tmp_path / f"{period}-{width}.png"
        done = browser(
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            f"{dashboard_url}?period={period}",
        )
        assert done.returncode == 0 and shot.stat().st_size > 20_000, done.stderr[-2000:]
