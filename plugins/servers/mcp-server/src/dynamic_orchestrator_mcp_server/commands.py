"""``dynamic-orchestrator serve``: the MCP server over stdio or streamable HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from dynamic_orchestrator.commands import UsageFailure
from dynamic_orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from dynamic_orchestrator.config import Config

__all__ = ["serve"]


def _load(config_path: str | None) -> Config:
    from dynamic_orchestrator.config import load_config

    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise UsageFailure(f"bad config: {exc}") from None


@click.command()
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio for a client that spawns the server; http for streamable HTTP at /mcp.",
)
@click.option("--host", default=None, help="HTTP: address to bind (default: server.host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="HTTP: port (default: server.port)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: the lookup order, else embedded defaults).",
)
def serve(transport: str, host: str | None, port: int | None, config_path: str | None) -> None:
    """The MCP server (tools: orchestrate, analyze_request, get_metrics)."""
    config = _load(config_path)
    if transport == "stdio":
        if host is not None or port is not None:
            raise UsageFailure("--host and --port apply to --transport http only")
        from .server import run_stdio

        run_stdio(config)
        return
    from .http_transport import run_http
    from .settings import settings_of

    server = settings_of(config).server
    bind_host = host or server.host
    bind_port = server.port if port is None else port
    try:
        run_http(config, bind_host, bind_port)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
