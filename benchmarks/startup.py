"""Start-up time and memory: the command line, the MCP server and the library, cold.

    uv run python benchmarks/startup.py [--runs 5]
    uv run --group bench python benchmarks/startup.py      # with LiteLLM's import beside

Each figure is the median of ``--runs`` fresh processes (wall time, peak RSS and, for a
child process, the CPU time it used, from the kernel's accounting of the finished child;
on a busy machine CPU time is the steadier figure, wall time grows with the load):

- ``python -c pass``: the interpreter alone, the floor under everything else;
- ``dynamic-orchestrator --version``, ``analyze "..."`` and ``models``, from the shell;
- ``serve`` until the answer to the first ``tools/list`` (initialize, initialized,
  tools/list written at once on stdin, as a client does);
- ``import dynamic_orchestrator`` + the first ``Orchestrator.analyze`` in one process,
  timed inside the process (interpreter start-up excluded);
- LiteLLM's ``import litellm`` timed the same way, with ``LITELLM_LOCAL_MODEL_COST_MAP=True``
  (its bundled price map, no network), when the ``bench`` group is installed.

Targets: ``analyze`` from the shell at most 0.5 s; import + first analyze at most 0.1x
LiteLLM's import time and at most 0.4x its RSS. The load average is printed: on a busy
machine every figure grows.
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

BIN = Path(sys.executable).parent
REQUEST = "Refactor the authentication module"
IN_PROCESS = """
import resource, sys, time
REQUEST = sys.argv[1]
start = time.perf_counter()
import anyio
from dynamic_orchestrator import Orchestrator
async def go():
    async with Orchestrator() as orch:
        await orch.analyze(REQUEST)
anyio.run(go)
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
LITELLM = """
import resource, time
start = time.perf_counter()
import litellm
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def command() -> str:
    local = BIN / "dynamic-orchestrator"
    return str(local) if local.exists() else shutil.which("dynamic-orchestrator") or "false"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("DYNAMIC_ORCHESTRATOR_CONFIG", None)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    # As on a user's machine: bytecode is written on the first run and read after it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


Sample = tuple[float, int, float | None]
"""Wall seconds, peak RSS (kB), CPU seconds (user + system; None when not measured)."""


def run_once(argv: list[str], stdin: bytes | None = None) -> Sample:
    """Wall seconds, peak RSS (kB) and CPU seconds of one child process run to its end."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def serve_to_tools_list() -> Sample:
    """Seconds from spawning ``serve`` to the answer to its first ``tools/list`` (CPU time:
    the whole run, to the exit after stdin closes)."""
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "startup-bench", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    payload = b"".join(json.dumps(m).encode() + b"\n" for m in messages)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [command(), "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(payload)
    proc.stdin.flush()
    elapsed = None
    for line in proc.stdout:
        answer = json.loads(line)
        if answer.get("id") == 2:
            if "tools" not in answer.get("result", {}):
                raise SystemExit(f"tools/list failed: {answer}")
            elapsed = time.perf_counter() - start
            break
    proc.stdin.close()
    _, _, usage = os.wait4(proc.pid, 0)
    if elapsed is None:
        raise SystemExit("serve ended without answering tools/list")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def in_process(script: str) -> Sample:
    out = subprocess.run(
        [sys.executable, "-c", script, REQUEST], capture_output=True, text=True, env=clean_env()
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr.strip().splitlines()[-1])
    seconds, rss = out.stdout.split()
    return float(seconds), int(rss), None


def median(samples: list[Sample]) -> tuple[float, float, float | None]:
    cpu = [c for _, _, c in samples if c is not None]
    return (
        statistics.median(s for s, _, _ in samples),
        statistics.median(r for _, r, _ in samples) / 1024,
        statistics.median(cpu) if cpu else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = command()
    cases = {
        "python -c pass": lambda: run_once([sys.executable, "-c", "pass"]),
        "dynamic-orchestrator --version": lambda: run_once([exe, "--version"]),
        "dynamic-orchestrator analyze": lambda: run_once([exe, "analyze", REQUEST]),
        "dynamic-orchestrator models": lambda: run_once([exe, "models"]),
        "serve to first tools/list": serve_to_tools_list,
        "import + first analyze (in process)": lambda: in_process(IN_PROCESS),
    }
    try:
        import importlib.util

        has_litellm = importlib.util.find_spec("litellm") is not None
    except ValueError:
        has_litellm = False
    if has_litellm:
        cases["import litellm (in process)"] = lambda: in_process(LITELLM)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.runs} runs each, median; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    results: dict[str, tuple[float, float, float | None]] = {}
    for name, case in cases.items():
        case()  # warm the file cache and the bytecode
        results[name] = median([case() for _ in range(args.runs)])
        seconds, rss, cpu = results[name]
        cpu_text = "" if cpu is None else f"{cpu * 1000:6.0f} ms CPU"
        print(f"  {name:40} {seconds * 1000:8.0f} ms  {cpu_text:>13}  {rss:6.1f} MB RSS")
    shell = results["dynamic-orchestrator analyze"][0]
    print(f"analyze from the shell: {shell:.2f} s (target <= 0.5 s: "
          f"{'met' if shell <= 0.5 else 'NOT met'})")  # fmt: skip
    ours = results["import + first analyze (in process)"]
    if has_litellm:
        theirs = results["import litellm (in process)"]
        t_ratio, m_ratio = ours[0] / theirs[0], ours[1] / theirs[1]
        print(f"import + first analyze vs LiteLLM's import: {t_ratio:.3f}x time "
              f"(target <= 0.1x: {'met' if t_ratio <= 0.1 else 'NOT met'}), {m_ratio:.2f}x RSS "
              f"(target <= 0.4x: {'met' if m_ratio <= 0.4 else 'NOT met'})")  # fmt: skip
    else:
        print("LiteLLM not installed: uv run --group bench python benchmarks/startup.py")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
