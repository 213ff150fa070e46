"""The router's configuration: ``plugins.settings.router`` in the config file.

.. code-block:: yaml

    plugins:
      settings:
        router:
          file: routers/ours.npz        # relative to the config file's folder
          mode: utility                 # or threshold
          willingness_to_pay: 0.02      # USD one sure success is worth (utility mode)
          target: 0.8                   # success probability to reach (threshold mode)
          models:                       # router model name -> catalog model (null: never)
            gpt-4-1106-preview: gpt-4o
            mistralai/mixtral-8x7b-chat: gpt-4o-mini
            claude-v1: null
          outcomes: outcomes.jsonl      # opt-in: log each request run here, prompt included

Without ``file`` the router stays out of the way and the tier selector decides. A knob
left out takes the value stored in the router file (set by ``router calibrate --write``).
Errors name their path: ``plugins.settings.router.target: ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import PluginSettings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PREFIX = "plugins.settings.router"


class RouterSettingsError(ValueError):
    """Bad ``plugins.settings.router``; the message names the key."""


class RouterFileError(ValueError):
    """A router file that cannot be used, with the reason."""


class RouterSettings(BaseModel):
    """Validated ``plugins.settings.router``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = Field(default=None, description="Router file from 'router train'.")
    mode: Literal["utility", "threshold"] | None = Field(
        default=None, description="utility: max p - cost / wtp; threshold: cheapest p >= target."
    )
    target: float | None = Field(
        default=None, ge=0, le=1, description="Success probability to reach (threshold mode)."
    )
    willingness_to_pay: float | None = Field(
        default=None, gt=0, description="USD that one sure success is worth."
    )
    models: dict[str, str | None] = Field(
        default_factory=dict, description="Router model name -> catalog model name, or null."
    )
    outcomes: str | None = Field(
        default=None,
        description="Opt-in: append one outcome line (prompt text included) per request run "
        "here to this JSON lines file, to label and train a router on.",
    )


SETTINGS = PluginSettings("router", RouterSettings)
"""What the ``plugin_settings`` hook declares: the host checks the section at load."""


def parse_settings(data: Any) -> RouterSettings:
    """Validate a settings mapping; errors read ``plugins.settings.router.<key>: <why>``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RouterSettingsError(f"{PREFIX}: expected a mapping, got {type(data).__name__}")
    try:
        return RouterSettings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            loc = ".".join(str(p) for p in item["loc"])
            message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
            problems.append(f"{PREFIX}.{loc}: {message}")
        raise RouterSettingsError("; ".join(problems)) from None


def settings_of(config: Config) -> RouterSettings:
    """The router settings of a configuration (the host's validated ones, without a copy:
    this runs at every decision)."""
    try:
        return config.plugin_settings("router", RouterSettings)
    except ValidationError:  # a configuration no host resolved: the same message as ever
        return parse_settings(config.raw_plugin_settings("router"))


def resolve_file(settings: RouterSettings, config: Config) -> Path | None:
    """The router file's path; a relative one is taken from the config file's folder."""
    return _resolve(settings.file, config)


def resolve_outcomes(settings: RouterSettings, config: Config) -> Path | None:
    """The outcome log's path, if one is configured (relative: from the config's folder)."""
    return _resolve(settings.outcomes, config)


def _resolve(value: str | None, config: Config) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and config.source:
        source = Path(config.source)
        if source.is_file():
            path = source.parent / path
    return path
