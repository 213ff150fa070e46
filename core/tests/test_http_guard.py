"""The HTTP guard: sessions stay with the client that made them; a slow body is cut off."""

from __future__ import annotations

import json
from typing import Any

import anyio
from dynamic_orchestrator.http_guard import RequestGuard


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Reads the body, then answers 200, handing out a session on the first request."""
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    headers = [] if scope["headers_in"].get("mcp-session-id") else [(b"mcp-session-id", b"s1")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def call(
    guard: RequestGuard,
    *,
    method: str = "POST",
    client: str = "10.0.0.1",
    token: str = "t",
    session: str | None = None,
    body: list[dict[str, Any]] | None = None,
) -> tuple[int, dict[bytes, bytes], bytes]:
    headers = [(b"host", b"example"), (b"authorization", f"Bearer {token}".encode())]
    if session:
        headers.append((b"mcp-session-id", session.encode()))
    scope = {
        "type": "http",
        "method": method,
        "headers": headers,
        "client": (client, 5000),
        "headers_in": {k.decode(): v for k, v in headers},
    }
    parts = list(body if body is not None else [{"type": "http.request", "body": b"{}"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if parts:
            return parts.pop(0)
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await guard(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body_bytes = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start.get("headers", [])), body_bytes


def guard(**kwargs: Any) -> RequestGuard:
    return RequestGuard(app, token=None, hosts=None, origins=[], **kwargs)


async def test_a_session_answers_only_the_client_that_made_it() -> None:
    g = guard()
    status, headers, _ = await call(g)
    assert status == 200 and headers[b"mcp-session-id"] == b"s1"
    assert (await call(g, session="s1"))[0] == 200  # its own client
    assert (await call(g, session="s1", client="10.0.0.2"))[0] == 404  # another address
    assert (await call(g, session="s1", token="other"))[0] == 404  # other credentials
    assert (await call(g, method="DELETE", session="s1", client="10.0.0.2"))[0] == 404
    assert (await call(g, method="DELETE", session="s1"))[0] == 200  # its owner may end it


async def test_a_body_slower_than_its_timeout_gets_408_and_the_connection_is_freed() -> None:
    g = guard(body_timeout=0.2)
    with anyio.fail_after(5):
        status, _, body = await call(
            g, body=[{"type": "http.request", "body": b"{", "more_body": True}]
        )
    assert status == 408
    assert json.loads(body)["error"] == "request_timeout"
