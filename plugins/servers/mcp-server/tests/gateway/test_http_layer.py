"""The gateway's plain-ASGI layer: a client that goes away mid-stream stops the upstream
call, unknown paths and methods answer JSON errors, and an error of the gateway's own is a
500 in the client's API shape, not a dropped connection."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx2
import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.models import RequestRecord
from dynamic_orchestrator_mcp_server.gateway.server import GatewayServer
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

from .conftest import gateway_config

ROLE_CHUNK = {
    "id": "chatcmpl-slow",
    "object": "chat.completion.chunk",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
}


class SlowUpstream:
    """An OpenAI-compatible upstream that sends the first chunk of a stream, then nothing
    for a minute; it notes when the gateway closes the connection."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        self.requests += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        event = f"data: {json.dumps(ROLE_CHUNK)}\n\n".encode()
        writer.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        await writer.drain()
        try:
            await asyncio.wait_for(reader.read(), timeout=60)  # b"" once the peer closes
        except TimeoutError:
            return
        self.closed.set()
        writer.close()

    def __enter__(self) -> SlowUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def slow_gateway(keys: None) -> Iterator[tuple[GatewayServer, SlowUpstream, list[RequestRecord]]]:
    records: list[RequestRecord] = []

    class Sink:
        @hookimpl
        def record(self, record: RequestRecord) -> None:
            records.append(record)

    with SlowUpstream() as upstream:
        config = parse_config(
            {
                "providers": {
                    "openai": {"base_url": f"http://127.0.0.1:{upstream.port}/v1"},
                    "anthropic": {"enabled": False},
                    "gemini": {"enabled": False},
                },
                "retry": {"attempts": 1},
                "cache": {"enabled": False},
                "metrics": {"persist": False},
            }
        )
        with GatewayServer(config) as gw:
            gw.orchestrator.pm.register(Sink())
            yield gw, upstream, records


def test_a_client_that_goes_away_mid_stream_closes_the_upstream_call(
    slow_gateway: tuple[GatewayServer, SlowUpstream, list[RequestRecord]],
) -> None:
    gw, upstream, records = slow_gateway
    body = {
        "model": "gpt-4o",
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "Write a long essay on rivers."}],
    }
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
        raw = json.dumps(body).encode()
        sock.sendall(
            b"POST /v1/messages HTTP/1.1\r\n"
            + f"host: 127.0.0.1:{gw.port}\r\n".encode()
            + b"content-type: application/json\r\n"
            + f"content-length: {len(raw)}\r\n\r\n".encode()
            + raw
        )
        first = b""
        while b"message_start" not in first:
            part = sock.recv(65536)
            assert part, f"the gateway closed the connection: {first!r}"
            first += part
        assert first.startswith(b"HTTP/1.1 200")
    # the client is gone: the gateway stops reading the upstream and closes that call
    assert upstream.closed.wait(10), "the upstream call stayed open after the client left"
    deadline = time.monotonic() + 5
    while not records and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = records
    assert record.status == "failed" and record.error_kind == "cancelled"
    assert upstream.requests == 1


def test_unknown_paths_and_methods_answer_json_errors(
    fake_provider_server: FakeProviderServer, keys: None
) -> None:
    with GatewayServer(gateway_config(fake_provider_server)) as gw:
        missing = httpx2.get(f"{gw.url}/v1/nothing")
        assert missing.status_code == 404 and "/v1/nothing" in missing.json()["error"]["message"]
        wrong = httpx2.get(f"{gw.url}/v1/messages")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        assert wrong.json()["error"]["type"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("path", "error_type"),
    [("/v1/messages", "api_error"), ("/v1/chat/completions", "server_error")],
)
def test_an_error_of_the_gateways_own_is_a_500_in_the_clients_api_shape(
    fake_provider_server: FakeProviderServer,
    keys: None,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    error_type: str,
) -> None:
    from dynamic_orchestrator_mcp_server.gateway import front

    def broken(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(front, "decide", broken)
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "What is 2+2?"}],
    }
    with GatewayServer(gateway_config(fake_provider_server)) as gw:
        answer = httpx2.post(f"{gw.url}{path}", json=body)
        again = httpx2.get(f"{gw.url}/v1/models")  # the server is still there
    assert answer.status_code == 500 and answer.headers["x-orchestrator-request-id"]
    error = answer.json()["error"]
    assert error["type"] == error_type and "internal error" in error["message"]
    assert "a bug" not in answer.text  # no internals in the answer (the log has them)
    assert again.status_code == 200


def test_a_body_over_the_cap_is_refused_whether_declared_or_chunked(
    fake_provider_server: FakeProviderServer, keys: None
) -> None:
    config = gateway_config(fake_provider_server, gateway={"max_request_bytes": 1000})
    body = json.dumps(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 20,
            "messages": [{"role": "user", "content": "x" * 2000}],
        }
    ).encode()
    with GatewayServer(config) as gw:
        declared = httpx2.post(f"{gw.url}/v1/messages", content=body)
        chunked = httpx2.post(f"{gw.url}/v1/messages", content=iter([body]))
        small = httpx2.post(
            f"{gw.url}/v1/messages",
            content=iter([body[:0], json.dumps({"model": "x"}).encode()]),
        )
    assert declared.status_code == 400
    assert f"{len(body)} bytes, more than the limit of 1000" in declared.json()["error"]["message"]
    assert "transfer-encoding" not in declared.request.headers
    assert chunked.request.headers["transfer-encoding"] == "chunked"
    assert chunked.status_code == 400
    assert "more than the limit of 1000 bytes" in chunked.json()["error"]["message"]
    # a chunked body within the cap is read whole (here: refused for what it says)
    assert small.status_code == 400 and "messages" in small.json()["error"]["message"]
