"""A streamable HTTP service (``type: http``, ``url``) served by a real server process."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator_mcp_services import McpService, ServiceError

from .conftest import PROBE_SERVER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HttpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(PROBE_SERVER), "--http", str(self.port)]
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    async def wait_listening(self) -> None:
        with anyio.fail_after(20):
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return
                except OSError:
                    await anyio.sleep(0.05)


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer(_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _call_until_it_answers(service: McpService, timeout: float = 30) -> str:
    with anyio.fail_after(timeout):
        while True:
            try:
                return await service.call_tool("process_id", {}, timeout=5)
            except (ServiceError, TimeoutError):
                await anyio.sleep(0.1)


async def test_an_http_service_is_listed_called_and_reconnected(
    http_server: HttpServer, orchestrator_factory: Any
) -> None:
    await http_server.wait_listening()
    url = f"http://127.0.0.1:{http_server.port}/mcp"
    config = parse_config(
        {
            "mcp_services": {"remote": {"type": "http", "url": url, "capabilities": ["read"]}},
            "plugins": {"settings": {"mcp_services": {"backoff_initial": 0.1, "backoff_max": 0.5}}},
        }
    )
    orch = await orchestrator_factory(config)
    remote = orch.services[0]
    assert isinstance(remote, McpService) and remote.state == "ready"
    assert {"environment", "process_id", "probe"} <= {t.name for t in remote.known_tools()}
    assert remote.env is None  # no child: nothing inherits anything
    first = int(await remote.call_tool("process_id", {}, timeout=10))
    assert first == http_server.process.pid  # type: ignore[union-attr]

    result = await orch.analyze("Return the process id of the server")
    assert result.services == ["remote"] and result.tools[0] == "process_id"

    http_server.stop()
    with pytest.raises((ServiceError, TimeoutError)):
        await remote.call_tool("process_id", {}, timeout=5)
    http_server.start()
    await http_server.wait_listening()
    second = int(await _call_until_it_answers(remote))
    assert second == http_server.process.pid != first  # type: ignore[union-attr]
    assert remote.restarts >= 1
