"""Configuration: loading YAML into the schema, with embedded defaults that need no file.

Lookup order: an explicit path (``--config``), ``$DYNAMIC_ORCHESTRATOR_CONFIG``,
``./dynamic-orchestrator.yaml``, then ``config.yaml`` in the user config directory;
otherwise the embedded defaults. Unknown keys and bad values are errors that name their
path (``execution.simple.fallback[1]: ...``). The schema itself lives in the contract
(:mod:`dynamic_orchestrator.contract`) and is re-exported here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import ValidationError

from .contract._config import (
    APP_NAME,
    BreakerOverride,
    BudgetConfig,
    CacheConfig,
    CircuitBreakerConfig,
    Config,
    GatewayConfig,
    MetricsConfig,
    ModelOverride,
    PluginsConfig,
    PromptConfig,
    ProviderConfig,
    RedisConfig,
    RetryConfig,
    ServerConfig,
    ServiceConfig,
    TierExecution,
    ToolsConfig,
)
from .contract._errors import ConfigError

__all__ = [
    "APP_NAME",
    "ENV_CONFIG",
    "LOCAL_CONFIG",
    "BreakerOverride",
    "BudgetConfig",
    "CacheConfig",
    "CircuitBreakerConfig",
    "Config",
    "GatewayConfig",
    "MetricsConfig",
    "ModelOverride",
    "PluginsConfig",
    "PromptConfig",
    "ProviderConfig",
    "RedisConfig",
    "RetryConfig",
    "ServerConfig",
    "ServiceConfig",
    "TierExecution",
    "ToolsConfig",
    "find_config_path",
    "format_validation_error",
    "load_config",
    "parse_config",
]

ENV_CONFIG = "DYNAMIC_ORCHESTRATOR_CONFIG"
LOCAL_CONFIG = "dynamic-orchestrator.yaml"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: ``source: key.path: message``."""
    lines = []
    for item in error.errors():
        loc = _format_loc(tuple(p for p in item["loc"] if p not in ("function-after",)))
        if item["type"] == "extra_forbidden":
            lines.append(f"{source}: {loc}: unknown key")
        else:
            lines.append(f"{source}: {loc}: {item['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> Config:
    """Validate already-parsed YAML/JSON data."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, not {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    return config.model_copy(update={"source": source})


def find_config_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The file the lookup order picks, or None for the embedded defaults."""
    if path is not None:
        return Path(path)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    local = Path.cwd() / LOCAL_CONFIG
    if local.is_file():
        return local
    user = Path(platformdirs.user_config_dir(APP_NAME)) / "config.yaml"
    if user.is_file():
        return user
    return None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration by the lookup order; embedded defaults when no file is found."""
    found = find_config_path(path)
    if found is None:
        config = Config(source="embedded defaults")
    else:
        text = _read_config_file(found)
        import yaml  # only when there is a file: keeps start-up light

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"{found}: invalid YAML{where}: {problem}") from None
        config = parse_config(data, str(found))
    return _apply_environment(config)


MAX_CONFIG_BYTES = 1_000_000
"""The largest configuration file read (a real one is a few kilobytes)."""


def _read_config_file(path: Path) -> str:
    """The file's UTF-8 text; a clear error naming it when it is not a readable file.

    Opened without blocking, so a FIFO or device is refused rather than waited on, and
    never read past :data:`MAX_CONFIG_BYTES` (``/dev/zero`` would never end).
    """
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: not a regular file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: {info.st_size} bytes, larger than the {MAX_CONFIG_BYTES} read"
            )
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than the {MAX_CONFIG_BYTES} bytes read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def _apply_environment(config: Config) -> Config:
    ttl = os.environ.get("CACHE_TTL")
    if ttl:
        try:
            value = float(ttl)
            if value < 0:
                raise ValueError
        except ValueError:
            raise ConfigError(f"CACHE_TTL: expected seconds >= 0, got {ttl!r}") from None
        config = config.model_copy(update={"cache": config.cache.model_copy(update={"ttl": value})})
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        config = config.model_copy(
            update={"redis": config.redis.model_copy(update={"url": redis_url})}
        )
    return config
