"""The stdio transport: the SDK's message handling on event-loop pipes instead of threads.

The SDK's ``stdio_server()`` reads each line and writes and flushes each answer through a
worker thread (``anyio.wrap_file``): three thread hand-offs per request, measured at about
0.4 ms of CPU per round trip on a 2-CPU machine, more than a whole ``analyze_request``
decision. On POSIX under asyncio, when stdin and stdout are pipes or sockets (as every MCP
client that spawns a server makes them), this module gives the same ``stdio_server()`` line
reader and writer objects built on the event loop's own pipe transports instead; JSON-RPC
parsing, sessions and the protocol stay the SDK's. Anywhere else (a terminal, a regular
file, Windows, trio) it falls back to the SDK's transport unchanged.

Every line gets an answer or a logged reason: the SDK hands a line it cannot parse to the
server as an exception and answers nothing, so :func:`check_frame` looks at each line
first and answers the ones that are not a single JSON-RPC message itself, with -32700
(not JSON: malformed, invalid UTF-8, a lone surrogate) or -32600 (a batch, an id that is
an object, ``params`` that is not an object, nesting deeper than :data:`MAX_DEPTH`, a line
over the size limit), each with a message that says which, and logs it.

As the SDK does, it serves the wire from private duplicates of fds 0 and 1 and points fd 0
at the null device and fd 1 at stderr while serving, so a stray ``print`` or a child
process cannot corrupt the protocol stream; both are restored on exit.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import stat
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types
from dynamic_orchestrator.log import get_logger
from mcp.server.stdio import stdio_server
from pydantic import ValidationError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

MAX_LINE_BYTES = 64 * 1024 * 1024
"""A message line longer than this is dropped (logged), not buffered without bound."""

MAX_DEPTH = 64
"""Arrays and objects nested deeper than this in one message are refused (-32600)."""

PARSE_ERROR, INVALID_REQUEST = -32700, -32600

EOF_DRAIN_SECONDS = 60.0
"""At the end of input, how long the requests in flight get to be answered."""


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def check_frame(raw: bytes) -> tuple[int, str, Any] | None:
    """Why one line is not a JSON-RPC message the server can take, or None when it is.

    :returns: (JSON-RPC error code, message, the id to answer with).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return PARSE_ERROR, f"parse error: invalid UTF-8 at byte {exc.start}", None
    if not text.strip():
        return None  # blank lines are skipped by the SDK too
    try:
        message = json.loads(text)
    except RecursionError:
        return INVALID_REQUEST, f"invalid request: nested deeper than {MAX_DEPTH}", None
    except ValueError as exc:
        return PARSE_ERROR, f"parse error: {exc}", None
    if isinstance(message, list):
        return INVALID_REQUEST, "invalid request: batches are not supported", None
    if not isinstance(message, dict):
        return INVALID_REQUEST, "invalid request: a message must be a JSON object", None
    ident = message.get("id")
    answer_id = ident if isinstance(ident, str) or type(ident) is int else None
    if "id" in message and ident is not None and answer_id is None:
        return INVALID_REQUEST, "invalid request: id must be a string or an integer", None
    if _depth(message) > MAX_DEPTH:
        return INVALID_REQUEST, f"invalid request: nested deeper than {MAX_DEPTH}", answer_id
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return PARSE_ERROR, "parse error: a string holds a lone surrogate escape", answer_id
    if "params" in message and not isinstance(message["params"], dict):
        return INVALID_REQUEST, "invalid request: params must be an object", answer_id
    if message.get("jsonrpc") != "2.0":
        return INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"', answer_id
    try:
        # Exactly the SDK's own parse of the line, so a line passed on is one it takes.
        mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError as exc:
        first = exc.errors()[0]["msg"] if exc.errors() else str(exc)
        return INVALID_REQUEST, f"invalid request: not a JSON-RPC message ({first})", answer_id
    return None


def _error_line(code: int, message: str, answer_id: Any) -> bytes:
    body = {"jsonrpc": "2.0", "id": answer_id, "error": {"code": code, "message": message}}
    return (json.dumps(body) + "\n").encode("utf-8")


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
            answers = _LineWriter(writer)
            lines = _LineReader(reader, max_line_bytes, writer.write, answers)
            async with stdio_server(lines, answers) as (read_stream, write_stream):  # type: ignore[arg-type]
                # MCPServer.run_stdio_async does exactly this with the SDK's own streams.
                lowlevel = server._lowlevel_server
                options = lowlevel.create_initialization_options()
                await lowlevel.run(read_stream, write_stream, options)
        finally:
            read_transport.close()
            write_transport.close()


class _LineReader:
    """What ``stdio_server()`` iterates: the lines of stdin that are JSON-RPC messages.

    Any other line is answered here (``reply``) with a JSON-RPC error, and logged.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        limit: int,
        reply: Callable[[bytes], object],
        answers: _LineWriter | None = None,
    ):
        self._reader = reader
        self._limit = limit
        self._reply = reply
        self._answers = answers

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    def _refuse(self, code: int, message: str, answer_id: Any) -> None:
        get_logger(__name__).warning("stdio_frame_refused", code=code, reason=message)
        self._reply(_error_line(code, message, answer_id))

    async def _lines(self) -> AsyncIterator[str]:
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:  # end of input: a last unended line
                line = end.partial
                if not line:
                    await self._drain()
                    return
            except asyncio.LimitOverrunError:  # longer than the limit: drop it whole
                await self._drop_line()
                self._refuse(
                    INVALID_REQUEST,
                    f"invalid request: message line over the {self._limit}-byte limit, dropped",
                    None,
                )
                continue
            refused = check_frame(line)
            if refused is not None:
                self._refuse(*refused)
                continue
            text = line.decode("utf-8")
            if self._answers is not None:
                self._answers.expect(text)
            yield text
            if not line.endswith(b"\n"):
                await self._drain()
                return

    async def _drain(self) -> None:
        """At the end of input, wait for the answers of the requests already taken: the
        server stops once this iterator ends, and must not drop them."""
        if self._answers is None:
            return
        with anyio.move_on_after(EOF_DRAIN_SECONDS):
            await self._answers.all_answered()
        if self._answers.pending:
            get_logger(__name__).warning(
                "stdio_unanswered_at_eof", requests=len(self._answers.pending)
            )

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
    """What ``stdio_server()`` writes answers to: stdout, with the pipe's back-pressure.

    It also keeps the ids of the requests read and not yet answered (:meth:`expect`).
    """

    def __init__(self, writer: asyncio.StreamWriter):
        self._writer = writer
        self.pending: set[str | int] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def expect(self, line: str) -> None:
        """Note a request read (a message with both ``id`` and ``method``)."""
        message = json.loads(line)
        if isinstance(message, dict) and "method" in message and "id" in message:
            self.pending.add(message["id"])
            self._idle.clear()

    async def all_answered(self) -> None:
        await self._idle.wait()

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))
        if self.pending and ('"result"' in text or '"error"' in text):
            try:
                answered = json.loads(text).get("id")
            except (ValueError, AttributeError):
                answered = None
            self.pending.discard(answered)
            if not self.pending:
                self._idle.set()

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
