"""The environment a stdio service's child process gets: as little as it needs.

The MCP SDK starts every child with its own safe subset of this process's environment
(``HOME``, ``LOGNAME``, ``PATH``, ``SHELL``, ``TERM``, ``USER``); we add the locale and the
service's own ``env`` from the configuration, minus anything that could hand it a
provider's key. Nothing else of this process's environment is passed down.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from dynamic_orchestrator.config import Config
from dynamic_orchestrator.log import get_logger
from mcp.client.stdio import get_default_environment

__all__ = ["PROVIDER_KEY_VARIABLES", "child_environment", "forbidden_variables"]

log = get_logger("mcp_services.environment")

PROVIDER_KEY_VARIABLES = frozenset(
    {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"}
)
"""The providers' default key variables (each provider's ``api_key_env`` is added)."""

INHERITED = ("LANG", "LC_ALL", "LC_CTYPE")
"""Inherited besides the SDK's defaults, when set: the locale."""

_KEY_LIKE = re.compile(r"(?i).*(_API_KEY|_APIKEY)$")


def forbidden_variables(config: Config) -> frozenset[str]:
    """Every variable that names a provider key under this configuration."""
    configured = {p.api_key_env for p in config.providers.values() if p.api_key_env}
    return PROVIDER_KEY_VARIABLES | configured


def child_environment(
    service: str,
    extra: Mapping[str, str],
    config: Config,
    *,
    pass_env: Iterable[str] = (),
) -> dict[str, str]:
    """The full environment for one child process.

    :param service: the service's name (for the warning when a variable is dropped).
    :param extra: the service's ``env`` from the configuration.
    :param pass_env: key-like names (``*_API_KEY``) the user allowed through on purpose;
        a provider key variable is dropped even when listed.
    """
    forbidden = forbidden_variables(config)
    allowed = set(pass_env) - forbidden
    env = dict(get_default_environment())
    for name in INHERITED:
        value = os.environ.get(name)
        if value:
            env[name] = value
    for name, value in extra.items():
        if name in forbidden or (_KEY_LIKE.match(name) and name not in allowed):
            log.warning(
                "service_env_dropped",
                service=service,
                variable=name,
                reason="provider keys are never passed to a downstream service"
                if name in forbidden
                else "looks like an API key; list it in plugins.mcp_services.pass_env "
                "to pass it on purpose",
            )
            continue
        env[name] = value
    # The SDK's defaults are names it considers safe; make sure none of them is a key.
    return {k: v for k, v in env.items() if k not in forbidden}
