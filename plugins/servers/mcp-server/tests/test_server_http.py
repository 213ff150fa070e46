"""Streamable HTTP: the installed command and an in-process uvicorn, with the SDK's client."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.errors import ConfigError
from dynamic_orchestrator.http_guard import (
    allowed_hosts,
    check_binding,
    display_url,
    is_loopback,
    read_auth_token,
)
from dynamic_orchestrator.models import INTENTS
from dynamic_orchestrator.orchestrator import Orchestrator
from dynamic_orchestrator_mcp_server.http_transport import http_app
from dynamic_orchestrator_mcp_server.settings import settings_of
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from .server_helpers import COMMAND, Sampler, child_env, text_of

TOKEN = "test-token-5f2a9c"
REQUEST = "Where is the JWT secret loaded from?"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``dynamic-orchestrator serve --transport http`` with a token, an origin and a body cap."""
    tmp = tmp_path_factory.mktemp("http")
    config = tmp / "config.yaml"
    config.write_text(
        "server:\n"
        "  auth_token_env: DO_TEST_TOKEN\n"
        "  allowed_origins: ['https://app.example']\n"
        "  max_request_bytes: 200000\n"
        "  max_request_chars: 1000\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            str(COMMAND),
            "serve",
            "--transport",
            "http",
            "--port",
            str(port),
            "--config",
            str(config),
        ],
        env=child_env(tmp, DO_TEST_TOKEN=TOKEN),
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            break
        except httpx2.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the server did not start: {proc.stderr.read()!r}") from None
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def connect(port: int, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120))
    return streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)


def post(port: int, headers: dict[str, str], body: bytes | None = None) -> httpx2.Response:
    return httpx2.post(
        f"http://127.0.0.1:{port}/mcp",
        headers={**JSON_HEADERS, **headers},
        content=body if body is not None else json.dumps(INITIALIZE).encode(),
        timeout=30,
    )


@pytest.mark.parametrize("protocol", ["legacy", "auto"])
async def test_http_round_trip(http_server: int, protocol: str) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(connect(http_server), mode=protocol) as client:
        assert client.protocol_version == ("2025-11-25" if protocol == "legacy" else "2026-07-28")
        assert {t.name for t in (await client.list_tools()).tools} == {
            "orchestrate",
            "analyze_request",
            "get_metrics",
        }
        analysis = await client.call_tool("analyze_request", {"request": REQUEST})
        assert not analysis.is_error and analysis.structured_content is not None
        assert analysis.structured_content["intent"] in INTENTS
        run = await client.call_tool(
            "orchestrate", {"request": REQUEST}, progress_callback=on_progress
        )
        assert run.structured_content["status"] == "delegated"  # type: ignore[index]
        long = await client.call_tool("orchestrate", {"request": "x" * 1001})
        assert long.is_error and "at most 1000 characters" in text_of(long)
    assert progress == sorted(progress) and progress[-1] == 100


@pytest.mark.parametrize("protocol", ["legacy", "auto"])
async def test_http_sampling(http_server: int, protocol: str) -> None:
    sampler = Sampler("sampled over HTTP")
    async with Client(connect(http_server), mode=protocol, sampling_callback=sampler) as client:
        run = await client.call_tool("orchestrate", {"request": REQUEST})
    data = run.structured_content
    assert data is not None and data["status"] == "completed", text_of(run)
    assert data["output"] == "sampled over HTTP" and data["cost_usd"] is None
    assert len(sampler.requests) == 1


def test_http_checks_token_origin_host_and_size(http_server: int) -> None:
    port = http_server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    missing = post(port, {})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert post(port, {"Authorization": "Bearer wrong"}).status_code == 401
    assert post(port, auth).status_code == 200
    assert post(port, {"Authorization": f"bearer {TOKEN}"}).status_code == 200
    assert post(port, {"Authorization": TOKEN}).status_code == 401
    assert post(port, {**auth, "Origin": f"http://localhost:{port}"}).status_code == 200
    assert post(port, {**auth, "Origin": "https://app.example"}).status_code == 200
    evil = post(port, {**auth, "Origin": "http://evil.example"})
    assert evil.status_code == 403 and "server.allowed_origins" in evil.json()["error_description"]
    assert post(port, {**auth, "Host": "evil.example"}).status_code == 421
    assert post(port, {"Origin": "http://evil.example"}).status_code == 403
    huge = json.dumps({**INITIALIZE, "params": {**INITIALIZE["params"], "pad": "a" * 300_000}})
    too_large = post(port, auth, huge.encode())
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/json"
    assert too_large.json()["error"] == "request_too_large"
    assert "server.max_request_bytes" in too_large.json()["error_description"]
    assert post(port, auth).status_code == 200, "still serving"


async def test_http_client_without_token_is_refused(http_server: int) -> None:
    with pytest.raises(BaseException):  # noqa: B017 - the SDK wraps the 401 in task groups
        async with Client(connect(http_server, token=None), mode="legacy") as client:
            await client.list_tools()


# --- in process: plugin routes beside /mcp ------------------------------------------------------


async def metrics_app(scope: Any, receive: Any, send: Any) -> None:
    body = b"do_up 1\n"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


class Routes:
    @hookimpl
    def register_http_routes(self, register: Any, config: Config) -> None:
        register("/metrics", metrics_app)


@asynccontextmanager
async def serve_in_process(app: Any, port: int) -> AsyncIterator[None]:
    """Run ``app`` on uvicorn in this event loop for the duration of the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.02)
        try:
            yield
        finally:
            server.should_exit = True


@pytest.mark.parametrize("token", [None, TOKEN])
async def test_plugin_routes_are_served_beside_mcp_behind_the_same_checks(
    plugin_manager: Any,
    register_plugin: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    token: str | None,
) -> None:
    from dynamic_orchestrator_testing.pytest_plugin import default_plugins

    for name, module in default_plugins():
        register_plugin(module, name)
    register_plugin(Routes())
    settings: dict[str, Any] = {}
    if token:
        monkeypatch.setenv("DO_ROUTE_TOKEN", token)
        settings["auth_token_env"] = "DO_ROUTE_TOKEN"
    config = parse_config({"server": settings})
    port = free_port()
    orchestrator = Orchestrator(config, plugin_manager=plugin_manager)
    app = http_app(config, "127.0.0.1", port, orchestrator=orchestrator)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = f"http://127.0.0.1:{port}"
    async with (
        httpx2.AsyncClient(base_url=base, headers=headers) as http,
        serve_in_process(app, port),
    ):
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200 and metrics.text == "do_up 1\n"
        evil = await http.get("/metrics", headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        if token:
            assert (await http.get("/metrics", headers={"Authorization": ""})).status_code == 401
        async with Client(connect(port, token), mode="legacy") as client:
            result = await client.call_tool("analyze_request", {"request": REQUEST})
            assert not result.is_error
    assert orchestrator._closed, "the server closes the orchestrator it was given to own"


# --- binding rules -------------------------------------------------------------------------------


def test_loopback_and_binding_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    check_binding("127.0.0.1", None)
    check_binding("0.0.0.0", "a-token-long-enough")
    check_binding("127.0.0.1", "abc")  # on loopback the token is a convenience, any length
    with pytest.raises(ConfigError, match=r"has 3 characters; beyond loopback at least 16"):
        check_binding("0.0.0.0", "abc")
    assert display_url("::1", 8080, "/mcp") == "http://[::1]:8080/mcp"
    assert display_url("127.0.0.1", 8080, "/mcp") == "http://127.0.0.1:8080/mcp"
    with pytest.raises(ConfigError, match=r"refusing to listen on 192\.168\.1\.10"):
        check_binding("192.168.1.10", None)
    assert allowed_hosts("0.0.0.0", 8080) is None, "a wildcard bind cannot list Host values"
    assert allowed_hosts("127.0.0.1", 8080) == ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"]

    # the seed's top-level key still names the variable, now a setting of this plugin
    env = settings_of(parse_config({"server": {"auth_token_env": "DO_ABSENT_TOKEN"}}))
    assert env.server.auth_token_env == "DO_ABSENT_TOKEN"
    monkeypatch.delenv("DO_ABSENT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="DO_ABSENT_TOKEN is not set"):
        read_auth_token(env.server.auth_token_env)
    monkeypatch.setenv("DO_ABSENT_TOKEN", "s3cr3t-value")
    assert read_auth_token(env.server.auth_token_env) == "s3cr3t-value"
    assert read_auth_token(settings_of(Config()).server.auth_token_env) is None


def test_beyond_loopback_the_app_is_built_only_with_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DO_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0"):
        http_app(Config(), "0.0.0.0", 8080)
    config = parse_config({"server": {"auth_token_env": "DO_TEST_TOKEN"}})
    with pytest.raises(ConfigError, match="DO_TEST_TOKEN is not set"):
        http_app(config, "0.0.0.0", 8080)
    monkeypatch.setenv("DO_TEST_TOKEN", TOKEN)
    assert callable(http_app(config, "0.0.0.0", 8080))
