"""The plugin's settings: ``plugins.compact``; the seed's ``prompt.rewrite`` and
``prompt.rewrite_model`` still set them. ``prompt.max_context_chars`` is the host's (the
token estimates models are chosen on count the same context this plugin renders)."""

from __future__ import annotations

from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import PluginSettings
from pydantic import BaseModel, ConfigDict, Field

NAME = "compact"


class CompactSettings(BaseModel):
    """Prompt rewriting: a cheap model makes the user message compact before the chain runs."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    rewrite: bool = Field(default=False, description="Let a cheap model rewrite the prompt.")
    rewrite_model: str | None = Field(
        default=None, description="The rewriting model; default: the first usable simple one."
    )


SETTINGS = PluginSettings(
    name=NAME,
    model=CompactSettings,
    aliases={f"prompt.{key}": key for key in CompactSettings.model_fields},
)
"""What the ``plugin_settings`` hook declares."""


def settings_of(config: Config) -> CompactSettings:
    """This plugin's settings in ``config``."""
    return config.plugin_settings(NAME, CompactSettings)
