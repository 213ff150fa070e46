"""Two real orchestrator processes sharing one real Redis server.

Each process loads its plugins through the installed entry points (the breaker plugin
among them) and serves models from in-process echo providers; what they share goes
through Redis only: a breaker one opens, a response one caches. Killing Redis in the
middle of a run loses no request in either.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import MODELS

pytestmark = [pytest.mark.redis, pytest.mark.slow]

WORKER = Path(__file__).with_name("worker.py")


def worker_config(url: str, prefix: str) -> dict[str, Any]:
    tier = {"preferred": "m-small", "fallback": ["m-small2"]}
    return {
        "use_claude_code": False,
        "execution": {"simple": tier, "moderate": tier, "complex": tier},
        "baseline_model": "m-big",
        "models": MODELS,
        "retry": {"attempts": 2, "initial_wait": 0, "max_wait": 0},
        "circuit_breaker": {"minimum_calls": 1, "open_duration": 60},
        "cache": {"enabled": True, "ttl": 60, "backend": "redis"},
        "redis": {"url": url, "key_prefix": prefix, "timeout": 0.2, "retry_interval": 0.5},
        "metrics": {"persist": False},
        "mcp_services": {},
    }


class Worker:
    def __init__(self, config: dict[str, Any], tmp: Path) -> None:
        env = {**os.environ, "XDG_DATA_HOME": str(tmp), "LOG_LEVEL": "ERROR"}
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        ready = self.read()
        assert ready["ready"] and "breaker" in ready["plugins"]

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"worker exited with {self.proc.poll()}"
        return json.loads(line)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def ask(self, **command: Any) -> Any:
        self.send(**command)
        return self.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask(op="quit")
                self.proc.wait(timeout=10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a worker that died mid-write
                    pipe.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Any]:
    started: list[Worker] = []

    def start(config: dict[str, Any]) -> Worker:
        worker = Worker(config, tmp_path)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def test_breaker_and_cache_are_shared_by_two_processes(
    workers: Any, redis_url: str, redis_prefix: str
) -> None:
    config = worker_config(redis_url, redis_prefix)
    a, b = workers(config), workers(config)
    a.ask(op="fail", provider="echo", kinds=["transient", "transient"])
    first = a.ask(op="run", request="Show the contents of config.yaml")
    assert first["model"] == "m-small2"
    assert b.ask(op="states")["m-small"] == "closed"  # b has not looked yet
    second = b.ask(op="run", request="Show the contents of other.yaml")
    assert second["status"] == "completed" and second["model"] == "m-small2"
    assert second["attempts"][0]["outcome"] == "skipped"
    assert "circuit open" in second["attempts"][0]["error"]
    assert b.ask(op="calls", provider="echo") == {"calls": 0}
    assert b.ask(op="states")["m-small"] == "open"

    cached = a.ask(op="run", request="Summarise the changelog", context={"v": 2})
    hit = b.ask(op="run", request="  summarise the CHANGELOG", context={"v": 2})
    assert not cached["cached"] and hit["cached"]
    assert hit["output"] == cached["output"] and hit["cost_usd"] == 0.0
    assert b.ask(op="calls", provider="echo2") == {"calls": 1}  # only "other.yaml"


def test_killing_redis_mid_run_loses_no_request(workers: Any, own_redis: Any) -> None:
    proc, url = own_redis
    config = worker_config(url, "do-kill:")
    a, b = workers(config), workers(config)
    n = 300
    for worker in (a, b):
        worker.send(op="run_many", n=n, prefix=f"pid {worker.proc.pid}", spacing=0.002)
    killer = threading.Timer(0.3, proc.kill)
    killer.start()
    started = time.monotonic()
    answers = [a.read(), b.read()]
    killer.join()
    assert proc.poll() is not None, "redis-server was not killed during the run"
    assert time.monotonic() - started > 0.3
    for answer in answers:
        statuses = answer["statuses"]
        assert len(statuses) == n  # none lost
        assert statuses.count("completed") == n, statuses
