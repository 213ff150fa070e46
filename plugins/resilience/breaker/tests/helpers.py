"""Helpers for the resilience tests: models on in-process echo providers, Redis probes."""

from __future__ import annotations

import socket
from typing import Any

import dynamic_orchestrator_breaker
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.models import RequestRecord
from dynamic_orchestrator_testing.fakes import EchoProvider

REDIS_URL = "redis://127.0.0.1:6379/0"

# Three models on two providers; "m-small" and "m-small2" have small context windows.
MODELS: dict[str, dict[str, Any]] = {
    "m-small": {
        "provider": "echo",
        "input_price_per_mtok": 1.0,
        "output_price_per_mtok": 4.0,
        "context_window": 1000,
    },
    "m-small2": {
        "provider": "echo2",
        "input_price_per_mtok": 1.0,
        "output_price_per_mtok": 4.0,
        "context_window": 1000,
    },
    "m-big": {
        "provider": "echo",
        "input_price_per_mtok": 2.0,
        "output_price_per_mtok": 8.0,
        "context_window": 100_000,
    },
}


def make_config(chain: list[str], **sections: Any) -> Config:
    """A config whose every tier runs ``chain`` in order, fast retries, no cache unless set."""
    tier = {"preferred": chain[0], "fallback": chain[1:]}
    data: dict[str, Any] = {
        "use_claude_code": False,
        "execution": {"simple": tier, "moderate": tier, "complex": tier},
        "baseline_model": "m-big",
        "models": MODELS,
        "retry": {"attempts": 2, "initial_wait": 0, "max_wait": 0, "max_retry_after": 1},
        "cache": {"enabled": False},
        "metrics": {"persist": False},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_config(data)


class Providers:
    """A plugin registering echo providers, and collecting every record."""

    def __init__(self, *providers: EchoProvider) -> None:
        self.providers = providers
        self.records: list[RequestRecord] = []

    @hookimpl
    def register_providers(self, register: Any) -> None:
        for provider in self.providers:
            register(provider)

    @hookimpl
    def record(self, record: RequestRecord) -> None:
        self.records.append(record)


def state_of(orch: Any) -> dynamic_orchestrator_breaker.Resilience:
    """The resilience state attached to an orchestrator."""
    state = dynamic_orchestrator_breaker.attached(orch)
    assert state is not None
    return state


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
