"""What the provider plugins cost on top of the official SDKs, and what lazy SDK imports save.

    uv run python benchmarks/provider_overhead.py            # 200 calls per provider
    uv run python benchmarks/provider_overhead.py -n 500

Every figure is measured on this machine against the local fake provider server (no
network, so it isolates our code from the provider's latency):

- per call, median and p95 of: the official SDK's async client called directly (the
  baseline), the same call through the provider plugin (``Provider.complete``: message
  conversion, error mapping, usage and genai-prices cost), and a whole
  ``Orchestrator.orchestrate`` (classification, selection, prompt, retry layer, record);
- start-up, in fresh processes: ``import`` of each plugin module (the SDK is not imported)
  against ``import`` of its SDK, which a plugin that imported eagerly would pay on every
  command, even ``dynamic-orchestrator models``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.models import ChatMessage
from dynamic_orchestrator.progress import Progress
from dynamic_orchestrator.providers import ProviderCall, warm_providers
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
SDKS = {"openai": "openai", "anthropic": "anthropic", "gemini": "google.genai"}
TEXT = "Show the contents of config.yaml"


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Median and p95 milliseconds of ``n`` calls, after 10 unmeasured warm-up calls."""
    for _ in range(10):
        await call()
    times = []
    with Progress("calls", n) as bar:  # drawn outside the timed span
        for _ in range(n):
            began = time.perf_counter()
            await call()
            times.append((time.perf_counter() - began) * 1000)
            bar.advance()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def raw_call(provider: str, srv: FakeProviderServer) -> tuple[Any, Callable[[], Awaitable[Any]]]:
    """The baseline: the official SDK's async client, retries off, one user message."""
    model = MODELS[provider]
    if provider == "openai":
        import openai

        oa = openai.AsyncOpenAI(api_key="bench-key", base_url=srv.openai_base_url, max_retries=0)
        messages: Any = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": TEXT},
        ]
        return oa, lambda: oa.chat.completions.create(model=model, messages=messages)
    if provider == "anthropic":
        import anthropic

        an = anthropic.AsyncAnthropic(
            api_key="bench-key", base_url=srv.anthropic_base_url, max_retries=0
        )
        return an, lambda: an.messages.create(
            model=model,
            max_tokens=4096,
            system="Be brief.",
            messages=[{"role": "user", "content": TEXT}],
        )
    from google import genai
    from google.genai import types

    ge = genai.Client(
        api_key="bench-key", http_options=types.HttpOptions(base_url=srv.gemini_base_url)
    )
    config = types.GenerateContentConfig(system_instruction="Be brief.")
    return ge, lambda: ge.aio.models.generate_content(model=model, contents=TEXT, config=config)


async def per_call(n: int) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        os.environ[name] = "bench-key-0123456789"
    async with FakeProviderServer() as srv:
        config = parse_config(
            {
                "providers": {
                    "openai": {"base_url": srv.openai_base_url},
                    "anthropic": {"base_url": srv.anthropic_base_url},
                    "gemini": {"base_url": srv.gemini_base_url},
                },
                "metrics": {"persist": False},
                # every orchestrate must reach the provider: no answers from the cache
                "cache": {"enabled": False},
            }
        )
        async with Orchestrator(config) as orch:
            await warm_providers(orch.providers)
            print(f"per call, ms (median / p95 of {n}; fake server on 127.0.0.1, measured)")
            print(f"{'provider':10} {'SDK direct':>16} {'plugin':>16} {'orchestrate':>16}")
            for provider, model in MODELS.items():
                info = orch.catalog.get(model)
                assert info is not None
                call = ProviderCall(
                    model=info,
                    system="Be brief.",
                    messages=[ChatMessage(role="user", content=TEXT)],
                )
                client, raw = raw_call(provider, srv)
                base = await timed(n, raw)
                plugin = await timed(n, lambda p=provider, c=call: orch.providers[p].complete(c))
                whole = await timed(n, lambda m=model: orch.orchestrate(TEXT, options={"model": m}))
                cells = [f"{a:7.2f} / {b:6.2f}" for a, b in (base, plugin, whole)]
                print(f"{provider:10} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")
                del client


def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def start_up() -> None:
    print("\nimport time in a fresh process, s (measured; best of 3)")
    print(f"{'provider':10} {'plugin module':>14} {'its SDK':>10}")
    for provider, sdk in SDKS.items():
        plugin = min(import_seconds(f"dynamic_orchestrator_{provider}") for _ in range(3))
        eager = min(import_seconds(sdk) for _ in range(3))
        print(f"{provider:10} {plugin:14.3f} {eager:10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="measured calls per column")
    args = parser.parse_args()
    anyio.run(per_call, args.n)
    start_up()


if __name__ == "__main__":
    main()
