"""Finding, loading and guarding plugins.

Plugins are entry points in the ``dynamic_orchestrator`` group. Each is loaded on its own:
a plugin that fails to import is reported by name and skipped (``strict`` re-raises, for
plugin authors). The environment chooses what loads:

- ``DYNAMIC_ORCHESTRATOR_LOAD_PLUGINS``: comma-separated allow-list (empty: load none);
- ``DYNAMIC_ORCHESTRATOR_DISABLE_PLUGINS``: comma-separated block-list;
- ``DYNAMIC_ORCHESTRATOR_TRACE_PLUGINS=1``: log every hook call and result to stderr;
- ``DYNAMIC_ORCHESTRATOR_STRICT_PLUGINS=1``: a plugin that fails to load is fatal.

A name matches an entry point's name or its distribution's name. Every hook
implementation is wrapped so that an exception names the plugin that raised it.

Plugins can also be passed in-process (``make_plugin_manager(plugins=[obj])``,
``Orchestrator(plugins=[obj])``): they are validated like entry points and honour the
block-list, but not the allow-list (they were asked for by name).

Call order is deterministic: the plugins named in ``order`` (``plugins.order``) run first,
in that order; every other plugin follows, sorted by name. ``tryfirst``/``trylast`` marks
on an implementation still come before this order (built-ins are ``trylast``).
"""

from __future__ import annotations

import functools
import inspect
import os
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .contract import ENTRY_POINT_GROUP, PROJECT, PluginError
from .log import get_logger

GROUP = ENTRY_POINT_GROUP
ENV_LOAD = "DYNAMIC_ORCHESTRATOR_LOAD_PLUGINS"
ENV_DISABLE = "DYNAMIC_ORCHESTRATOR_DISABLE_PLUGINS"
ENV_TRACE = "DYNAMIC_ORCHESTRATOR_TRACE_PLUGINS"
ENV_STRICT = "DYNAMIC_ORCHESTRATOR_STRICT_PLUGINS"
COMMAND_GROUP = GROUP + ".commands"
"""Entry points that name one command each (``serve = "pkg.commands:serve"``), so that
running it imports that module alone instead of every plugin's commands. The command is
registered through ``register_commands`` as well; this is only the index to find it."""

# Hooks whose every implementation runs; an exception in one is logged and swallowed so
# one broken sink or lifecycle hook cannot fail a request or block the others.
SWALLOWING_HOOKS = frozenset({"record", "record_verdict"})

log = get_logger("plugins")


@dataclass
class PluginInfo:
    """What ``dynamic-orchestrator plugins`` lists about one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    builtin: bool = False
    error: str | None = None


@dataclass
class LoadReport:
    loaded: list[PluginInfo] = field(default_factory=list)
    failed: list[PluginInfo] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def hookspec_names() -> set[str]:
    """The names of every hook the host defines."""
    return {
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, PROJECT + "_spec")
    }


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that refuses async first-result hooks and guards every call."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.report = LoadReport()

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin``; a hook name no spec defines is refused, naming the plugin."""
        plugin_name = name or self.get_canonical_name(plugin)
        self._refuse_async_decisions(plugin, plugin_name)
        result = super().register(plugin, plugin_name)
        if result is not None:
            unknown = self.unknown_hooks(plugin)
            if unknown:
                super().unregister(plugin, result)
                raise PluginError(
                    f"plugin {result!r} implements unknown hook(s) {', '.join(unknown)}; "
                    f"known hooks: {', '.join(sorted(hookspec_names()))}",
                    plugin=result,
                    hook=unknown[0],
                )
            self._guard(plugin, result)
            info = self.infos.setdefault(result, PluginInfo(name=result))
            info.hooks = sorted(caller.name for caller in self.get_hookcallers(plugin) or [])
        return result

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        if name is None and plugin is not None:
            name = self.get_name(plugin)
        removed = super().unregister(plugin, name)
        if name is not None:
            self.infos.pop(name, None)
        return removed

    def unknown_hooks(self, plugin: object) -> list[str]:
        """Hooks this plugin implements that no spec defines (a misspelt name, say)."""
        unknown = []
        for caller in self.get_hookcallers(plugin) or []:
            if caller.spec is None and any(
                impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls()
            ):
                unknown.append(caller.name)
        return unknown

    def _refuse_async_decisions(self, plugin: object, name: str) -> None:
        for attr in dir(plugin):
            spec = getattr(self.hook, attr, None)
            if spec is None or not isinstance(spec, pluggy.HookCaller) or spec.spec is None:
                continue
            if not spec.spec.opts.get("firstresult"):
                continue
            func = getattr(plugin, attr, None)
            if func is None or self.parse_hookimpl_opts(plugin, attr) is None:
                continue
            if inspect.iscoroutinefunction(func):
                raise PluginError(
                    f"plugin {name!r}: hook {attr!r} is 'async def'; decision hooks are "
                    "synchronous (pluggy would take the un-awaited coroutine as the answer). "
                    "Return an awaitable from a plain function instead.",
                    plugin=name,
                    hook=attr,
                )

    def _guard(self, plugin: object, name: str) -> None:
        for caller in self.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not getattr(impl.function, "_do_guarded", False):
                    impl.function = _guarded(impl.function, name, caller.name)  # type: ignore[misc]

    def plugin_infos(self) -> list[PluginInfo]:
        return sorted(self.infos.values(), key=lambda i: (i.builtin, i.name))


def _guarded(func: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
    swallow = hook in SWALLOWING_HOOKS

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PluginError:
            raise
        except Exception as exc:
            if swallow:
                log.warning("plugin_hook_failed", plugin=plugin, hook=hook, error=repr(exc))
                return None
            raise PluginError(
                f"plugin {plugin!r} failed in hook {hook!r}: {type(exc).__name__}: {exc}",
                plugin=plugin,
                hook=hook,
            ) from exc

    wrapper._do_guarded = True  # type: ignore[attr-defined]
    return wrapper


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def plugin_name(plugin: object) -> str:
    """The name an in-process plugin goes by: its ``plugin_name``, else its ``__name__``."""
    explicit = getattr(plugin, "plugin_name", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    if isinstance(plugin, types.ModuleType | type):
        return plugin.__name__
    return type(plugin).__name__


@dataclass
class _Candidate:
    """A plugin about to be registered: its names, how to load it, what to report."""

    info: PluginInfo
    load: Callable[[], object]
    aliases: set[str] = field(default_factory=set)


def _given(plugin: object) -> object:
    return plugin


def _matches(names: Iterable[str], entry_point: metadata.EntryPoint) -> bool:
    return bool({_norm(n) for n in names} & _entry_point_aliases(entry_point))


def _entry_point_aliases(entry_point: metadata.EntryPoint) -> set[str]:
    aliases = {_norm(entry_point.name)}
    if entry_point.dist:
        aliases.add(_norm(entry_point.dist.name))
    return aliases


def command_entry_point(name: str) -> metadata.EntryPoint | None:
    """The entry point of the command ``name`` in :data:`COMMAND_GROUP`, or None.

    None as well when the environment's allow- and block-lists keep every plugin of the
    distribution that declares it from loading (its ``register_commands`` with it).
    """
    env_allow = _env_list(ENV_LOAD)
    blocked = {_norm(n) for n in _env_list(ENV_DISABLE) or []}
    for entry_point in metadata.entry_points(group=COMMAND_GROUP, name=name):
        dist = entry_point.dist
        plugins = [ep for ep in dist.entry_points if ep.group == GROUP] if dist else []
        if any(
            (env_allow is None or _matches(env_allow, ep))
            and not _entry_point_aliases(ep) & blocked
            for ep in plugins
        ):
            return entry_point
    return None


def call_order(names: list[set[str]], order: Sequence[str]) -> list[int]:
    """Indices of plugins (each given by its aliases), in the order their hooks run.

    Plugins named in ``order`` come first, in that order; the rest follow by name (the
    smallest alias), so the order never depends on how the entry points happen to be listed.
    """
    rank = {_norm(n): i for i, n in enumerate(order)}

    def key(i: int) -> tuple[int, str]:
        aliases = names[i]
        first = min((rank[a] for a in aliases if a in rank), default=len(rank))
        return first, min(aliases)

    return sorted(range(len(names)), key=key)


def load_entry_points(
    pm: PluginManager,
    *,
    allow: list[str] | None = None,
    disable: Iterable[str] = (),
    strict: bool = False,
    plugins: Iterable[object] = (),
    order: Sequence[str] = (),
    entry_points: bool = True,
) -> LoadReport:
    """Load every ``dynamic_orchestrator`` entry point and each in-process plugin, each on its own.

    :param allow: names to load (None: all); the environment's allow-list wins.
    :param disable: names never to load, added to the environment's block-list.
    :param strict: re-raise the first failure instead of warning.
    :param plugins: plugin objects or modules to register besides the entry points.
    :param order: plugins whose hooks run first, in this order; the rest follow by name.
    :param entry_points: False registers only ``plugins``.
    """
    env_allow = _env_list(ENV_LOAD)
    allow = env_allow if env_allow is not None else allow
    blocked = {_norm(n) for n in [*disable, *(_env_list(ENV_DISABLE) or [])]}
    strict = strict or _truthy(os.environ.get(ENV_STRICT))
    report = pm.report
    candidates: list[_Candidate] = []
    seen: set[str] = set()
    for entry_point in metadata.entry_points(group=GROUP) if entry_points else ():
        if entry_point.name in seen:
            continue
        seen.add(entry_point.name)
        aliases = _entry_point_aliases(entry_point)
        if allow is not None and not _matches(allow, entry_point):
            report.skipped.append(entry_point.name)
            continue
        if aliases & blocked:
            report.skipped.append(entry_point.name)
            continue
        dist = entry_point.dist
        info = PluginInfo(
            name=entry_point.name,
            distribution=dist.name if dist else None,
            version=dist.version if dist else None,
        )
        candidates.append(_Candidate(info, entry_point.load, aliases))
    for plugin in plugins:
        name = plugin_name(plugin)
        if _norm(name) in blocked:
            report.skipped.append(name)
            continue
        candidates.append(
            _Candidate(PluginInfo(name=name), functools.partial(_given, plugin), {_norm(name)})
        )
    ranked = [candidates[i] for i in call_order([c.aliases for c in candidates], order)]

    def failed(info: PluginInfo, exc: Exception) -> None:
        pm.infos.pop(info.name, None)
        info.error = f"{type(exc).__name__}: {exc}"
        report.failed.append(info)
        if strict:
            raise PluginError(
                f"plugin {info.name!r} failed to load: {info.error}", plugin=info.name
            ) from exc
        log.warning("plugin_load_failed", plugin=info.name, error=info.error)

    imported: list[tuple[PluginInfo, object]] = []
    for candidate in ranked:  # import in call order, so failures are reported in it too
        try:
            imported.append((candidate.info, candidate.load()))
        except Exception as exc:
            failed(candidate.info, exc)
    # pluggy calls the implementation registered last first: register in reverse.
    loaded: list[PluginInfo] = []
    for info, plugin in reversed(imported):
        if pm.get_plugin(info.name) is not None:
            continue
        try:
            pm.infos[info.name] = info
            pm.register(plugin, name=info.name)
        except Exception as exc:
            failed(info, exc)
            continue
        loaded.append(info)
    report.loaded.extend(reversed(loaded))
    return report


def enable_tracing(pm: PluginManager) -> None:
    """Log every hook call, its arguments' types and its result to stderr."""

    def before(
        hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        log.info(
            "hook_call",
            hook=hook_name,
            plugins=[impl.plugin_name for impl in hook_impls],
            args=sorted(kwargs),
        )

    def after(
        outcome: pluggy.Result[Any],
        hook_name: str,
        hook_impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        exc = outcome.exception
        if exc is not None:
            log.info("hook_error", hook=hook_name, error=repr(exc))
        else:
            log.info("hook_result", hook=hook_name, result=type(outcome.get_result()).__name__)

    pm.add_hookcall_monitoring(before, after)


def make_plugin_manager(
    *,
    load_entrypoints: bool = True,
    allow: list[str] | None = None,
    disable: Iterable[str] = (),
    strict: bool = False,
    plugins: Iterable[object] = (),
    order: Sequence[str] = (),
) -> PluginManager:
    """A plugin manager with the installed and in-process plugins, then the (trylast) built-ins.

    :param plugins: plugin objects or modules registered beside the entry points.
    :param order: plugins whose hooks run first, in this order; the rest follow by name.
    """
    pm = PluginManager()
    if load_entrypoints:
        load_entry_points(
            pm, allow=allow, disable=disable, strict=strict, plugins=plugins, order=order
        )
    elif plugins:
        load_entry_points(
            pm, disable=disable, strict=strict, plugins=plugins, order=order, entry_points=False
        )
    register_builtins(pm)
    pm.check_pending()
    if _truthy(os.environ.get(ENV_TRACE)):
        enable_tracing(pm)
    return pm


def register_builtins(pm: PluginManager) -> None:
    """Register the host's own chain walker (``execute``, ``call_model``; both trylast)."""
    from .execution import ChainWalker
    from .hooks import Hooks

    name = "dynamic_orchestrator.execution"
    if pm.get_plugin(name) is None:
        pm.infos[name] = PluginInfo(
            name=name, builtin=True, distribution="dynamic-orchestrator-core"
        )
        pm.register(ChainWalker(Hooks(pm)), name=name)
        from . import __version__

        pm.infos[name].version = __version__
