"""The plugin's settings: ``plugins.prometheus``; the seed's ``metrics.prometheus_port`` and
``metrics.prometheus_host`` still set them."""

from __future__ import annotations

from dynamic_orchestrator.contract import PluginSettings
from pydantic import BaseModel, ConfigDict, Field

NAME = "prometheus"


class PrometheusSettings(BaseModel):
    """Prometheus metrics: ``/metrics`` on the HTTP transport, and a port of their own."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    port: int | None = Field(
        default=None, ge=0, le=65535, description="Serve Prometheus metrics on this port too."
    )
    host: str = Field(default="127.0.0.1", description="Address for 'port'.")


SETTINGS = PluginSettings(
    name=NAME,
    model=PrometheusSettings,
    aliases={"metrics.prometheus_port": "port", "metrics.prometheus_host": "host"},
)
"""What the ``plugin_settings`` hook declares."""
