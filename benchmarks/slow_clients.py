"""How long slow clients hold a connection to ``serve --transport http``.

    uv run python benchmarks/slow_clients.py [--connections 100] [--cap 30]

Starts the server on a free loopback port, then opens ``--connections`` connections for
each pattern at once and times how long the server keeps each open (until it closes the
connection or answers with an error), up to ``--cap`` seconds:

- ``idle after a response``: one complete request, then nothing (keep-alive timeout, 5 s);
- ``headers, then silence``: a request line and part of the headers, then nothing;
- ``headers, one byte a second``: the headers trickled, never finished;
- ``body, then silence``: full headers, part of the body, then nothing (body timeout, 10 s);
- ``body, one byte every 2 s``: each part in time, the body never finished.

uvicorn has no timeout for request headers, and the body timeout counts per part: the
patterns that keep sending, and a head that stops half-way, are held until the cap (and
in the server for as long as the client keeps them). The load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

Pattern = Callable[[asyncio.StreamWriter, str], Awaitable[None]]


async def idle_after_response(writer: asyncio.StreamWriter, host: str) -> None:
    writer.write(f"GET /nothing-here HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()


async def headers_then_silence(writer: asyncio.StreamWriter, host: str) -> None:
    writer.write(f"POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: app".encode())
    await writer.drain()


async def headers_trickled(writer: asyncio.StreamWriter, host: str) -> None:
    writer.write(f"POST /mcp HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
    while True:
        await asyncio.sleep(1)
        writer.write(b"a")
        await writer.drain()


def _body_head(host: str) -> bytes:
    return (
        f"POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"
    ).encode()


async def body_then_silence(writer: asyncio.StreamWriter, host: str) -> None:
    writer.write(_body_head(host))
    await writer.drain()


async def body_trickled(writer: asyncio.StreamWriter, host: str) -> None:
    writer.write(_body_head(host))
    while True:
        await writer.drain()
        await asyncio.sleep(2)
        writer.write(b" ")


PATTERNS: dict[str, Pattern] = {
    "idle after a response": idle_after_response,
    "headers, then silence": headers_then_silence,
    "headers, one byte a second": headers_trickled,
    "body, then silence": body_then_silence,
    "body, one byte every 2 s": body_trickled,
}


async def held(port: int, pattern: Pattern, cap: float) -> tuple[float, bytes]:
    """Seconds until the server closed the connection (or ``cap``) and its status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    sender = asyncio.create_task(pattern(writer, f"127.0.0.1:{port}"))
    status = b""
    try:
        async with asyncio.timeout(cap):
            status = await reader.readline()
            # a response: for an error the server closes; after a 404 it keeps the
            # connection alive, so read on until it is closed
            while await reader.read(65536):
                pass
    except TimeoutError:
        pass
    except ConnectionError:
        pass
    finally:
        sender.cancel()
        writer.close()
    return time.perf_counter() - started, status.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not listen on port {port} within {seconds:.0f}s")


async def measure(port: int, connections: int, cap: float) -> None:
    names = list(PATTERNS)
    runs = [
        asyncio.gather(*(held(port, PATTERNS[name], cap) for _ in range(connections)))
        for name in names
    ]
    results = await asyncio.gather(*runs)
    for name, outcomes in zip(names, results, strict=True):
        seconds = [s for s, _ in outcomes]
        at_cap = sum(1 for s in seconds if s >= cap - 0.05)
        statuses = sorted({status.decode(errors="replace") or "(none)" for _, status in outcomes})
        print(
            f"  {name:<28} held median {statistics.median(seconds):5.1f} s, "
            f"max {max(seconds):5.1f} s; at the {cap:g} s cap: {at_cap}/{connections}; "
            f"answer: {', '.join(statuses)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--cap", type=float, default=30.0)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dynamic_orchestrator",
            "serve",
            "--transport",
            "http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"serve --transport http on 127.0.0.1:{port}; {args.connections} connections per "
            f"pattern, all patterns at once; load average {load}"
        )
        asyncio.run(measure(port, args.connections, args.cap))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
