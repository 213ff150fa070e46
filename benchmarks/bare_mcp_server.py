"""The baseline of ``mcp_server.py``: a bare MCPServer with one no-op tool, over stdio."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("bare", log_level="WARNING")


@server.tool()
async def noop(request: str) -> str:
    """Do nothing and answer at once."""
    return "ok"


if __name__ == "__main__":
    server.run("stdio")
