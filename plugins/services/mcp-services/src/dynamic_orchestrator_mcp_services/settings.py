"""The plugin's settings: ``plugins.mcp_services`` in the configuration (its older place,
``plugins.settings.mcp_services``, still works), and the services themselves, which the
seed's top-level ``mcp_services`` section still lists.

Every field has a default; unknown keys and bad values are errors naming the key path.
"""

from __future__ import annotations

from typing import Any, Literal

from dynamic_orchestrator.config import Config, format_validation_error
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.errors import ConfigError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SETTINGS_KEY = "mcp_services"


class ServiceConfig(BaseModel):
    """One downstream MCP service (``services.<name>``; the seed's ``mcp_services.<name>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

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
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds for one tool call of this service (at most tools.tool_timeout); "
        "none: tools.tool_timeout.",
    )

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


class Settings(BaseModel):
    """How downstream services are connected and how requests are routed to their tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: dict[str, ServiceConfig] = Field(
        default_factory=dict, description="Downstream MCP servers, by name (seed: mcp_services)."
    )

    # --- connections -----------------------------------------------------------------
    protocol: Literal["legacy", "auto"] = Field(
        default="legacy",
        description="'legacy': the initialize handshake (2025-11-25), which keeps a session "
        "and receives tools/list_changed; 'auto': probe 2026-07-28 first.",
    )
    startup_wait: float = Field(
        default=10.0,
        ge=0,
        description="Seconds start-up waits for the first tool listings; connecting goes on "
        "in the background after that.",
    )
    connect_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to start, initialize and list one service."
    )
    refresh_interval: float = Field(
        default=300.0,
        ge=0,
        description="Seconds between tool re-listings (also a liveness check); 0: never.",
    )
    backoff_initial: float = Field(default=0.5, gt=0, description="First restart delay.")
    backoff_max: float = Field(default=30.0, gt=0, description="Longest restart delay.")
    stable_after: float = Field(
        default=60.0, ge=0, description="A session up this long resets the restart backoff."
    )
    pass_env: list[str] = Field(
        default_factory=list,
        description="Names in a service's 'env' let through although they look like keys "
        "(*_API_KEY). Provider key variables are never passed.",
    )

    # --- tool definitions ------------------------------------------------------------
    on_tool_change: Literal["warn", "block"] = Field(
        default="warn",
        description="When a listed tool's definition no longer matches its pinned hash: "
        "'warn' logs and accepts it; 'block' logs and withholds the tool.",
    )
    pin_file: str | None = Field(
        default=None,
        description="JSON file keeping tool-definition hashes across restarts; none: pins "
        "last as long as the process.",
    )
    max_description_chars: int = Field(
        default=1024, ge=0, description="Longer tool descriptions are cut (they are untrusted)."
    )

    # --- routing ---------------------------------------------------------------------
    top_k: int = Field(default=8, ge=0, description="Most tools sent per request.")
    min_score: float = Field(default=1.0, ge=0, description="Least BM25 score of a sent tool.")
    relative_score: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Tools scoring under this share of the best tool's score are not sent.",
    )
    capability_mismatch_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Score factor for tools of a service whose capabilities do not include "
        "the request's intent; 0 excludes such services outright.",
    )


def load_settings(config: Config) -> Settings:
    """The settings from ``config``; a :class:`ConfigError` names any bad key."""
    try:
        return config.plugin_settings(SETTINGS_KEY, Settings)
    except ValidationError as exc:
        source = f"{config.source or '<config>'}: plugins.{SETTINGS_KEY}"
        raise ConfigError(format_validation_error(exc, source)) from None


SETTINGS = PluginSettings(name=SETTINGS_KEY, model=Settings, aliases={"mcp_services": "services"})
"""What the ``plugin_settings`` hook declares."""
