"""The configuration's schema: pydantic models with defaults, so ``Config()`` just works.

Loading (file lookup, YAML, environment overrides) is the host's job
(:mod:`dynamic_orchestrator.config`); this module holds only the shape every plugin reads.
Unknown keys are errors; API keys never live here (a provider names the environment
variable that holds its key, ``api_key_env``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._models import Tier

APP_NAME = "dynamic-orchestrator"


class _Section(BaseModel):
    # No setting is infinite: an infinite timeout or wait would hang, an infinite price
    # or limit would print as non-JSON.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TierExecution(_Section):
    """The models of one tier: ``preferred`` first, then ``fallback`` in order."""

    preferred: str = Field(description="The tier's first model.")
    fallback: list[str] = Field(
        default_factory=list, description="Models tried after it, in order."
    )

    @property
    def models(self) -> list[str]:
        return [self.preferred, *[m for m in self.fallback if m != self.preferred]]


class ServiceConfig(_Section):
    """One downstream MCP service (``mcp_services.<name>``)."""

    type: Literal["stdio", "http"] = Field(default="stdio", description="How to reach it.")
    command: list[str] | None = Field(
        default=None, description="stdio: the command and its arguments (a string is split)."
    )
    url: str | None = Field(default=None, description="http: the streamable HTTP endpoint.")
    capabilities: list[str] = Field(
        default_factory=list, description="Intents it serves; empty: every intent."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment for a stdio child (no keys)."
    )
    cwd: str | None = Field(default=None, description="Working directory of a stdio child.")
    enabled: bool = Field(default=True, description="False: not started, never routed to.")

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            import shlex

            return shlex.split(value)
        return value

    @model_validator(mode="after")
    def _transport_needs_target(self) -> ServiceConfig:
        if self.type == "stdio" and not self.command:
            raise ValueError("a stdio service needs 'command'")
        if self.type == "http" and not self.url:
            raise ValueError("an http service needs 'url'")
        return self


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


class CacheConfig(_Section):
    """The response cache (used by the resilience plugin)."""

    enabled: bool = Field(default=True, description="Cache completed responses.")
    ttl: float = Field(default=3600.0, ge=0, description="Seconds; CACHE_TTL overrides.")
    max_entries: int = Field(default=1024, ge=0, description="Entries kept in memory.")
    backend: Literal["memory", "redis"] = Field(
        default="memory", description="Where entries live; redis uses REDIS_URL."
    )


class BreakerOverride(_Section):
    """Per-model thresholds (``circuit_breaker.models.<name>``); unset keys keep the defaults."""

    window_size: int | None = Field(default=None, ge=1, description="Calls in the window.")
    minimum_calls: int | None = Field(
        default=None, ge=1, description="Calls in the window before the rates count."
    )
    failure_rate_threshold: float | None = Field(
        default=None, gt=0, le=1, description="Failure share that opens it."
    )
    slow_call_duration: float | None = Field(
        default=None, gt=0, description="Seconds after which a call counts as slow."
    )
    slow_call_rate_threshold: float | None = Field(
        default=None, gt=0, le=1, description="Slow-call share that opens it."
    )
    open_duration: float | None = Field(
        default=None, gt=0, description="Seconds open before half-open."
    )
    consecutive_failures: int | None = Field(
        default=None, ge=0, description="Failing requests in a row that open it (0: off)."
    )
    half_open_probes: int | None = Field(
        default=None, ge=1, description="Calls let through while half-open."
    )
    long_open_duration: float | None = Field(
        default=None, gt=0, description="Seconds open after quota or key failures."
    )


class CircuitBreakerConfig(_Section):
    """One circuit breaker per model (used by the resilience plugin)."""

    enabled: bool = Field(default=True, description="Use circuit breakers.")
    # Sizes from resilience4j's defaults: one request's outcome per model enters the
    # window (not each retry), so 30% random faults stay far below the threshold.
    window_size: int = Field(default=100, ge=1, description="Requests in the sliding window.")
    minimum_calls: int = Field(
        default=50, ge=1, description="Requests in the window before the rates count."
    )
    consecutive_failures: int = Field(
        default=10,
        ge=0,
        description="Requests in a row that failed hard on the model (one each, however "
        "many retries) that open it whatever the window holds; 0: off.",
    )
    failure_rate_threshold: float = Field(
        default=0.5, gt=0, le=1, description="Failure share of the window that opens it."
    )
    slow_call_duration: float = Field(
        default=30.0, gt=0, description="Seconds after which a call counts as slow."
    )
    slow_call_rate_threshold: float = Field(
        default=1.0, gt=0, le=1, description="Slow-call share of the window that opens it."
    )
    open_duration: float = Field(default=30.0, gt=0, description="Seconds before half-open.")
    half_open_probes: int = Field(default=1, ge=1, description="Calls let through while half-open.")
    long_open_duration: float = Field(
        default=900.0,
        gt=0,
        description="Seconds a model stays open after its quota ran out or its provider "
        "refused the key (401/403).",
    )
    models: dict[str, BreakerOverride] = Field(
        default_factory=dict, description="Per-model overrides of the settings above."
    )

    def for_model(self, name: str) -> CircuitBreakerConfig:
        """The settings of one model: the defaults with its override applied."""
        override = self.models.get(name)
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


class RetryConfig(_Section):
    """Retries of the same model on transient errors, before falling back."""

    attempts: int = Field(default=3, ge=1, le=10, description="Tries per model, first included.")
    initial_wait: float = Field(default=0.5, ge=0, description="Seconds; grows, jittered.")
    max_wait: float = Field(default=8.0, ge=0, description="Seconds; the longest wait.")
    max_retry_after: float = Field(
        default=10.0, ge=0, description="Honour Retry-After up to this; longer falls back now."
    )


class BudgetConfig(_Section):
    """A spending limit (used by the resilience plugin); unset: no limit."""

    period: Literal["1h", "1d", "30d"] | None = Field(
        default=None, description="The period the limit applies to."
    )
    limit_usd: float | None = Field(default=None, ge=0, description="USD per period.")

    @model_validator(mode="after")
    def _both_or_neither(self) -> BudgetConfig:
        if (self.period is None) != (self.limit_usd is None):
            raise ValueError("set both 'period' and 'limit_usd', or neither")
        return self


class RedisConfig(_Section):
    """Shared state across orchestrator processes (breakers, cache, budget)."""

    url: str | None = Field(
        default=None, description="redis://host:port/db; REDIS_URL overrides. None: local only."
    )
    key_prefix: str = Field(default="do:", description="Namespace of every key written.")
    timeout: float = Field(
        default=0.5, gt=0, description="Seconds per Redis call before local state is used."
    )
    retry_interval: float = Field(
        default=5.0, gt=0, description="Seconds between reconnection tries while it is down."
    )
    max_connections: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Connections per process; a burst waits up to 'timeout' for a free one.",
    )


class MetricsConfig(_Section):
    """The metrics sinks: the persistent store and Prometheus."""

    persist: bool = Field(default=True, description="Keep records in the SQLite store.")
    path: str | None = Field(default=None, description="SQLite file; default in user data dir.")
    retention_days: float = Field(
        default=7.0, gt=0, description="Persisted records older than this are deleted."
    )
    queue_size: int = Field(
        default=10_000, ge=1, description="Records waiting for the SQLite writer; more are dropped."
    )
    prometheus_port: int | None = Field(
        default=None, ge=0, le=65535, description="Serve Prometheus metrics on this port too."
    )
    prometheus_host: str = Field(default="127.0.0.1", description="Address for prometheus_port.")


class PromptConfig(_Section):
    """The prompts sent to models."""

    max_context_chars: int = Field(default=4000, ge=0, description="Context budget per request.")
    rewrite: bool = Field(default=False, description="Let a cheap model rewrite the prompt.")
    rewrite_model: str | None = Field(
        default=None, description="The rewriting model; default: the first usable simple one."
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


class ServerConfig(_Section):
    """The MCP server's streamable HTTP transport."""

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port to listen on.")
    auth_token_env: str | None = Field(
        default=None, description="Env var holding the bearer token; required off loopback."
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Origins accepted besides the server's own."
    )
    max_request_bytes: int = Field(
        default=1_000_000, gt=0, description="Largest HTTP body accepted."
    )
    max_request_chars: int = Field(
        default=200_000, gt=0, description="Longest request text accepted."
    )
    body_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has for each part of a request body (then 408).",
    )


Scenario = Literal["default", "background", "think", "longContext", "webSearch", "toolResults"]
ScenarioTarget = Literal["auto", "requested", "simple", "moderate", "complex"]


def _default_scenarios() -> dict[Scenario, ScenarioTarget]:
    return {
        "default": "auto",
        "background": "simple",
        "think": "auto",
        "longContext": "auto",
        "webSearch": "requested",
        "toolResults": "auto",
    }


class GatewayConfig(_Section):
    """The HTTP gateway (``dynamic-orchestrator gateway``): routing per call."""

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8787, ge=0, le=65535, description="Port to listen on.")
    route: bool = Field(
        default=True, description="False: every call goes to the model the client asked for."
    )
    passthrough: list[str] = Field(
        default_factory=list, description="Model names always served as asked (pinned)."
    )
    scenarios: dict[Scenario, ScenarioTarget] = Field(
        default_factory=_default_scenarios,
        description="Per scenario: 'auto' (the classifier decides the tier), 'requested' (the "
        "model asked for), or a tier.",
    )
    long_context_tokens: int = Field(
        default=60_000, gt=0, description="Above this many input tokens a turn is longContext."
    )
    background_models: list[str] = Field(
        default_factory=lambda: ["haiku"],
        description="A requested model whose name holds one of these is a background call.",
    )
    max_request_bytes: int = Field(
        default=32_000_000, gt=0, description="Largest request body accepted."
    )

    @field_validator("scenarios", mode="before")
    @classmethod
    def _complete_scenarios(cls, value: Any) -> Any:
        return {**_default_scenarios(), **value} if isinstance(value, dict) else value


class PluginsConfig(_Section):
    """Which installed plugins load, and their settings."""

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
        default_factory=dict, description="Free-form settings for third-party plugins, by name."
    )


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
    """The whole configuration. Every field has a default, so ``Config()`` just works."""

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
    mcp_services: dict[str, ServiceConfig] = Field(
        default_factory=dict, description="Downstream MCP servers, by name."
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
    cache: CacheConfig = Field(default_factory=CacheConfig)
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
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

    def plugin_settings(self, name: str) -> dict[str, Any]:
        return self.plugins.settings.get(name, {})
