"""A small MCP server for the services plugin's tests (stdio by default, or HTTP).

Tools report the child's environment and process id, crash on demand, sleep, return large
output, and add a tool at run time (announced with ``notifications/tools/list_changed``).
The ``probe`` tool's description is read from ``$PROBE_DESCRIPTION_FILE`` at start-up, so a
test can change a tool definition across restarts.

    python probe_server.py                 # stdio
    python probe_server.py --http PORT     # streamable HTTP at http://127.0.0.1:PORT/mcp
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("probe", version="1.0.0", log_level="WARNING")


def _probe_description() -> str:
    path = os.environ.get("PROBE_DESCRIPTION_FILE")
    if path and Path(path).is_file():
        return Path(path).read_text().strip()
    return "Answer a probe with pong."


@server.tool()
def environment() -> str:
    """Return every environment variable of this server process, as JSON."""
    return json.dumps(dict(os.environ), sort_keys=True)


@server.tool()
def process_id() -> int:
    """Return the process id of this server."""
    return os.getpid()


@server.tool()
def crash() -> str:
    """Exit the server process at once, without answering."""
    sys.stdout.flush()
    os._exit(3)


@server.tool()
def slow(seconds: float) -> str:
    """Sleep for a number of seconds, then answer."""
    time.sleep(seconds)
    return "woke up"


@server.tool()
def big_output(size: int) -> str:
    """Return a text of the given size."""
    return "x" * size


@server.tool(description=_probe_description())
def probe() -> str:
    return "pong"


@server.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Add a tool with this name and announce the change to the client."""

    def extra() -> str:
        return f"{name} was called"

    server.add_tool(extra, name=name, description=f"A tool added at run time: {name}.")
    await ctx.session.send_tool_list_changed()
    return f"added {name}"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        import uvicorn

        uvicorn.run(
            server.streamable_http_app(host="127.0.0.1"),
            host="127.0.0.1",
            port=int(sys.argv[2]),
            log_level="warning",
        )
    else:
        server.run("stdio")
