"""``dynamic-orchestrator gateway`` serves until SIGTERM and is ready when /v1/models answers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from dynamic_orchestrator_testing.fake_server import FakeProviderServer


def test_the_gateway_command_serves_until_sigterm(
    fake_provider_server: FakeProviderServer, keys: None, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"providers:\n  openai: {{base_url: '{fake_provider_server.openai_base_url}'}}\n"
        "metrics: {persist: false}\n"
    )
    command = [sys.executable, "-m", "dynamic_orchestrator", "gateway", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--config", str(config)],
        env={**os.environ, "HOME": str(tmp_path)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"gateway at (http://127\.0\.0\.1:\d+)", line)
        assert found, line
        url = found.group(1)
        deadline = time.monotonic() + 60
        while True:
            try:
                models = httpx2.get(f"{url}/v1/models", timeout=2)
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("the gateway never answered /v1/models")
                time.sleep(0.1)
        assert models.status_code == 200
        assert "gpt-5-mini" in {m["id"] for m in models.json()["data"]}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_non_loopback_host_without_a_token_is_bad_usage(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dynamic_orchestrator",
            "gateway",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "server.auth_token_env" in done.stderr
