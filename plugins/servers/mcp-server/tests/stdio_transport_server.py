"""A tiny MCP server on ``serve_stdio``, for test_stdio_transport.py.

python stdio_transport_server.py MAX_LINE_BYTES
"""

import subprocess
import sys
import threading

import anyio
from dynamic_orchestrator_mcp_server.stdio_transport import serve_stdio
from mcp.server.mcpserver import MCPServer

server = MCPServer("stdio-test", log_level="WARNING")


@server.tool()
async def big(size: int) -> str:
    """An answer of ``size`` characters."""
    return "x" * size


@server.tool()
async def echo(text: str) -> str:
    """The text, as received."""
    return text


@server.tool()
async def noisy() -> str:
    """Write to stdout, as a careless plugin or child process would, then answer."""
    print("stray print from the server", flush=True)
    subprocess.run(["echo", "stray output of a child"], check=True)
    return "quiet"


@server.tool()
async def threads() -> int:
    """How many threads this process runs (the SDK's transport reads in a worker thread)."""
    return threading.active_count()


async def main() -> None:
    await serve_stdio(server, max_line_bytes=int(sys.argv[1]))


anyio.run(main)
print("stdout restored", flush=True)
