"""The read timeouts: slow or silent clients are let go within them.

The header timeout uvicorn lacks: each case runs a uvicorn server in a thread with a small
ASGI app and the protocol class from :func:`protocol_class` (httptools and h11),
``header_timeout`` 0.5 s. The body timeout of the request guard (``body_timeout`` 0.5 s):
a body that stops, or one trickled a byte at a time with each part in time, gets 408.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.http_guard import MIN_BODY_RATE, RequestGuard
from dynamic_orchestrator_mcp_server.header_timeout import protocol_class

TIMEOUT = 0.5
EARLY = 0.02
"""How much sooner than TIMEOUT a cut may be seen here: the server arms its timer when it
accepts the connection, a moment before the client starts its clock, and the event loop
runs a timer up to its clock resolution early."""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, answers how many bytes it read."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


@pytest.fixture(params=["httptools", "h11"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    with serving(app, protocol_class(TIMEOUT, request.param)) as bound:
        yield bound


@pytest.fixture
def guarded_port() -> Iterator[int]:
    guard = RequestGuard(app, token=None, hosts=None, origins=[], body_timeout=TIMEOUT)
    with serving(guard, "auto") as bound:
        yield bound


@contextmanager
def serving(asgi: Any, http: Any) -> Iterator[int]:
    """uvicorn serving ``asgi`` in a thread on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        asgi,
        http=http,
        log_level="warning",
        lifespan="off",
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield int(sock.getsockname()[1])
    server.should_exit = True
    thread.join(timeout=10)


def held(port: int, sent: bytes, *, trickle: bool = False, cap: float = 5.0) -> tuple[float, bytes]:
    """Seconds until the server closed the connection (or gave a whole 200), and what it
    answered; with ``trickle``, one more byte every 0.05 s meanwhile."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        started = time.monotonic()
        conn.settimeout(0.05)
        conn.sendall(sent)
        answer = b""
        while time.monotonic() - started < cap:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                if trickle:
                    try:
                        conn.sendall(b"a")
                    except OSError:
                        break
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
            if answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"0\r\n\r\n"):
                break  # a whole chunked answer on a keep-alive connection
        return time.monotonic() - started, answer


def test_headers_that_stop_half_way_get_a_408_within_the_timeout(port: int) -> None:
    seconds, answer = held(port, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: app")
    assert TIMEOUT - EARLY <= seconds < TIMEOUT + 1.0
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 0.5s" in answer


def test_headers_trickled_a_byte_at_a_time_are_cut_off_too(port: int) -> None:
    seconds, answer = held(port, b"GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: ", trickle=True)
    assert TIMEOUT - EARLY <= seconds < TIMEOUT + 1.0
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(port: int) -> None:
    seconds, answer = held(port, b"")
    assert TIMEOUT - EARLY <= seconds < TIMEOUT + 1.0
    assert answer == b""


def test_requests_in_time_are_answered_and_keep_alive_is_unchanged(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(5)
        for _ in range(2):
            conn.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
            assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
            time.sleep(TIMEOUT * 2)  # idle between requests: the keep-alive timeout's (5 s)
        # A body slower than the header timeout is not cut by it (the body has its own).
        conn.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nh")
        time.sleep(TIMEOUT * 2)
        conn.sendall(b"i")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_the_next_request_on_a_connection_has_its_own_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(5)
        conn.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
        time.sleep(TIMEOUT * 2)
        started = time.monotonic()
        conn.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\nX-Half: ")
        answer = conn.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert TIMEOUT * 0.9 <= time.monotonic() - started < TIMEOUT + 1.0


def _post(length: int, first: bytes) -> bytes:
    return f"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n".encode() + first


def test_a_body_in_time_is_read_whole(guarded_port: int) -> None:
    _, answer = held(guarded_port, _post(5, b"hello"))
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\n1\r\n5\r\n0\r\n\r\n")  # the app read all 5 bytes


def test_a_body_that_stops_gets_a_408_within_the_body_timeout(guarded_port: int) -> None:
    seconds, answer = held(guarded_port, _post(100, b"abc"))
    assert TIMEOUT - EARLY <= seconds < TIMEOUT + 1.0
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 0.5s" in answer


def test_a_body_trickled_with_each_part_in_time_is_cut_off_too(guarded_port: int) -> None:
    # one byte every 0.05 s: each part well within the 0.5 s, the whole never done
    seconds, answer = held(guarded_port, _post(10_000, b"a"), trickle=True)
    bound = TIMEOUT + 40 / MIN_BODY_RATE  # at most ~20 bytes arrive by then
    assert TIMEOUT - EARLY <= seconds < bound + 1.0
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_the_setting_and_its_bounds() -> None:
    assert parse_config({}).server.header_timeout == 10.0
    assert parse_config({"server": {"header_timeout": 2}}).server.header_timeout == 2.0
    with pytest.raises(Exception, match="header_timeout"):
        parse_config({"server": {"header_timeout": 0}})
    with pytest.raises(Exception, match="header_timeout"):
        parse_config({"server": {"header_timeout": float("inf")}})
