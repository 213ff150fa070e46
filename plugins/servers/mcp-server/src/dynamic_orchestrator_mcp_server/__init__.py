"""The MCP server and the HTTP gateway of Dynamic Orchestrator, as a plugin of the host.

Installed (``pip install dynamic-orchestrator`` brings it), it adds three commands to
``dynamic-orchestrator`` through ``register_commands``:

- ``serve``: the MCP server (:mod:`.server`) over stdio (:mod:`.stdio_transport`) or
  streamable HTTP at ``/mcp`` (:mod:`.http_transport`), with the gateway and the plugins'
  routes beside it;
- ``gateway``: the HTTP gateway alone (:mod:`.gateway`);
- ``claude``: Claude Code with its base URL on a gateway of its own.

The host itself (``dynamic-orchestrator-core``) needs neither the ``mcp`` SDK nor a web
stack; they come with this distribution. Its settings are ``plugins.mcp_server``
(:mod:`.settings`). Importing this package imports only the
command definitions' module when the command line asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dynamic_orchestrator import hookimpl

if TYPE_CHECKING:
    import click
    from dynamic_orchestrator.contract import PluginSettings

__all__ = ["plugin_settings", "register_commands"]


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.mcp_server``: the HTTP transport (``server``) and the gateway; the seed's
    ``gateway`` section and ``server``'s transport keys still set them."""
    from .settings import SETTINGS

    return SETTINGS


@hookimpl(trylast=True)
def register_commands(register: Callable[[click.Command], None]) -> None:
    """``serve`` (the MCP server), ``gateway`` and ``claude``."""
    from .commands import serve
    from .gateway.commands import claude_command, gateway_command

    register(serve)
    register(gateway_command)
    register(claude_command)
