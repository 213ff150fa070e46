"""The stdio transport: the SDK's message handling on event-loop pipes instead of threads.

The SDK's ``stdio_server()`` reads each line and writes and flushes each answer through a
worker thread (``anyio.wrap_file``): three thread hand-offs per request, measured at about
0.4 ms of CPU per round trip on a 2-CPU machine, more than a whole ``analyze_request``
decision. On POSIX under asyncio, when stdin and stdout are pipes or sockets (as every MCP
client that spawns a server makes them), this module gives the same ``stdio_server()`` line
reader and writer objects built on the event loop's own pipe transports instead; JSON-RPC
parsing, sessions and the protocol stay the SDK's. Anywhere else (a terminal, a regular
file, Windows, trio) it falls back to the SDK's transport unchanged.

As the SDK does, it serves the wire from private duplicates of fds 0 and 1 and points fd 0
at the null device and fd 1 at stderr while serving, so a stray ``print`` or a child
process cannot corrupt the protocol stream; both are restored on exit.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mcp.server.stdio import stdio_server

from .log import get_logger

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

MAX_LINE_BYTES = 64 * 1024 * 1024
"""A message line longer than this is dropped (logged), not buffered without bound."""

_OVERSIZED = "\x00 message line over the size limit, dropped"
"""Yielded in place of a dropped line: the SDK reports it as a parse error, as for any
line that is not JSON-RPC."""


def fast_path_available() -> bool:
    """Whether stdin and stdout can be served on event-loop pipes here."""
    if sys.platform == "win32":
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio)
        return False
    return all(_pollable(fd) for fd in (0, 1))


def _pollable(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    # Not a terminal: the event loop makes its descriptors non-blocking, and a terminal's
    # open file is shared with stderr and the user's shell.
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def serve_stdio(server: MCPServer, *, max_line_bytes: int = MAX_LINE_BYTES) -> None:
    """Serve ``server`` over this process's stdin and stdout until stdin closes."""
    if not fast_path_available():
        await server.run_stdio_async()
        return
    with _claimed_std_fds() as (in_fd, out_fd):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=max_line_bytes, loop=loop)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
            os.fdopen(in_fd, "rb", buffering=0),
        )
        write_transport, write_protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", buffering=0)
        )
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        try:
            lines, answers = _LineReader(reader, max_line_bytes), _LineWriter(writer)
            async with stdio_server(lines, answers) as (read_stream, write_stream):  # type: ignore[arg-type]
                # MCPServer.run_stdio_async does exactly this with the SDK's own streams.
                lowlevel = server._lowlevel_server
                options = lowlevel.create_initialization_options()
                await lowlevel.run(read_stream, write_stream, options)
        finally:
            read_transport.close()
            write_transport.close()


class _LineReader:
    """What ``stdio_server()`` iterates: the lines of stdin, decoded as UTF-8."""

    def __init__(self, reader: asyncio.StreamReader, limit: int):
        self._reader = reader
        self._limit = limit

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:  # end of input: a last unended line
                if end.partial:
                    yield end.partial.decode("utf-8", errors="replace")
                return
            except asyncio.LimitOverrunError:  # longer than the limit: drop it whole
                get_logger(__name__).warning("stdio_line_dropped", limit_bytes=self._limit)
                await self._drop_line()
                yield _OVERSIZED
                continue
            yield line.decode("utf-8", errors="replace")

    async def _drop_line(self) -> None:
        """Discard input up to and including the next newline (or the end of input)."""
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return


class _LineWriter:
    """What ``stdio_server()`` writes answers to: stdout, with the pipe's back-pressure."""

    def __init__(self, writer: asyncio.StreamWriter):
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


@contextmanager
def _claimed_std_fds() -> Iterator[tuple[int, int]]:
    """Private duplicates of fds 0 and 1; fd 0 reads the null device and fd 1 writes to
    stderr meanwhile. Restored on exit (blocking mode included)."""
    in_fd = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    out_fd = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    saved = [(fd, fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)) for fd in (0, 1)]
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
    finally:
        os.close(null)
    try:
        yield in_fd, out_fd
    finally:
        for fd, copy in saved:
            _restore(fd, copy)


def _restore(fd: int, copy: int) -> None:
    try:
        os.set_blocking(copy, True)
        os.dup2(copy, fd)
    except OSError:
        pass
    finally:
        os.close(copy)
