"""The request guard's body timeout: a body that stops, or that is trickled a byte at a
time with each part in time, gets 408 and frees its connection; a body in time is read.

Each case runs uvicorn in a thread with a small ASGI app behind :class:`RequestGuard`
(``body_timeout`` 0.5 s) and talks to it over a raw socket.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from dynamic_orchestrator.http_guard import MIN_BODY_RATE, RequestGuard

TIMEOUT = 0.5


async def echo_length(scope: dict[str, Any], receive: Any, send: Any) -> None:
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


@pytest.fixture
def port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    guard = RequestGuard(echo_length, token=None, hosts=None, origins=[], body_timeout=TIMEOUT)
    server = uvicorn.Server(uvicorn.Config(guard, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield int(sock.getsockname()[1])
    server.should_exit = True
    thread.join(timeout=10)


def post(
    port: int, length: int, first: bytes, *, every: float | None = None
) -> tuple[float, bytes]:
    """Send a POST head declaring ``length`` bytes and ``first``; with ``every``, one more
    byte each ``every`` seconds. Seconds until the server answered and closed, the answer."""
    head = f"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        started = time.monotonic()
        conn.sendall(head + first)
        conn.settimeout(every or 0.05)
        answer = b""
        while time.monotonic() - started < 10:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                if every is not None:
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


def test_a_body_in_time_is_read_whole(port: int) -> None:
    _, answer = post(port, 5, b"hello")
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\n1\r\n5\r\n0\r\n\r\n")  # the app read all 5 bytes


def test_a_body_that_stops_gets_a_408_within_the_timeout(port: int) -> None:
    seconds, answer = post(port, 100, b"abc")
    assert TIMEOUT <= seconds < TIMEOUT + 1.0
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 0.5s" in answer


def test_a_body_trickled_with_each_part_in_time_is_cut_off_too(port: int) -> None:
    # one byte every 0.1 s: each part well within the 0.5 s, the whole never done
    seconds, answer = post(port, 10_000, b"a", every=0.1)
    bound = TIMEOUT + 40 / MIN_BODY_RATE  # at most ~40 bytes arrive by then
    assert TIMEOUT <= seconds < bound + 1.0
    assert answer.startswith(b"HTTP/1.1 408 ")
