"""``serve --transport http`` serves the gateway's routes beside ``/mcp``, behind its checks."""

from __future__ import annotations

import anthropic
import anyio
import httpx2
from dynamic_orchestrator import Orchestrator
from dynamic_orchestrator_mcp_server.http_transport import http_app
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

from ..test_server_http import free_port, serve_in_process
from .conftest import gateway_config


async def test_one_process_is_both_the_mcp_server_and_the_gateway(
    fake_provider_server: FakeProviderServer, keys: None, monkeypatch: object
) -> None:
    config = gateway_config(fake_provider_server)
    port = free_port()
    orchestrator = Orchestrator(config)
    app = http_app(config, "127.0.0.1", port, orchestrator=orchestrator)
    base = f"http://127.0.0.1:{port}"
    async with httpx2.AsyncClient(base_url=base) as http, serve_in_process(app, port):
        models = await http.get("/v1/models")
        assert models.status_code == 200 and models.headers["x-orchestrator-request-id"]
        evil = await http.get("/v1/models", headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        sdk = anthropic.AsyncAnthropic(base_url=base, api_key="x", max_retries=0)
        answer = await sdk.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=20,
            messages=[{"role": "user", "content": "What is 2+2?"}],
        )
        assert answer.content[0].text == "echo: What is 2+2?"  # type: ignore[union-attr]
        assert (await http.get("/mcp")).status_code != 404
        await anyio.sleep(0)
