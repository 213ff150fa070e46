"""Providers: the objects that run one model call.

A provider plugin registers :class:`Provider` objects through ``register_providers``.
The host picks the provider named by the catalog for each model, builds one
:class:`ProviderCall`, and expects one :class:`~dynamic_orchestrator.models.Completion`
back, or a :class:`~dynamic_orchestrator.errors.ProviderError` whose kind tells the
fallback stage what to do. Providers do not retry: the host has the one retry layer, so
SDK clients are built with ``max_retries=0``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import register_secret

if TYPE_CHECKING:
    from .catalog import ModelInfo
    from .config import Config, ProviderConfig
    from .models import ChatMessage, Completion, ToolSpec


@dataclass(frozen=True)
class ProviderCall:
    """Everything a provider needs for one call, in one shape for every provider."""

    model: ModelInfo
    system: str
    messages: list[ChatMessage]
    max_tokens: int | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    timeout: float = 60.0
    temperature: float | None = None
    tier: str | None = None
    complexity_score: float | None = None
    client: Any = None
    """The MCP client connection for the client-model provider; None elsewhere."""


@runtime_checkable
class Provider(Protocol):
    """What ``register_providers`` registers."""

    name: str

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        """None when ``model`` can be called now; otherwise why not (missing key, …)."""
        ...

    async def complete(self, call: ProviderCall) -> Completion:
        """Run one call; raise :class:`~dynamic_orchestrator.errors.ProviderError` on failure."""
        ...


def read_api_key(
    config: Config, name: str, default_envs: tuple[str, ...]
) -> tuple[str | None, str]:
    """The API key for provider ``name`` from the environment, and the variable(s) it names.

    ``providers.<name>.api_key_env`` wins over the defaults. The key is remembered for
    redaction so it can never appear in an error, a log line or a result.
    """
    settings: ProviderConfig | None = config.providers.get(name)
    envs = (settings.api_key_env,) if settings and settings.api_key_env else default_envs
    for env in envs:
        value = os.environ.get(env)
        if value:
            register_secret(value)
            return value, env
    return None, " or ".join(envs)
