"""The stdio transport on event-loop pipes: framing, back-pressure, stray output, limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

SERVER = Path(__file__).with_name("stdio_transport_server.py")
HANDSHAKE: list[dict[str, Any]] = [
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]


def call(request_id: int, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    params = {"name": tool, "arguments": arguments or {}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def lines(*messages: dict[str, Any] | str) -> str:
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


def run_raw(
    messages: list[dict[str, Any] | str],
    expect: int,
    file: Path | None = None,
    limit: int = 1 << 20,
) -> tuple[list[str], str]:
    """Send the messages to a server, wait for ``expect`` answers besides the handshake's,
    close its stdin, and return all its stdout lines and its stderr once it has exited.

    With ``file``, the messages are written there and the server reads that file as its
    stdin; it stops at the file's end, so only the handshake's answer is certain.
    """
    command = [sys.executable, str(SERVER), str(limit)]
    if file is not None:
        file.write_text(lines(*messages))
        with file.open("rb") as source:
            done = subprocess.run(command, stdin=source, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode().splitlines(), done.stderr.decode()
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(lines(*messages).encode())
        proc.stdin.flush()
        out: list[str] = []
        answered = 0
        while answered < expect:
            line = proc.stdout.readline()
            assert line, "the server closed stdout early"
            out.append(line.decode().rstrip("\n"))
            answered += json.loads(line).get("id") not in (None, 0)
        proc.stdin.close()
        rest = proc.stdout.read()
        err = proc.stderr.read()  # type: ignore[union-attr]
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    return out + rest.decode().splitlines(), err.decode()


def answers(out: list[str]) -> dict[int, dict[str, Any]]:
    """The JSON-RPC answers by id; every line before the last must be JSON-RPC."""
    *wire, last = out
    assert last == "stdout restored"
    parsed = [json.loads(line) for line in wire]
    return {m["id"]: m for m in parsed if "id" in m}


async def test_sdk_client_gets_answers_larger_than_a_pipe_buffer() -> None:
    server = StdioServerParameters(command=sys.executable, args=[str(SERVER), "1048576"])
    async with Client(server) as client:
        big = await client.call_tool("big", {"size": 3_000_000})
        threads = await client.call_tool("threads", {})
        small = await client.call_tool("big", {"size": 3})
    assert not big.is_error and big.content[0].text == "x" * 3_000_000  # type: ignore[union-attr]
    # No worker thread reads stdin or writes stdout on this path.
    assert threads.structured_content == {"result": 1}
    assert small.content[0].text == "xxx"  # type: ignore[union-attr]


def test_stray_output_goes_to_stderr_and_stdout_is_restored_after() -> None:
    out, err = run_raw([*HANDSHAKE, call(1, "noisy"), call(2, "big", {"size": 2})], 2)
    by_id = answers(out)  # every wire line parsed as JSON-RPC
    assert by_id[1]["result"]["content"][0]["text"] == "quiet"
    assert by_id[2]["result"]["content"][0]["text"] == "xx"
    assert "stray print from the server" in err and "stray output of a child" in err


def test_an_oversized_line_is_dropped_and_the_next_one_answered() -> None:
    oversized = json.dumps(call(1, "big", {"size": 1, "padding": "y" * 20_000}))
    out, err = run_raw([*HANDSHAKE, oversized, call(2, "big", {"size": 4})], 1, limit=4096)
    by_id = answers(out)
    assert 1 not in by_id
    assert by_id[2]["result"]["content"][0]["text"] == "xxxx"
    assert "stdio_frame_refused" in err and "4096-byte limit" in err
    (refusal,) = [m for m in map(json.loads, (x for x in out if x.startswith("{"))) if "error" in m]
    assert refusal["id"] is None and refusal["error"]["code"] == -32600


def test_a_line_just_under_the_limit_is_read_whole() -> None:
    message = call(1, "big", {"size": 5})
    message["params"]["_meta"] = {"padding": "z" * (4096 - len(json.dumps(message)) - 40)}
    assert len(json.dumps(message)) < 4096
    out, _ = run_raw([*HANDSHAKE, message], 1, limit=4096)
    assert answers(out)[1]["result"]["content"][0]["text"] == "xxxxx"


@pytest.mark.parametrize("text", ["caf\u00e9 \u2603 \U0001f600", "line\\nbreak"])
def test_utf8_round_trips(text: str) -> None:
    out, _ = run_raw([*HANDSHAKE, call(1, "echo", {"text": text})], 1)
    assert answers(out)[1]["result"]["content"][0]["text"] == text


def test_stdin_from_a_file_falls_back_to_the_sdk_transport(tmp_path: Path) -> None:
    # asyncio's pipe transports refuse a regular file, so any answer here comes from the
    # SDK's transport (which reads the file in a worker thread).
    out, err = run_raw([*HANDSHAKE, call(1, "threads")], 0, file=tmp_path / "in.jsonl")
    by_id = answers(out)
    assert by_id[0]["result"]["serverInfo"]["name"] == "stdio-test", err


def test_only_pipes_and_sockets_take_the_event_loop_path(tmp_path: Path) -> None:
    import os
    import pty
    import socket

    from dynamic_orchestrator_mcp_server.stdio_transport import _pollable

    read_end, write_end = os.pipe()
    left, right = socket.socketpair()
    controller, terminal = pty.openpty()
    regular = os.open(tmp_path / "file", os.O_RDWR | os.O_CREAT)
    try:
        assert _pollable(read_end) and _pollable(write_end)
        assert _pollable(left.fileno())
        assert not _pollable(terminal)  # shared with the shell: never made non-blocking
        assert not _pollable(regular)
        assert not _pollable(999)  # not open
    finally:
        for fd in (read_end, write_end, controller, terminal, regular):
            os.close(fd)
        left.close()
        right.close()
