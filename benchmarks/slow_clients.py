"""How long slow clients hold a connection to ``serve --transport http``.

    uv run python benchmarks/slow_clients.py [--connections 100] [--cap 30] [--header-timeout 10]

Starts the server on a free loopback port, then opens ``--connections`` connections for
each pattern at once and times how long the server keeps each open (until it closes the
connection or answers with an error), up to ``--cap`` seconds:

- ``idle after a response``: one complete request, then nothing (keep-alive timeout, 5 s);
- ``connected, nothing sent``: a connection that never sends a byte (header timeout);
- ``headers, then silence``: a request line and part of the headers, then nothing
  (header timeout, ``server.header_timeout``, then 408);
- ``headers, one byte a second``: the headers trickled, never finished (header timeout);
- ``body, then silence``: full headers, part of the body, then nothing (body timeout, 10 s);
- ``body, one byte every 2 s``: each part in time, the body never finished.

uvicorn has no timeout for request headers; the server adds one (``server.header_timeout``,
10 s, ``--header-timeout`` here), and the script checks that the three slow-header
patterns were each closed within it (plus 1 s of slack): ``met`` or ``NOT met``; and the
two slow-body patterns within the body timeout (``server.body_timeout``, 10 s for each
part, and for the whole body 10 s plus a second per 500 bytes, as Apache's
``mod_reqtimeout``), plus 1 s. The load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable

Pattern = Callable[[asyncio.StreamWriter, str], Awaitable[None]]


async def idle_after_response(writer: asyncio.StreamWriter, host: str) -> None:
    writer.write(f"GET /nothing-here HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()


async def nothing_sent(writer: asyncio.StreamWriter, host: str) -> None:
    return None


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
    "connected, nothing sent": nothing_sent,
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


HEADER_PATTERNS = ("connected, nothing sent", "headers, then silence", "headers, one byte a second")
"""The patterns the header timeout must end."""

BODY_PATTERNS = ("body, then silence", "body, one byte every 2 s")
"""The patterns the body timeout must end (``server.body_timeout``, 10 s: each part, and
the whole at 500 bytes/s after the first 10 s)."""
BODY_TIMEOUT = 10.0


async def measure(port: int, connections: int, cap: float, header_timeout: float) -> int:
    """Print each pattern's figures; the number of header patterns held past the timeout."""
    names = list(PATTERNS)
    runs = [
        asyncio.gather(*(held(port, PATTERNS[name], cap) for _ in range(connections)))
        for name in names
    ]
    results = await asyncio.gather(*runs)
    missed = 0
    for name, outcomes in zip(names, results, strict=True):
        seconds = [s for s, _ in outcomes]
        at_cap = sum(1 for s in seconds if s >= cap - 0.05)
        statuses = sorted({status.decode(errors="replace") or "(none)" for _, status in outcomes})
        print(
            f"  {name:<28} held median {statistics.median(seconds):5.1f} s, "
            f"max {max(seconds):5.1f} s; at the {cap:g} s cap: {at_cap}/{connections}; "
            f"answer: {', '.join(statuses)}"
        )
        for kind, timeout, patterns in (
            ("header", header_timeout, HEADER_PATTERNS),
            ("body", BODY_TIMEOUT, BODY_PATTERNS),
        ):
            if name not in patterns:
                continue
            bound = timeout + 1.0
            late = sum(1 for s in seconds if s > bound)
            verdict = "met" if not late else f"NOT met ({late} held longer)"
            print(f"    closed within the {kind} timeout + 1 s ({bound:g} s): {verdict}")
            missed += bool(late)
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--cap", type=float, default=30.0)
    parser.add_argument(
        "--header-timeout", type=float, default=10.0, help="server.header_timeout (seconds)."
    )
    args = parser.parse_args()
    port = free_port()
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)  # noqa: SIM115
    with config:
        json.dump({"server": {"header_timeout": args.header_timeout}}, config)
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
            "--config",
            config.name,
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"serve --transport http on 127.0.0.1:{port}; {args.connections} connections per "
            f"pattern, all patterns at once; server.header_timeout {args.header_timeout:g} s; "
            f"load average {load}"
        )
        missed = asyncio.run(measure(port, args.connections, args.cap, args.header_timeout))
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.unlink(config.name)
    raise SystemExit(1 if missed else 0)


if __name__ == "__main__":
    main()
