"""The plugin's settings: ``plugins.sqlite``; the seed's ``metrics.persist``, ``metrics.path``,
``metrics.retention_days`` and ``metrics.queue_size`` still set them."""

from __future__ import annotations

from dynamic_orchestrator.contract import PluginSettings
from pydantic import BaseModel, ConfigDict, Field

NAME = "sqlite"


class SQLiteSettings(BaseModel):
    """The persistent metrics store."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    persist: bool = Field(default=True, description="Keep records in the SQLite store.")
    path: str | None = Field(default=None, description="SQLite file; default in user data dir.")
    retention_days: float = Field(
        default=7.0, gt=0, description="Persisted records older than this are deleted."
    )
    queue_size: int = Field(
        default=10_000,
        ge=1,
        description=(
            "Records accepted and not yet committed; more are dropped (and counted). A killed "
            "process loses at most this many."
        ),
    )


SETTINGS = PluginSettings(
    name=NAME,
    model=SQLiteSettings,
    aliases={f"metrics.{key}": key for key in SQLiteSettings.model_fields},
)
"""What the ``plugin_settings`` hook declares."""
