"""``dynamic-orchestrator dashboard``: the local store's dashboard, without the MCP server.

Serves :mod:`dynamic_orchestrator_sqlite.dashboard` for the store the configuration names
(``metrics.path``, else the default file) on 127.0.0.1 only, behind the same Host and
Origin checks as the HTTP transport, until interrupted; opens it in a browser when run
from a terminal.
"""

from __future__ import annotations

import socket
import sys
import webbrowser

import click
from dynamic_orchestrator.config import load_config
from dynamic_orchestrator.errors import ConfigError

from .dashboard import PERIODS, dashboard_app

HOST = "127.0.0.1"


class UsageFailure(click.ClickException):
    exit_code = 2


def free_port(host: str = HOST) -> int:
    """A port free on ``host`` now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8788,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--period",
    type=click.Choice(list(PERIODS)),
    default="1d",
    show_default=True,
    help="The period shown first.",
)
@click.option("--open/--no-open", "open_browser", default=None, help="Open a browser tab.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (its metrics.path names the store).",
)
def dashboard(port: int, period: str, open_browser: bool | None, config_path: str | None) -> None:
    """The metrics store's dashboard in a browser (no MCP server started)."""
    import uvicorn
    from dynamic_orchestrator.http_guard import RequestGuard, allowed_hosts, allowed_origins

    from . import settings_of, store_path

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise UsageFailure(f"bad config: {exc}") from None
    settings = settings_of(config)
    if not settings.persist:
        raise UsageFailure("plugins.sqlite.persist is false: there is no store to show")
    path = store_path(settings)
    port = port or free_port()
    app = RequestGuard(
        dashboard_app(path, period=period, retention_days=settings.retention_days),
        token=None,  # loopback only: a browser sends no bearer token
        hosts=allowed_hosts(HOST, port),
        origins=allowed_origins(HOST, port),
    )
    url = f"http://{HOST}:{port}/dashboard"
    click.echo(f"dynamic-orchestrator: dashboard of {path} at {url}", err=True)
    if open_browser or (open_browser is None and sys.stdout.isatty()):
        webbrowser.open(url)
    uvicorn.run(app, host=HOST, port=port, log_level="warning", server_header=False)
