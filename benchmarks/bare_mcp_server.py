"""The baseline of ``mcp_server.py``: a bare MCPServer with one no-op tool, over stdio.

python bare_mcp_server.py              # the SDK's own stdio transport (the baseline)
python bare_mcp_server.py --our-stdio  # the same server on dynamic-orchestrator's
"""

import sys

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("bare", log_level="WARNING")


@server.tool()
async def noop(request: str) -> str:
    """Do nothing and answer at once."""
    return "ok"


if __name__ == "__main__":
    if "--our-stdio" in sys.argv[1:]:
        from dynamic_orchestrator_mcp_server.stdio_transport import serve_stdio

        anyio.run(serve_stdio, server)
    else:
        server.run("stdio")
