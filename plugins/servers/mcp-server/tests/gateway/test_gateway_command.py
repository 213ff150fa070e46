"""``dynamic-orchestrator gateway`` serves until SIGTERM and is ready when /v1/models answers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from dynamic_orchestrator_testing.fake_server import FakeProviderServer


@contextmanager
def gateway_command(
    srv: FakeProviderServer, tmp_path: Path, *args: str
) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """``dynamic-orchestrator gateway`` on a free port in front of ``srv``, once
    ``/v1/models`` answers 200: the process, the URL it printed and that first line."""
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"providers:\n  openai: {{base_url: '{srv.openai_base_url}'}}\n"
        "metrics: {persist: false}\n"
    )
    command = [sys.executable, "-m", "dynamic_orchestrator", "gateway", "--port", "0", *args]
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
        _wait_for(lambda: _answers(url), what="the gateway never answered /v1/models")
        yield proc, url, line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _answers(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/v1/models", timeout=2).status_code == 200
    except httpx2.TransportError:
        return False


def _wait_for(check: Callable[[], bool], seconds: float = 60, what: str = "timed out") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(0.1)


def test_the_gateway_command_serves_until_sigterm(
    fake_provider_server: FakeProviderServer, keys: None, tmp_path: Path
) -> None:
    with gateway_command(fake_provider_server, tmp_path) as (proc, url, _):
        models = httpx2.get(f"{url}/v1/models", timeout=2)
        assert models.status_code == 200
        assert "gpt-5-mini" in {m["id"] for m in models.json()["data"]}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


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


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(child) for child in text.split()}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_workers_serve_one_port_a_dead_worker_is_replaced_and_sigterm_stops_them_all(
    fake_provider_server: FakeProviderServer, keys: None, tmp_path: Path
) -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "What is 2+2?"}],
    }
    with gateway_command(fake_provider_server, tmp_path, "--workers", "2") as (proc, url, line):
        assert line.rstrip().endswith("(2 workers)"), line
        workers = _children(proc.pid)
        assert len(workers) == 2
        for _ in range(10):  # a new connection each: either worker may take it
            answer = httpx2.post(f"{url}/v1/messages", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json()["content"][0]["text"] == "echo: What is 2+2?"
        time.sleep(5.5)  # past MIN_UPTIME: a worker that dies now is started again
        dead = min(workers)
        os.kill(dead, signal.SIGKILL)
        _wait_for(lambda: len(_children(proc.pid) - {dead}) == 2)
        assert dead not in _children(proc.pid)
        _wait_for(lambda: _answers(url))
        assert httpx2.post(f"{url}/v1/messages", json=body, timeout=30).status_code == 200
        now = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for pid in now:  # no worker outlives the command
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
            )
