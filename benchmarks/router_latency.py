"""Decision latency of the learned router (plugin ``dynamic-orchestrator-router``).

    DATA=../shared/data/routing/routerbench
    uv run dynamic-orchestrator router train --out /tmp/rb.npz $DATA/*.csv
    uv run python benchmarks/router_latency.py --router /tmp/rb.npz $DATA/*.csv

Prompts come from outcome files (CSV or JSON lines). Two figures per prompt, each as
p50/p99 of wall time and of the thread's CPU time (the machine's other work shows in wall
time only):

- **score + order**: the router's per-model probabilities and costs, then the decision rule;
- **select_model hook**: the plugin's whole ``select_model`` call on a real catalog — the
  router's models mapped onto catalog models served by an in-process echo provider —
  settings, mapping, usability, costs at list prices, the chain and its reasons.

Warm: the router file is read once before timing, as it is at start-up.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import anyio
import numpy as np
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.models import Constraints
from dynamic_orchestrator_router.decide import Knobs, order
from dynamic_orchestrator_router.model import Router
from dynamic_orchestrator_router.outcomes import PriceTable, read_outcomes
from dynamic_orchestrator_router.selector import select_with_router
from dynamic_orchestrator_testing.fakes import EchoProvider

CATALOG_MODELS = ["gpt-5-nano", "gpt-5-mini", "gpt-5.1", "gpt-4o-mini", "gpt-4o", "gpt-4.1"]


def timed(func: Callable[[Any], Any], items: list[Any]) -> tuple[list[float], list[float]]:
    for item in items[:50]:
        func(item)
    wall, cpu = [], []
    for item in items:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        func(item)
        c1, w1 = time.thread_time_ns(), time.perf_counter_ns()
        wall.append((w1 - w0) / 1000)
        cpu.append((c1 - c0) / 1000)
    return wall, cpu


def line(name: str, wall: list[float], cpu: list[float]) -> str:
    return (
        f"{name:22} wall p50 {np.percentile(wall, 50):7.0f} µs  "
        f"p99 {np.percentile(wall, 99):7.0f} µs   "
        f"CPU p50 {np.percentile(cpu, 50):7.0f} µs  p99 {np.percentile(cpu, 99):7.0f} µs"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--router", required=True, help="router file from 'router train'")
    parser.add_argument("--limit", type=int, default=3000, help="prompts to time")
    parser.add_argument("files", nargs="+", help="outcome files whose prompts are timed")
    args = parser.parse_args()

    router = Router.load(args.router)
    table = read_outcomes(args.files, PriceTable(output_tokens=256))
    prompts = table.prompts[: args.limit]
    knobs = Knobs(**{k: v for k, v in router.defaults.items() if k in Knobs.__dataclass_fields__})

    def score_and_order(text: str) -> list[int]:
        p, c = router.predict(text)
        return order(p.tolist(), c.tolist(), knobs)

    mapping = {m: CATALOG_MODELS[i % len(CATALOG_MODELS)] for i, m in enumerate(router.models)}
    config = parse_config(
        {
            "use_claude_code": False,
            "plugins": {"settings": {"router": {"file": args.router, "models": mapping}}},
        }
    )
    provider = EchoProvider("openai")

    class Echo:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(provider)

    orch = Orchestrator(config)
    orch.pm.register(Echo())
    async with orch:
        analysis, _, _ = orch.run_analysis(orch.make_request("warm up"), Constraints())
        constraints = Constraints()

        requests = [orch.make_request(text) for text in prompts]

        def hook(request: Any) -> Any:
            return select_with_router(request, analysis, orch.catalog, constraints)

        first = hook(requests[0])
        assert first is not None and first.chain, "the router made no choice"
        print(
            f"router {os.path.basename(args.router)}: {len(router.models)} models, "
            f"{len(router.vocabulary)} terms; {len(prompts)} prompts from "
            f"{len(args.files)} file(s); load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs"
        )
        print(line("score + order", *timed(score_and_order, prompts)))
        print(line("select_model hook", *timed(hook, requests)))


if __name__ == "__main__":
    anyio.run(main)
