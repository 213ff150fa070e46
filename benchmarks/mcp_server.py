"""MCP server start-up and stdio throughput, each beside a bare MCPServer with a no-op tool.

    uv run python benchmarks/mcp_server.py [--runs 9] [--calls 300]

Measured here, on this machine, in one run:

- start-up: wall time from spawning the process to the answer of the first ``tools/list``
  (``initialize`` → ``notifications/initialized`` → ``tools/list``), median of ``--runs``
  spawns; ours is the installed ``dynamic-orchestrator serve``, the baseline is
  ``benchmarks/bare_mcp_server.py`` on the same interpreter. Spawns alternate between
  the two so machine load affects both alike.
- throughput: sequential ``tools/call`` round trips per second over one stdio connection
  each, after warm-up calls: ``analyze_request`` on ours, the no-op tool (``async``, so it
  does not pay for a worker thread) on the baseline; batches of 50 calls alternate between
  the two and the median batch rate is reported. Every call sends a distinct text.
  A third server, the same bare one on our stdio transport (``serve_stdio``: event-loop
  pipes instead of the SDK's worker-thread file reads and writes), shows how much of the
  figure is the transport and how much the analysis and our tool layer cost.
- server CPU time per call (from ``/proc``, Linux): less sensitive to machine load than
  wall-clock rates, which stretch most for the process that computes more.
- the decision stages alone: ``Orchestrator.analyze`` in process, median per call, to show
  how much of the difference is the analysis itself.

The client speaks raw newline-delimited JSON-RPC (2025-11-25), so no client library cost
is counted. Targets: start-up within 1.2x of the baseline, throughput at least 0.8x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "benchmark", "version": "0"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
REQUESTS = [
    "Refactor the authentication module to use dependency injection",
    "Where is the JWT secret loaded from?",
    "Create a REST API for user management with FastAPI",
    "Find every call site of parse_config",
]


def ours() -> list[str]:
    script = Path(sys.executable).with_name("dynamic-orchestrator")
    command = str(script) if script.exists() else shutil.which("dynamic-orchestrator")
    if command is None:
        raise SystemExit("the dynamic-orchestrator command is not installed: run 'uv sync'")
    return [command, "serve"]


def bare(*options: str) -> list[str]:
    return [sys.executable, str(HERE / "bare_mcp_server.py"), *options]


class Session:
    """One server process spoken to over stdio."""

    def __init__(self, command: list[str]):
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.pop("DYNAMIC_ORCHESTRATOR_CONFIG", None)
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.next_id = 1

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.wait(self.next_id)

    def wait(self, request_id: int) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the server exited (code {self.proc.poll()})")
            message = json.loads(line)
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"error answer: {message['error']}")
                return message["result"]  # type: ignore[no-any-return]

    def handshake(self) -> int:
        """initialize, initialized, tools/list; returns the number of tools."""
        self.send(INITIALIZE)
        self.wait(0)
        self.send(INITIALIZED)
        return len(self.request("tools/list")["tools"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def startup(command: list[str]) -> float:
    session = Session(command)
    try:
        session.handshake()
        return time.perf_counter() - session.start
    finally:
        session.close()


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(
    servers: list[tuple[list[str], str]], calls: int, batch: int = 50
) -> list[tuple[float, float | None]]:
    """Round trips per second of each server (median over interleaved batches), and the
    server process's CPU milliseconds per call over all batches.

    Both servers run side by side; batches of sequential calls alternate between them so
    that changes in machine load fall on both alike.
    """
    sessions = [Session(command) for command, _ in servers]
    try:
        for session in sessions:
            session.handshake()
        counters = [0] * len(sessions)

        def call(index: int) -> None:
            session, tool = sessions[index], servers[index][1]
            # A distinct text per call, so no cache keyed by the request can flatter a figure.
            request = f"{REQUESTS[counters[index] % len(REQUESTS)]} (case {counters[index]})"
            counters[index] += 1
            result = session.request(
                "tools/call", {"name": tool, "arguments": {"request": request}}
            )
            if result.get("isError"):
                raise RuntimeError(f"{tool} failed: {result['content']}")

        for index in range(len(sessions)):
            for _ in range(20):  # warm-up: our orchestrator is built on the first call
                call(index)
        rates: list[list[float]] = [[] for _ in sessions]
        cpu = [0.0] * len(sessions)
        for _ in range(max(1, calls // batch)):
            for index, session in enumerate(sessions):
                cpu_before = cpu_seconds(session.proc.pid)
                start = time.perf_counter()
                for _ in range(batch):
                    call(index)
                rates[index].append(batch / (time.perf_counter() - start))
                cpu_after = cpu_seconds(session.proc.pid)
                if cpu_before is not None and cpu_after is not None:
                    cpu[index] += cpu_after - cpu_before
        timed = max(1, calls // batch) * batch
        have_cpu = cpu_seconds(sessions[0].proc.pid) is not None
        return [
            (statistics.median(r), c / timed * 1000 if have_cpu else None)
            for r, c in zip(rates, cpu, strict=True)
        ]
    finally:
        for session in sessions:
            session.close()


def analysis_cost(calls: int) -> float:
    """Median microseconds of one ``Orchestrator.analyze`` in process (the tool's own work)."""
    import anyio
    from dynamic_orchestrator import Orchestrator

    async def measure() -> float:
        async with Orchestrator() as orch:
            samples = []
            for i in range(calls):
                text = f"{REQUESTS[i % len(REQUESTS)]} (case {i})"
                start = time.perf_counter()
                await orch.analyze(text)
                samples.append(time.perf_counter() - start)
            return statistics.median(samples[20:]) * 1e6

    return anyio.run(measure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="spawns per server (median)")
    parser.add_argument("--calls", type=int, default=1000, help="timed calls per server")
    args = parser.parse_args()

    startup(bare())  # warm the file cache and bytecode of both
    startup(ours())
    bare_times: list[float] = []
    our_times: list[float] = []
    for _ in range(args.runs):
        bare_times.append(startup(bare()))
        our_times.append(startup(ours()))
    bare_start = statistics.median(bare_times)
    our_start = statistics.median(our_times)

    (bare_rate, bare_cpu), (same_rate, same_cpu), (our_rate, our_cpu) = throughput(
        [(bare(), "noop"), (bare("--our-stdio"), "noop"), (ours(), "analyze_request")],
        args.calls,
    )

    analyze_us = analysis_cost(args.calls)

    start_ratio = our_start / bare_start
    rate_ratio = our_rate / bare_rate
    print("MCP server over stdio, measured on this machine (raw JSON-RPC client)")
    print(f"start-up, spawn to first tools/list answered (median of {args.runs}):")
    print(f"  bare MCPServer, no-op tool:        {bare_start * 1000:7.0f} ms")
    print(f"  dynamic-orchestrator serve:        {our_start * 1000:7.0f} ms")
    verdict = "ok" if start_ratio <= 1.2 else "MISSED"
    print(f"  ratio: {start_ratio:.2f}x (target <= 1.20x) {verdict}")
    print(
        f"round trips per second, sequential tools/call (median of batches of 50, "
        f"{args.calls} calls each, interleaved, after warm-up):"
    )
    print(f"  bare MCPServer, no-op tool (the SDK's stdio transport): {bare_rate:7.0f} /s")
    print(f"  the same bare server on our stdio transport:           {same_rate:7.0f} /s")
    print(f"  analyze_request (ours):                                {our_rate:7.0f} /s")
    verdict = "ok" if rate_ratio >= 0.8 else "MISSED"
    print(f"  ratio to the bare server: {rate_ratio:.2f}x (target >= 0.80x) {verdict}")
    print(
        f"  ratio to the bare server on the same transport: {our_rate / same_rate:.2f}x "
        "(what the analysis and our tool layer cost)"
    )
    if bare_cpu is not None and same_cpu is not None and our_cpu is not None:
        print(
            f"  server CPU per call: bare {bare_cpu:.2f} ms, bare on our transport "
            f"{same_cpu:.2f} ms, ours {our_cpu:.2f} ms "
            "(wall-clock ratios stretch with machine load)"
        )
    print(
        f"  the decision stages alone (Orchestrator.analyze in process, median): "
        f"{analyze_us:.0f} us per call"
    )
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
