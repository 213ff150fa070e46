"""The HTTP guard: sessions stay with the client that made them (in a bounded table); a slow
body is cut off."""

from __future__ import annotations

import json
from typing import Any

import anyio
from dynamic_orchestrator.http_guard import RequestGuard, SessionBindings


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Reads the body, then answers 200, handing out a session on the first request.

    The session handed out is ``s1``, or what ``x-new-session`` names; a session named in
    ``x-forgotten`` answers 404, as the SDK does for one it closed.
    """
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    given = scope["headers_in"].get("mcp-session-id")
    new = scope["headers_in"].get("x-new-session", b"s1")
    headers = [] if given else [(b"mcp-session-id", new)]
    status = 404 if given and given == scope["headers_in"].get("x-forgotten") else 200
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def call(
    guard: RequestGuard,
    *,
    method: str = "POST",
    client: str = "10.0.0.1",
    token: str = "t",
    session: str | None = None,
    body: list[dict[str, Any]] | None = None,
    new: str | None = None,
    forgotten: str | None = None,
) -> tuple[int, dict[bytes, bytes], bytes]:
    headers = [(b"host", b"example"), (b"authorization", f"Bearer {token}".encode())]
    if session:
        headers.append((b"mcp-session-id", session.encode()))
    if new:
        headers.append((b"x-new-session", new.encode()))
    if forgotten:
        headers.append((b"x-forgotten", forgotten.encode()))
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
    assert len(g.sessions) == 0


async def test_a_session_the_guard_does_not_hold_gets_404() -> None:
    assert (await call(guard(), session="never-handed-out"))[0] == 404


async def test_the_session_table_keeps_at_most_its_limit_evicting_the_least_recently_used() -> None:
    g = guard(sessions=SessionBindings(limit=3))
    for n in range(1, 6):
        await call(g, client=f"10.0.0.{n}", new=f"s{n}")
        await call(g, client="10.0.0.1", session="s1")  # s1 stays in use
    assert len(g.sessions) == 3
    assert (await call(g, client="10.0.0.1", session="s1"))[0] == 200
    assert (await call(g, client="10.0.0.5", session="s5"))[0] == 200
    # Evicted: not even its owner gets through (it starts a new session), nor anyone else.
    assert (await call(g, client="10.0.0.2", session="s2"))[0] == 404
    assert (await call(g, client="10.0.0.9", session="s2"))[0] == 404


async def test_a_session_the_app_no_longer_knows_is_dropped() -> None:
    g = guard()
    await call(g)
    assert (await call(g, session="s1", forgotten="s1"))[0] == 404  # the app closed it
    assert len(g.sessions) == 0


def test_an_idle_binding_is_dropped_unless_a_request_is_in_flight() -> None:
    now = [0.0]
    table = SessionBindings(idle=1800, clock=lambda: now[0])
    table.bind(b"idle", "a")
    table.bind(b"streaming", "b")
    table.enter(b"streaming")  # e.g. an open GET stream
    now[0] = 1801
    assert table.owner(b"idle") is None
    assert table.owner(b"streaming") == "b"
    table.leave(b"streaming")
    now[0] = 1801 + 1799
    assert table.owner(b"streaming") == "b"  # idle counts from the end of its last request
    now[0] = 1801 + 1801
    assert table.owner(b"streaming") is None and len(table) == 0


async def test_a_body_slower_than_its_timeout_gets_408_and_the_connection_is_freed() -> None:
    g = guard(body_timeout=0.2)
    with anyio.fail_after(5):
        status, _, body = await call(
            g, body=[{"type": "http.request", "body": b"{", "more_body": True}]
        )
    assert status == 408
    assert json.loads(body)["error"] == "request_timeout"


async def answers_500_on_error(scope: Any, receive: Any, send: Any) -> None:
    """Reads the body in a task group and answers 500 on any error, as Starlette's
    ServerErrorMiddleware does behind the MCP SDK, then re-raises."""

    async def read_body() -> None:
        while (await receive()).get("more_body"):
            pass

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(read_body)
    except BaseException:
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})
        raise


async def test_a_slow_body_gets_408_not_the_apps_500_and_the_connection_closes() -> None:
    g = RequestGuard(answers_500_on_error, token=None, hosts=None, origins=[], body_timeout=0.2)
    with anyio.fail_after(5):
        status, headers, body = await call(
            g, body=[{"type": "http.request", "body": b"{", "more_body": True}]
        )
    assert status == 408 and headers[b"connection"] == b"close"
    assert json.loads(body)["error"] == "request_timeout"
