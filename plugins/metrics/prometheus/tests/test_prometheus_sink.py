"""The Prometheus sink, scraped over real HTTP and read with the official client's parsers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import dynamic_orchestrator_prometheus
import httpx2
import pytest
import uvicorn
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import ModelInfo, PriceTiers
from dynamic_orchestrator.config import Config, MetricsConfig
from dynamic_orchestrator.hooks import Hooks
from dynamic_orchestrator.models import Completion
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_prometheus import MetricsEndpoint, PrometheusSink
from dynamic_orchestrator_prometheus.http import LiveSinks
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_testing.sink_cases import KNOWN_RECORDS
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text
from starlette.applications import Starlette
from starlette.routing import Route

CANARY = "sk-canary-7f3a9c"


def samples(
    text: str, parser: Callable[[str], Any] = parse_text
) -> dict[tuple[str, tuple[Any, ...]], float]:
    """Every sample, keyed by name and sorted labels."""
    out = {}
    for family in parser(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@asynccontextmanager
async def serve(routes: list[tuple[str, Any]]) -> AsyncIterator[str]:
    """The registered routes on a real HTTP server, as the HTTP transport mounts them."""
    app = Starlette(routes=[Route(path, endpoint=asgi) for path, asgi in routes])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


def _known_sink() -> PrometheusSink:
    sink = PrometheusSink(models=["small-model", "big-model"], services=["git"])
    for record in KNOWN_RECORDS:
        sink.add(record)
    return sink


async def test_known_records_scraped_over_http_and_parsed() -> None:
    live = LiveSinks()
    config = Config()
    live.add(config, _known_sink())
    endpoint = MetricsEndpoint(config, live)
    async with serve([("/metrics", endpoint)]) as url, httpx2.AsyncClient() as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    p = "dynamic_orchestrator"

    def requests(status: str, intent: str, tier: str, model: str) -> float:
        labels = (("intent", intent), ("model", model), ("status", status), ("tier", tier))
        return got[(f"{p}_requests_total", labels)]

    assert requests("completed", "read", "simple", "small-model") == 2  # r1, r8
    assert requests("completed", "read", "complex", "big-model") == 1
    assert requests("failed", "analyze", "complex", "none") == 1
    assert requests("delegated", "search", "simple", "other") == 1  # plan-model: not registered
    assert sum(v for (n, _), v in got.items() if n == f"{p}_requests_total") == len(KNOWN_RECORDS)

    def hist(suffix: str, status: str, le: str | None = None) -> float:
        labels = [("status", status)] + ([("le", le)] if le else [])
        return got[(f"{p}_request_duration_seconds_{suffix}", tuple(sorted(labels)))]

    assert hist("count", "completed") == 5
    assert hist("sum", "completed") == pytest.approx(0.1 + 0.2 + 1.0 + 2.0 + 0.05)
    assert hist("bucket", "completed", "0.1") == 2  # 50 ms and 100 ms
    assert hist("bucket", "completed", "1.0") == 4
    assert hist("bucket", "failed", "+Inf") == 2

    def labelled(name: str, **labels: str) -> float:
        return got[(f"{p}_{name}", tuple(sorted(labels.items())))]

    assert labelled("tokens_total", direction="input", basis="measured", model="small-model") == 110
    assert (
        labelled("tokens_total", direction="output", basis="estimated", model="big-model") == 1000
    )
    assert labelled("cost_usd_total", basis="measured", model="small-model") == 0.75  # r1 + r8
    assert labelled("cost_usd_total", basis="estimated", model="big-model") == 1.0
    assert (
        "dynamic_orchestrator_cost_usd_total",
        (("basis", "measured"), ("model", "big-model")),
    ) not in got
    assert labelled("saved_usd", basis="measured") == 1.0  # r1 + r8
    assert labelled("saved_usd", basis="estimated") == -0.25  # r2 + r6: signed, so a gauge
    assert labelled("tokens_saved", basis="measured") == 455
    assert labelled("unclaimed_requests_total") == 4
    assert labelled("unpriced_requests_total") == 1
    assert labelled("cache_hits_total", model="small-model") == 1
    assert labelled("service_requests_total", service="git") == 2
    assert labelled("service_requests_total", service="other") == 2  # fs: not registered


async def test_openmetrics_when_asked_for() -> None:
    live = LiveSinks()
    config = Config()
    live.add(config, _known_sink())
    endpoint = MetricsEndpoint(config, live)
    transport = httpx2.ASGITransport(app=endpoint)
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(
            "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in parse_openmetrics(response.text)}
    assert families["dynamic_orchestrator_request_duration_seconds"].unit == "seconds"
    assert families["dynamic_orchestrator_cost_usd"].unit == "usd"
    assert families["dynamic_orchestrator_requests"].type == "counter"
    assert families["dynamic_orchestrator_saved_usd"].type == "gauge"


async def test_no_running_orchestrator_is_a_clear_503() -> None:
    endpoint = MetricsEndpoint(Config(), LiveSinks())
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=endpoint), base_url="http://test"
    ) as client:
        response = await client.get("/metrics")
        posted = await client.post("/metrics")
    assert response.status_code == 503
    assert "no orchestrator with Prometheus metrics is running" in response.text
    assert posted.status_code == 405


# --- as a plugin ---------------------------------------------------------------------------


class ChattyProvider(EchoProvider):
    """Echoes, and reports a made-up model name: it must not reach a label."""

    async def complete(self, call: ProviderCall) -> Completion:
        completion = await super().complete(call)
        return completion.model_copy(update={"model": f"model-{CANARY}"})


def _provider_plugin(provider: EchoProvider) -> object:
    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(provider)

        @hookimpl
        def register_models(self, register: Any) -> None:
            register(
                ModelInfo(
                    name="echo-model",
                    provider=provider.name,
                    tiers=("simple", "moderate", "complex"),
                    input_price=PriceTiers(1.0),
                    output_price=PriceTiers(2.0),
                    context_window=100_000,
                )
            )

    return Plugin()


def _config(**metrics: Any) -> Config:
    return Config(
        execution={t: {"preferred": "echo-model"} for t in ("simple", "moderate", "complex")},  # type: ignore[misc]
        metrics=MetricsConfig(**metrics),
    )


async def test_labels_never_carry_request_text_or_secrets(
    make_orchestrator: Any, plugin_manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    config = _config()
    orch = await make_orchestrator(
        config, plugins=(dynamic_orchestrator_prometheus, _provider_plugin(ChattyProvider("echo")))
    )
    for text in (f"Where is {CANARY} loaded from?", f"Write {CANARY} to the vault"):
        result = await orch.orchestrate(text, context={"key": CANARY}, options={"max_tokens": 50})
        assert result.status == "completed" and CANARY in (result.model or "")
    routes = dict(Hooks(plugin_manager).register_http_routes(config))
    async with serve(list(routes.items())) as url, httpx2.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    assert CANARY not in text
    got = samples(text)
    completed = [
        dict(labels)
        for (name, labels), value in got.items()
        if name == "dynamic_orchestrator_requests_total" and value
    ]
    assert {labels["model"] for labels in completed} == {"other"}
    assert sum(got[k] for k in got if k[0] == "dynamic_orchestrator_requests_total") == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_own_port_for_stdio_deployments(make_orchestrator: Any) -> None:
    port = _free_port()
    orch = await make_orchestrator(
        _config(prometheus_port=port),
        plugins=(dynamic_orchestrator_prometheus, _provider_plugin(EchoProvider("echo"))),
    )
    await orch.orchestrate("show me the readme")
    plugin = orch.pm.get_plugin(dynamic_orchestrator_prometheus.ATTACHED_NAME)
    assert plugin.server is not None and plugin.server.port == port
    async with httpx2.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    got = samples(response.text)
    key = (
        "dynamic_orchestrator_requests_total",
        (("intent", "read"), ("model", "echo-model"), ("status", "completed"), ("tier", "simple")),
    )
    assert got[key] == 1
    await orch.close()
    with pytest.raises(httpx2.TransportError):  # closed with the orchestrator
        async with httpx2.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/metrics")


async def test_a_taken_port_is_reported_and_requests_go_on(make_orchestrator: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        orch = await make_orchestrator(
            _config(prometheus_port=port),
            plugins=(dynamic_orchestrator_prometheus, _provider_plugin(EchoProvider("echo"))),
        )
        result = await orch.orchestrate("show me the readme")
    assert result.status == "completed"
    plugin = orch.pm.get_plugin(dynamic_orchestrator_prometheus.ATTACHED_NAME)
    assert plugin.server is None
    assert f"cannot serve Prometheus metrics on 127.0.0.1:{port}" in plugin.error


async def test_the_endpoint_serves_the_orchestrator_of_its_config() -> None:
    from dynamic_orchestrator import Orchestrator
    from dynamic_orchestrator.plugins import make_plugin_manager

    async def start(n: int) -> Orchestrator:
        pm = make_plugin_manager(load_entrypoints=False)
        pm.register(dynamic_orchestrator_prometheus, name="prometheus")
        orch = await Orchestrator(Config(), plugin_manager=pm).initialize()
        for _ in range(n):
            await orch.orchestrate("show me the readme", options={"execute": False})
        return orch

    first, second = await start(1), await start(3)
    try:
        for orch, expected in ((first, 1.0), (second, 3.0)):
            routes = dict(Hooks(orch.pm).register_http_routes(orch.config))
            transport = httpx2.ASGITransport(app=routes["/metrics"])
            async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
                text = (await client.get("/metrics")).text
            got = samples(text)
            total = sum(
                v for (n, _), v in got.items() if n == "dynamic_orchestrator_requests_total"
            )
            assert total == expected
    finally:
        await first.close()
        await second.close()
