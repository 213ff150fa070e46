"""One orchestrator process for the multi-process tests, driven by JSON lines on stdin.

    python worker.py '<config as JSON>'

Plugins load through the installed entry points (the breaker plugin among them), plus two
in-process echo providers ``echo`` and ``echo2``. Each line read is a command; each answer
is one JSON line on stdout:

- ``{"op": "fail", "provider": "echo", "kinds": ["transient"]}``: script faults;
- ``{"op": "run", "request": ..., "context": {...}}``: one ``orchestrate``, its result;
- ``{"op": "run_many", "n": 300, "prefix": ...}``: n concurrent requests; their statuses;
- ``{"op": "calls", "provider": "echo"}``: calls the provider received;
- ``{"op": "states"}``: ``get_metrics``' circuit breakers;
- ``{"op": "quit"}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.errors import ErrorKind
from dynamic_orchestrator.plugins import make_plugin_manager
from dynamic_orchestrator_testing.fakes import EchoProvider


class Providers:
    def __init__(self, *providers: EchoProvider) -> None:
        self.providers = providers

    @hookimpl
    def register_providers(self, register: Any) -> None:
        for provider in self.providers:
            register(provider)


async def main(config_json: str) -> None:
    providers = {name: EchoProvider(name, delay=0.005) for name in ("echo", "echo2")}
    pm = make_plugin_manager()
    pm.register(Providers(*providers.values()))
    config = parse_config(json.loads(config_json), "worker")
    async with Orchestrator(config, plugin_manager=pm) as orch:
        reply({"ready": True, "plugins": sorted(pm.infos)})
        while True:
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            op = command["op"]
            if op == "quit":
                reply({"ok": True})
                return
            if op == "fail":
                kinds = [ErrorKind(k) for k in command["kinds"]]
                providers[command["provider"]].fail(*kinds)
                reply({"ok": True})
            elif op == "run":
                result = await orch.orchestrate(command["request"], command.get("context"))
                reply(result.model_dump(mode="json"))
            elif op == "run_many":
                reply({"statuses": await run_many(orch, command)})
            elif op == "calls":
                reply({"calls": len(providers[command["provider"]].calls)})
            elif op == "states":
                reply((await orch.metrics("5m")).circuit_breakers)


async def run_many(orch: Orchestrator, command: dict[str, Any]) -> list[str]:
    """``n`` requests started ``spacing`` seconds apart, run concurrently; their statuses."""
    statuses: list[str] = []

    async def one(i: int) -> None:
        text = f"{command['prefix']} request {i}"
        statuses.append((await orch.orchestrate(text)).status)

    async with anyio.create_task_group() as group:
        for i in range(command["n"]):
            group.start_soon(one, i)
            await anyio.sleep(command.get("spacing", 0))
    return statuses


def reply(data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1])
