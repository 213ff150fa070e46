"""``dynamic-orchestrator gateway`` and ``dynamic-orchestrator claude``.

``gateway`` serves the gateway until SIGINT or SIGTERM. ``claude`` starts it on a free
loopback port, runs the user's ``claude`` with ``ANTHROPIC_BASE_URL`` pointing at it and
every other argument passed through, stops the gateway afterwards and exits with
``claude``'s status (the ``ccr code`` habit).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import click
from dynamic_orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from dynamic_orchestrator.config import Config

__all__ = ["claude_command", "gateway_command"]


def _load(path: str | None) -> Config:
    from dynamic_orchestrator.commands import UsageFailure
    from dynamic_orchestrator.config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise UsageFailure(f"bad config: {exc}") from None


CLAUDE_ENV = "DYNAMIC_ORCHESTRATOR_CLAUDE"
PLACEHOLDER_KEY = "dynamic-orchestrator-gateway"
"""What ``claude`` sends as its key when the environment has none; never sent upstream."""


@click.command("gateway")
@click.option("--host", default=None, help="Address to bind (default: gateway.host, loopback).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port (default: gateway.port, 8787).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes serving the port (default: gateway.workers, 1).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file.",
)
def gateway_command(
    host: str | None, port: int | None, workers: int | None, config_path: str | None
) -> None:
    """The HTTP gateway: /v1/messages, /v1/chat/completions, /v1/models."""
    from dynamic_orchestrator.commands import UsageFailure

    from ..settings import settings_of
    from .serve import run_gateway

    config = _load(config_path)
    gateway = settings_of(config).gateway
    try:
        status = run_gateway(
            config,
            host or gateway.host,
            gateway.port if port is None else port,
            workers=workers or gateway.workers,
        )
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    except OSError as exc:
        raise UsageFailure(f"cannot listen: {exc.strerror or exc}") from None
    if status:
        raise UsageFailure("a gateway worker could not keep running (see the log above)")


@click.command(
    "claude",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (before claude's own arguments).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def claude_command(config_path: str | None, args: tuple[str, ...]) -> None:
    """Run Claude Code through the gateway: claude ARGS... with ANTHROPIC_BASE_URL set."""
    from dynamic_orchestrator.commands import UsageFailure

    from .server import GatewayServer

    config = _load(config_path)
    binary = os.environ.get(CLAUDE_ENV) or shutil.which("claude")
    if not binary:
        raise UsageFailure(
            "claude is not installed: npm install -g @anthropic-ai/claude-code "
            f"(or set {CLAUDE_ENV} to its path)"
        )
    env = dict(os.environ)
    passthrough = any(p.client_key == "passthrough" for p in config.providers.values())
    if not passthrough and not env.get("ANTHROPIC_API_KEY") and not env.get("ANTHROPIC_AUTH_TOKEN"):
        env["ANTHROPIC_API_KEY"] = PLACEHOLDER_KEY
    try:
        server = GatewayServer(config)
        server.start()
    except (ConfigError, RuntimeError, OSError) as exc:
        raise UsageFailure(f"the gateway did not start: {exc}") from None
    from dynamic_orchestrator.serving_heap import settle_heap

    settle_heap()  # this process now serves the gateway until claude exits: see serving_heap
    env["ANTHROPIC_BASE_URL"] = server.url
    print(f"dynamic-orchestrator: gateway at {server.url}", file=sys.stderr, flush=True)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # claude handles Ctrl-C itself
    try:
        status = subprocess.call([binary, *args], env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
        server.stop()
    sys.exit(status)
