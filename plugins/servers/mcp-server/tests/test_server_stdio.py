"""The installed ``dynamic-orchestrator serve`` over stdio, through the SDK's real client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from .server_helpers import COMMAND, Sampler, child_env, text_of

REQUEST = "Refactor the authentication module to use dependency injection"


def params(tmp_path: Path, *args: str) -> StdioServerParameters:
    assert COMMAND.exists(), f"{COMMAND} is not installed: run 'uv sync'"
    return StdioServerParameters(
        command=str(COMMAND), args=["serve", *args], env=child_env(tmp_path), cwd=str(tmp_path)
    )


@pytest.mark.parametrize("protocol", ["legacy", "auto"])
async def test_stdio_without_sampling(tmp_path: Path, protocol: str) -> None:
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with Client(params(tmp_path), mode=protocol) as client:
        assert client.protocol_version == ("2025-11-25" if protocol == "legacy" else "2026-07-28")
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {"orchestrate", "analyze_request", "get_metrics"}
        assert tools["orchestrate"].output_schema is not None
        assert tools["analyze_request"].annotations.read_only_hint is True  # type: ignore[union-attr]

        analysis = await client.call_tool("analyze_request", {"request": REQUEST})
        assert not analysis.is_error and analysis.structured_content is not None
        assert analysis.structured_content["intent"] in {"write", "analyze", "manage"}

        run = await client.call_tool(
            "orchestrate", {"request": REQUEST}, progress_callback=on_progress
        )
        assert run.structured_content is not None
        assert run.structured_content["status"] == "delegated"
        assert run.structured_content["saved_usd"] == 0.0
        assert progress[0] == "analyzing" and progress[-1] == "delegated"

        unknown = await client.call_tool("nope", {})
        assert unknown.is_error and text_of(unknown) == "Unknown tool: nope"
        bad = await client.call_tool("orchestrate", {"request": "x", "options": {"max_cost": "a"}})
        assert bad.is_error and "options.max_cost" in text_of(bad)
        metrics = await client.call_tool("get_metrics", {"period": "1m"})
        assert not metrics.is_error and metrics.structured_content["period"] == "1m"  # type: ignore[index]


@pytest.mark.parametrize("protocol", ["legacy", "auto"])
async def test_stdio_with_sampling(tmp_path: Path, protocol: str) -> None:
    sampler = Sampler("from the client's model")
    async with Client(params(tmp_path), mode=protocol, sampling_callback=sampler) as client:
        run = await client.call_tool("orchestrate", {"request": REQUEST})
    data = run.structured_content
    assert data is not None and data["status"] == "completed", text_of(run)
    assert data["output"] == "from the client's model"
    assert data["provider"] == "client" and data["cost_usd"] is None
    assert data["saved_usd"] == 0.0
    assert len(sampler.requests) == 1
    preferences = sampler.requests[0].model_preferences
    assert preferences is not None and preferences.hints
    assert preferences.hints[0].name == data["analysis"]["recommended_model"]


async def test_python_dash_m_serves_too(tmp_path: Path) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "dynamic_orchestrator", "serve"],
        env=child_env(tmp_path),
        cwd=str(tmp_path),
    )
    async with Client(server, mode="legacy") as client:
        assert len((await client.list_tools()).tools) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "127.0.0.1"], "--host and --port apply to --transport http only"),
        (["--transport", "http", "--host", "0.0.0.0"], "refusing to listen on 0.0.0.0"),
        (["--transport", "carrier-pigeon"], "Invalid value for '--transport'"),
        (["--config", "missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [str(COMMAND), "serve", *args],
        capture_output=True,
        text=True,
        env=child_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


def test_on_a_terminal_it_says_how_to_connect_and_stops_on_the_first_ctrl_c(
    tmp_path: Path,
) -> None:
    import os
    import pty
    import select
    import signal
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: the server on a terminal, as a person would start it
        env = child_env(tmp_path)
        os.execve(str(COMMAND), [str(COMMAND), "serve"], env)
    output = b""
    deadline = time.monotonic() + 60
    while b"Ctrl-C stops it" not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            output += os.read(fd, 4096)
    text = output.decode()
    assert "MCP server" in text and "claude mcp add" in text and "Ctrl-C stops it" in text
    os.write(fd, b"\x03")  # one Ctrl-C, through the terminal's line discipline
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError("serve did not stop on the first Ctrl-C")
    assert os.waitstatus_to_exitcode(status) == 130
    os.close(fd)
