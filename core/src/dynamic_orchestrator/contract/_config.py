"""The configuration's schema: pydantic models with defaults, so ``Config()`` just works.

Loading (file lookup, YAML, environment overrides) is the host's job
(:mod:`dynamic_orchestrator.config`); this module holds only the shape every plugin reads.
Unknown keys are errors; API keys never live here (a provider names the environment
variable that holds its key, ``api_key_env``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, PrivateAttr, model_validator

from ._models import BUILD_ON_FIRST_USE, Complexity, Tier

APP_NAME = "dynamic-orchestrator"
M = TypeVar("M", bound=BaseModel)


class _Section(BaseModel):
    # No setting is infinite: an infinite timeout or wait would hang, an infinite price
    # or limit would print as non-JSON.
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, **BUILD_ON_FIRST_USE
    )


class TierExecution(_Section):
    """The models of one tier: ``preferred`` first, then ``fallback`` in order."""

    preferred: str = Field(description="The tier's first model.")
    fallback: list[str] = Field(
        default_factory=list, description="Models tried after it, in order."
    )

    @property
    def models(self) -> list[str]:
        return [self.preferred, *[m for m in self.fallback if m != self.preferred]]


class ProviderConfig(_Section):
    """Settings of one provider (``providers.<name>``).

    The entry's name is also the provider plugin that serves it, unless ``type`` says
    otherwise: ``providers.ollama: {type: openai, base_url: http://127.0.0.1:11434/v1}``
    serves an OpenAI-compatible endpoint under the name ``ollama``.
    """

    type: str | None = Field(default=None, description="Provider plugin; default: the name.")
    base_url: str | None = Field(default=None, description="Only ever from configuration.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the key; each provider has one."
    )
    models: list[str] = Field(default_factory=list, description="Extra model names it serves.")
    timeout: float = Field(default=60.0, gt=0, description="Seconds per call.")
    max_concurrent: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Calls in flight at once to this provider; more wait for a slot "
        "(the wait is not part of 'timeout').",
    )
    enabled: bool = Field(default=True, description="Whether the provider is switched on.")
    options: dict[str, Any] = Field(default_factory=dict, description="Provider-specific.")
    client_key: Literal["never", "passthrough"] = Field(
        default="never",
        description="Gateway: 'passthrough' sends the client's own key (x-api-key or "
        "Authorization) to this provider instead of ours; Anthropic-type providers only.",
    )


class ModelOverride(_Section):
    """Catalog override for one model (``models.<name>``): custom or self-hosted models."""

    provider: str | None = Field(default=None, description="The provider that serves it.")
    input_price_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million input tokens."
    )
    output_price_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million output tokens."
    )
    context_window: int | None = Field(default=None, gt=0, description="Tokens.")
    supports_tools: bool | None = Field(default=None, description="Whether it takes tools.")


class RetryConfig(_Section):
    """Retries of the same model on transient errors, before falling back."""

    attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Tries per model, first included; a model skipped without a call "
        "(circuit breaker open) passes its tries on to the next.",
    )
    initial_wait: float = Field(default=0.5, ge=0, description="Seconds; grows, jittered.")
    max_wait: float = Field(default=8.0, ge=0, description="Seconds; the longest wait.")
    max_retry_after: float = Field(
        default=10.0, ge=0, description="Honour Retry-After up to this; longer falls back now."
    )


class SharedSection(_Section):
    # A host section that also holds older keys of plugins' settings (``prompt.rewrite`` is
    # the compact plugin's): they are kept as written until the host reads them into
    # ``plugins.<name>``; one no plugin claims is an unknown key all the same.
    model_config = ConfigDict(extra="allow")


class PromptConfig(SharedSection):
    """The prompts sent to models (rewriting them is the compact plugin's: `plugins.compact`)."""

    max_context_chars: int = Field(default=4000, ge=0, description="Context budget per request.")


class IntentConfig(_Section):
    """What the configuration says of one intent (``intents.<name>``), over what the plugin
    that registers it says."""

    output_tokens: dict[Complexity, PositiveInt] = Field(
        default_factory=dict,
        description="Expected answer length in tokens by complexity level; a level not given "
        "keeps the registering plugin's figure.",
    )


class ToolsConfig(_Section):
    """The tool-calling loop: how far a model may go with the tools it was sent."""

    max_iterations: int = Field(
        default=5, ge=0, le=50, description="Rounds of tool calls per model call; 0: none."
    )
    tool_timeout: float = Field(default=30.0, gt=0, description="Seconds per tool call.")
    max_output_chars: int = Field(
        default=8000, ge=100, description="Longer tool results are cut before the model sees them."
    )


class ServerConfig(SharedSection):
    """What every front door accepts (its transports are the mcp-server plugin's:
    `plugins.mcp_server`)."""

    max_request_chars: int = Field(
        default=200_000, gt=0, description="Longest request text accepted."
    )
    body_timeout: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Seconds a client has for each part of a request body, and for the whole body "
            "plus one second per 500 bytes (then 408)."
        ),
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has for a request's line and headers, from its "
        "connection or its first byte (then 408 and the connection is closed).",
    )


class PluginsConfig(_Section):
    """Which installed plugins load; ``plugins.<name>`` holds the settings of plugin ``name``,
    checked by the model that plugin declares (the ``plugin_settings`` hook)."""

    # Any other key is a plugin's section; the host validates it against the plugin's model.
    model_config = ConfigDict(extra="allow")

    load: list[str] | None = Field(default=None, description="Allow-list; None loads all.")
    disable: list[str] = Field(default_factory=list, description="Plugins never to load.")
    order: list[str] = Field(
        default_factory=list,
        description="Plugins whose hooks run first, in this order; the rest follow by name.",
    )
    strict: bool = Field(default=False, description="Re-raise when a plugin fails to load.")
    startup_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds each plugin's startup (or shutdown) and each provider's warm-up "
        "may take; past it the plugin is named in the log and start-up goes on.",
    )
    execute_timeout: float = Field(
        default=600.0,
        gt=0,
        description="Seconds one request's execution (its whole chain, retries included) may "
        "take; past it the request fails, naming the execute implementations.",
    )
    loop_block_warning: float = Field(
        default=1.0,
        ge=0,
        description="Seconds the event loop may be blocked before the plugin or provider "
        "running at that moment is named in the log (event_loop_blocked); 0: off.",
    )
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="The older place of a plugin's settings, by name; 'plugins.<name>' wins.",
    )


RESERVED_PLUGIN_NAMES = frozenset(PluginsConfig.model_fields)
"""Names no plugin's settings may take: they are keys of ``plugins`` itself."""


@dataclass(frozen=True)
class PluginSettings:
    """A plugin's settings, declared by its ``plugin_settings`` hook.

    The host validates ``plugins.<name>`` with ``model`` (a pydantic model whose fields
    all have defaults; ``extra="forbid"`` so a typo names its key) and hands the result to
    the plugin through :meth:`Config.plugin_settings`.
    """

    name: str
    """The section: ``plugins.<name>``."""
    model: type[BaseModel] | None
    """The settings' model; None for a plugin with no section (a provider plugin that only
    checks its ``provider_options``)."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Older keys that still set these settings, as ``{old path: field path}``: the
    top-level section ``cache`` read into the field ``cache`` is ``{"cache": "cache"}``;
    dotted paths reach inside (``{"metrics.prometheus_port": "port"}``)."""
    provider_options: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    """Per provider type, the model that checks ``providers.<name>.options``."""


def _default_execution() -> dict[Tier, TierExecution]:
    return {
        "simple": TierExecution(
            preferred="gemini-2.5-flash-lite", fallback=["gpt-5-nano", "claude-haiku-4-5"]
        ),
        "moderate": TierExecution(
            preferred="gpt-5-mini", fallback=["gemini-2.5-flash", "claude-haiku-4-5"]
        ),
        "complex": TierExecution(
            preferred="claude-sonnet-4-6", fallback=["gpt-5.1", "gemini-2.5-pro"]
        ),
    }


def _default_client_models() -> dict[Tier, list[str]]:
    return {
        "simple": ["claude-haiku-4-5"],
        "moderate": ["claude-sonnet-4-6"],
        "complex": ["claude-opus-4-6"],
    }


class Config(_Section):
    """The whole configuration. Every field has a default, so ``Config()`` just works.

    Keys not listed here belong to plugins: a plugin's older top-level keys (``cache``,
    ``circuit_breaker``, ``metrics``, ``mcp_services`` ...) are kept as written until the
    host reads them into ``plugins.<name>`` and validates them with the plugin's model.
    """

    model_config = ConfigDict(extra="allow")
    _resolved: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    use_claude_code: bool = Field(
        default=True,
        description="Use the MCP client's own model (sampling, else a delegated plan).",
    )
    use_claude_code_first: bool = Field(
        default=True, description="Try the client's model before API providers."
    )
    claude_code_models: dict[Tier, list[str]] = Field(
        default_factory=_default_client_models,
        description="Per tier, the client's models: for sampling, or named in a delegated plan.",
    )
    execution: dict[Tier, TierExecution] = Field(
        default_factory=_default_execution,
        description="Per tier, the models this server calls; a tier not given keeps its default.",
    )
    baseline_model: str | None = Field(
        default=None, description="What savings are measured against; default: complex preferred."
    )
    providers: dict[str, ProviderConfig] = Field(
        default_factory=dict, description="Provider settings, by provider name."
    )
    models: dict[str, ModelOverride] = Field(
        default_factory=dict, description="Catalog overrides and custom models, by name."
    )
    retry: RetryConfig = Field(default_factory=RetryConfig)
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    intents: dict[str, IntentConfig] = Field(
        default_factory=dict,
        description="Per intent a plugin registers, estimates that replace the plugin's.",
    )
    server: ServerConfig = Field(default_factory=ServerConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    source: str | None = Field(default=None, exclude=True, description="Where it was loaded.")

    @model_validator(mode="before")
    @classmethod
    def _complete_tiers(cls, data: Any) -> Any:
        # A file may set only some tiers; the others keep their defaults.
        if isinstance(data, dict):
            data = dict(data)
            for key, default in (
                ("execution", _default_execution),
                ("claude_code_models", _default_client_models),
            ):
                value = data.get(key)
                if isinstance(value, dict):
                    data[key] = {**default(), **value}
        return data

    @property
    def effective_baseline_model(self) -> str:
        return self.baseline_model or self.execution["complex"].preferred

    @overload
    def plugin_settings(self, name: str) -> dict[str, Any]: ...

    @overload
    def plugin_settings(self, name: str, model: type[M]) -> M: ...

    def plugin_settings(self, name: str, model: type[M] | None = None) -> M | dict[str, Any]:
        """The settings of plugin ``name``.

        With ``model``: the validated settings the host resolved (``plugins.<name>`` and
        its older keys), or, on a configuration no host resolved, ``plugins.<name>``
        validated now. Without: the same as plain data, or the section as written for a
        plugin that declares no model.
        """
        # Read from pydantic's store of private attributes: ``self._resolved`` goes
        # through ``BaseModel.__getattr__``, which costs more than the rest of this call
        # (a selector reads its settings here at every decision).
        private = self.__pydantic_private__ or {}
        resolved: dict[str, BaseModel] = private.get("_resolved", {})
        found = resolved.get(name)
        if model is None:
            if found is not None:
                return found.model_dump(mode="json")
            return self.raw_plugin_settings(name)
        if isinstance(found, model):
            return found
        return model.model_validate(self.raw_plugin_settings(name))

    def raw_plugin_settings(self, name: str) -> dict[str, Any]:
        """``plugins.settings.<name>`` overlaid with ``plugins.<name>``, as written."""
        older = self.plugins.settings.get(name, {})
        section = (self.plugins.model_extra or {}).get(name, {})
        if not isinstance(section, Mapping):
            return dict(older)
        return {**older, **section}

    @property
    def resolved_plugins(self) -> list[str]:
        """The plugins whose settings the host validated, by name."""
        return sorted(self._resolved)

    def with_plugin_settings(self, resolved: Mapping[str, BaseModel]) -> Config:
        """A copy holding each plugin's validated settings (the host calls this)."""
        copy = self.model_copy()
        copy._resolved = dict(resolved)
        return copy
