"""Configuration: loading YAML into the schema, with embedded defaults that need no file.

Lookup order: an explicit path (``--config``), ``$DYNAMIC_ORCHESTRATOR_CONFIG``,
``./dynamic-orchestrator.yaml``, then ``config.yaml`` in the user config directory;
otherwise the embedded defaults. Unknown keys and bad values are errors that name their
path (``execution.simple.fallback[1]: ...``). The schema itself lives in the contract
(:mod:`dynamic_orchestrator.contract`) and is re-exported here; each plugin's settings
(``plugins.<name>``, and the older top-level keys it still reads) are checked by the model
that plugin declares (:func:`resolve_plugin_settings`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ValidationError

from .contract._config import (
    APP_NAME,
    RESERVED_PLUGIN_NAMES,
    Config,
    IntentConfig,
    ModelOverride,
    PluginsConfig,
    PluginSettings,
    PromptConfig,
    ProviderConfig,
    RetryConfig,
    ServerConfig,
    SharedSection,
    TierExecution,
    ToolsConfig,
)
from .contract._errors import ConfigError

__all__ = [
    "APP_NAME",
    "ENV_CONFIG",
    "LOCAL_CONFIG",
    "Config",
    "IntentConfig",
    "ModelOverride",
    "PluginSettings",
    "PluginsConfig",
    "PromptConfig",
    "ProviderConfig",
    "RetryConfig",
    "ServerConfig",
    "TierExecution",
    "ToolsConfig",
    "find_config_path",
    "format_validation_error",
    "load_config",
    "parse_config",
    "resolve_plugin_settings",
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


def format_validation_error(
    error: ValidationError, source: str, where: Callable[[tuple[int | str, ...]], str] | None = None
) -> str:
    """One line per problem: ``source: key.path: message``.

    :param where: names the key path of an error location (default: the location itself).
    """
    lines = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if p not in ("function-after",))
        path = where(loc) if where is not None else _format_loc(loc)
        if item["type"] == "extra_forbidden":
            lines.append(f"{source}: {path}: unknown key")
        else:
            lines.append(f"{source}: {path}: {item['msg']}")
    return "\n".join(lines)


def parse_config(
    data: Any, source: str = "<config>", settings: Iterable[PluginSettings] | None = None
) -> Config:
    """Validate already-parsed YAML/JSON data, plugins' settings included.

    :param settings: the plugins' declared settings; default: every installed plugin's.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, not {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    config = config.model_copy(update={"source": source})
    if settings is None:
        from .hooks import installed_settings

        settings = installed_settings()
    return resolve_plugin_settings(config, settings)


_MISSING = object()


def _plain(value: Any) -> Any:
    """A section as plain data (a test may pass a plugin's model instead of a mapping)."""
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _join(path: str, rest: str) -> str:
    return path if rest == "(top level)" else path + ("" if rest.startswith("[") else ".") + rest


def _pop(data: dict[str, Any], path: list[str]) -> Any:
    """Remove and return the value at ``path``; an emptied parent section goes too."""
    head, *rest = path
    if head not in data:
        return _MISSING
    if not rest:
        return data.pop(head)
    inner = data[head]
    if not isinstance(inner, dict):
        return _MISSING
    value = _pop(inner, rest)
    if not inner:
        del data[head]
    return value


def _put(data: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_plugin_settings(config: Config, settings: Iterable[PluginSettings]) -> Config:
    """Validate each plugin's settings with its model and keep them in the configuration.

    A plugin's older keys (its ``aliases``, top-level or inside a host section such as
    ``prompt.rewrite``) are read into ``plugins.<name>`` first, which wins where both set a
    key; ``providers.<name>.options`` is checked by the model of its provider type. A
    top-level key (or a host section's extra key) or a ``plugins.<name>`` section that no
    plugin declares is an unknown key. Every problem names its key path as written in the file.

    :raises ConfigError: one line per problem.
    """
    source = config.source or "<config>"
    top: dict[str, Any] = _plain(config.model_extra or {})
    # Keys a host section holds for plugins (``prompt.rewrite``): read like top-level ones.
    shared = {
        key: _plain(extra)
        for key in type(config).model_fields
        if isinstance(section := getattr(config, key), SharedSection)
        and (extra := section.model_extra)
    }
    top.update(shared)
    sections: dict[str, Any] = _plain(config.plugins.model_extra or {})
    errors: list[str] = []
    resolved: dict[str, BaseModel] = {}
    options: dict[str, type[BaseModel]] = {}
    alias_roots: set[str] = set()
    seen: set[str] = set()
    for declared in settings:
        name = declared.name
        if name in seen:
            continue  # the first declaration of a name wins (the plugin manager's order)
        seen.add(name)
        for provider_type, model in declared.provider_options.items():
            options.setdefault(provider_type, model)
        if declared.model is None:
            continue
        if name in RESERVED_PLUGIN_NAMES:
            errors.append(f"{source}: plugins.{name}: a reserved name, not a plugin's section")
            continue
        data: dict[str, Any] = _plain(config.plugins.settings.get(name, {}))
        origins: list[tuple[tuple[str, ...], str]] = []
        for old, target in declared.aliases.items():
            alias_roots.add(old.split(".")[0])
            value = _pop(top, old.split("."))
            if value is not _MISSING:
                _put(data, target.split("."), value)
                origins.append((tuple(target.split(".")), old))
        section = sections.pop(name, None)
        if section is not None and not isinstance(section, dict):
            errors.append(f"{source}: plugins.{name}: expected a mapping")
            continue
        data = _merge(data, section or {})
        # An error is named where the file wrote it: the older place when only it is used.
        written = f"plugins.{name}"
        if section is None and name in config.plugins.settings:
            written = f"plugins.settings.{name}"

        def where(
            loc: tuple[int | str, ...],
            _origins: list[tuple[tuple[str, ...], str]] = origins,
            _written: str = written,
        ) -> str:
            for target, old in _origins:
                if tuple(str(p) for p in loc[: len(target)]) == target:
                    return _join(old, _format_loc(loc[len(target) :]))
            return _join(_written, _format_loc(loc))

        try:
            resolved[name] = declared.model.model_validate(data)
        except ValidationError as exc:
            errors.append(format_validation_error(exc, source, where))
    for provider_name, provider in config.providers.items():
        checker = options.get(provider.type or provider_name)
        if checker is None:
            continue
        try:
            checker.model_validate(provider.options)
        except ValidationError as exc:
            prefix = f"providers.{provider_name}.options"

            def under(loc: tuple[int | str, ...], _prefix: str = prefix) -> str:
                return _join(_prefix, _format_loc(loc))

            errors.append(format_validation_error(exc, source, under))
    for key, value in top.items():
        if (key in alias_roots or key in shared) and isinstance(value, dict) and value:
            errors.extend(f"{source}: {key}.{sub}: unknown key" for sub in value)
        else:
            errors.append(f"{source}: {key}: unknown key")
    errors.extend(
        f"{source}: plugins.{name}: unknown key (no installed plugin declares settings of "
        "that name; free-form settings go under plugins.settings.<name>)"
        for name in sections
    )
    if errors:
        raise ConfigError("\n".join(errors))
    return config.with_plugin_settings(resolved)


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
        config = parse_config({}, "embedded defaults")
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
    return config


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
