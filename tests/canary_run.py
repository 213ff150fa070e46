"""Driver for the canary-key test: every provider through every fault, in a fresh process.

Run by ``tests/test_canary_key.py`` with the provider keys set to a canary value,
``LOG_LEVEL=DEBUG`` and ``DYNAMIC_ORCHESTRATOR_TRACE_PLUGINS=1``. It starts its own fake
provider server, loads the installed plugins the way a user's process does, runs each
provider through each scripted fault (and a tool call), calls each provider directly for
the exceptions, and prints as JSON every result, record, metric and exception text it
saw. Logs go to stderr. The test then searches all of it for the canary.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import anyio
from dynamic_orchestrator import Orchestrator, hookimpl
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.errors import ProviderError
from dynamic_orchestrator.log import configure_logging
from dynamic_orchestrator.models import ChatMessage, RequestRecord, ToolSpec
from dynamic_orchestrator.providers import ProviderCall, warm_providers
from dynamic_orchestrator_testing import fake_server as fs

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
TEXT = "Show the contents of config.yaml"


def faults() -> list[fs.Fault]:
    return [
        fs.rate_limit(retry_after=0.05),
        fs.rate_limit(),
        fs.rate_limit(retry_after=60),
        fs.quota_exhausted(),
        fs.server_error(),
        fs.overloaded(),
        fs.timeout(5),
        fs.unauthorized(),
        fs.not_found(),
        fs.bad_request("temperature: must be at most 2"),
        fs.context_length(),
        fs.reply("fine", input_tokens=10, output_tokens=2),
    ]


class Sink:
    """A metrics sink that keeps every record it receives."""

    def __init__(self) -> None:
        self.records: list[str] = []

    @hookimpl
    def record(self, record: RequestRecord) -> None:
        self.records.append(record.model_dump_json())


def exception_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    if isinstance(exc, ProviderError):
        texts.append(exc.describe())
    return texts


async def main() -> dict[str, Any]:
    configure_logging(stdlib=True)
    keys = [os.environ[k] for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY")]
    texts: list[str] = []
    used = 0
    async with fs.FakeProviderServer() as srv:
        config = parse_config(
            {
                "providers": {
                    "openai": {"base_url": srv.openai_base_url, "timeout": 0.5},
                    "anthropic": {"base_url": srv.anthropic_base_url, "timeout": 0.5},
                    "gemini": {"base_url": srv.gemini_base_url, "timeout": 0.5},
                },
                "retry": {"attempts": 2, "initial_wait": 0, "max_wait": 0, "max_retry_after": 1},
                # Every request must reach a provider: no cache answers, no breaker skips.
                "cache": {"enabled": False},
                "circuit_breaker": {"enabled": False},
            }
        )
        orch = Orchestrator(config)  # the installed plugins, loaded from entry points
        sink = Sink()
        orch.pm.register(sink, name="canary-sink")
        await orch.initialize()
        await warm_providers(orch.providers)
        tool = ToolSpec(name="lookup", input_schema={"type": "object"})
        for provider, model in MODELS.items():
            for fault in faults():
                srv.reset()
                srv.script(provider, fault)
                result = await orch.orchestrate(TEXT, options={"model": model})
                texts.append(result.model_dump_json())
                used += sum(any(k in str(r.headers) for k in keys) for r in srv.requests)
            info = orch.catalog.get(model)
            assert info is not None
            call = ProviderCall(
                model=info,
                system="Be brief.",
                messages=[ChatMessage(role="user", content='go [call:lookup {"q": 1}]')],
                tools=[tool],
                timeout=0.5,
            )
            texts.append((await orch.providers[provider].complete(call)).model_dump_json())
            for fault in faults()[:-1]:
                srv.reset()
                srv.script(provider, fault)
                try:
                    texts.append((await orch.providers[provider].complete(call)).model_dump_json())
                except ProviderError as exc:
                    texts += exception_texts(exc)
        texts.append((await orch.analyze(TEXT)).model_dump_json())
        texts.append((await orch.metrics("5m")).model_dump_json())
        await orch.close()
    return {"texts": texts, "records": sink.records, "requests_with_key": used}


if __name__ == "__main__":
    json.dump(anyio.run(main), sys.stdout)
