"""The plugin's settings: ``plugins.mcp_server``, with its ``server`` (the MCP server's
streamable HTTP transport) and ``gateway`` (the HTTP gateway).

The seed's top-level ``gateway`` section and the transport keys of ``server`` still set them
(the host reads them in through the aliases declared here). ``server.max_request_chars`` is
the host's: it bounds every request, whatever door it came in by.
"""

from __future__ import annotations

from typing import Any, Literal

from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import PluginSettings
from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME = "mcp_server"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ServerSettings(_Section):
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
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes serving the gateway on its one port (each with its own "
        "in-memory metrics, breakers and budget unless they are kept in Redis).",
    )

    @field_validator("scenarios", mode="before")
    @classmethod
    def _complete_scenarios(cls, value: Any) -> Any:
        return {**_default_scenarios(), **value} if isinstance(value, dict) else value


class McpServerSettings(_Section):
    """The MCP server's HTTP transport and the gateway."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)


SETTINGS = PluginSettings(
    name=NAME,
    model=McpServerSettings,
    aliases={
        "gateway": "gateway",
        **{f"server.{key}": f"server.{key}" for key in ServerSettings.model_fields},
    },
)
"""What the ``plugin_settings`` hook declares."""


def settings_of(config: Config) -> McpServerSettings:
    """This plugin's settings in ``config``."""
    return config.plugin_settings(NAME, McpServerSettings)
