"""The one typed facade over ``pm.hook``: the only module that calls hooks.

pluggy cannot type hook calls; this class calls each hook with keyword arguments, checks
what comes back, and turns "no plugin answered" into a clear error that says what to
install.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import pluggy

from . import hookspecs
from .contract import (
    ENTRY_POINT_GROUP,
    INTENTS,
    PROJECT,
    ComplexityResult,
    ConfigError,
    IntentInfo,
    IntentResult,
    MetricsSummary,
    NoImplementationError,
    PluginError,
    PluginSettings,
    Prompt,
    Rewrite,
    Selection,
    ServiceRoute,
)
from .log import get_logger

if TYPE_CHECKING:
    import click

    from .contract import (
        CatalogView,
        Completion,
        ComplexityResult,
        Config,
        Constraints,
        Execution,
        ExecutionContext,
        Host,
        IntentResult,
        MetricsSummary,
        ModelCall,
        ModelInfo,
        Prompt,
        Provider,
        Request,
        RequestAnalysis,
        RequestRecord,
        Selection,
        Service,
        ServiceRoute,
    )

T = TypeVar("T")
log = get_logger("hooks")

_INSTALL_HINT = "install 'dynamic-orchestrator' (the default plugins) or a plugin that does"


def _expect(value: Any, kind: type[T], hook: str) -> T:
    if value is None:
        raise NoImplementationError(f"no plugin implements {hook!r}; {_INSTALL_HINT}")
    if not isinstance(value, kind):
        raise PluginError(
            f"hook {hook!r} returned {type(value).__name__}, expected {kind.__name__}", hook=hook
        )
    return value


class Hooks:
    """Typed calls into the plugins of one plugin manager."""

    def __init__(self, pm: pluggy.PluginManager, *, strict: bool = False, host: Host | None = None):
        self.pm = pm
        self._hook = pm.hook
        self.strict = strict
        self.host = host
        """The orchestrator these calls run for: passed to the hooks that take ``host``."""
        self.intents: dict[str, IntentInfo] = {name: IntentInfo(name) for name in INTENTS}
        """The vocabulary ``classify`` answers are checked against: the five defaults, and
        what :meth:`register_intents` added."""

    # --- registration ------------------------------------------------------------------

    def _collect(self, hook_name: str, key: Callable[[Any], str], **kwargs: Any) -> list[Any]:
        """Call a registration hook plugin by plugin; the first to register a name keeps it.

        Implementations run in pluggy's order (installed plugins before the trylast
        defaults), so an installed plugin overrides a default of the same name. Two
        plugins of equal rank claiming one name, or a registration that raises, is logged
        with the plugins' names and skipped.
        """
        items: dict[str, tuple[Any, str, bool]] = {}
        caller = getattr(self._hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            plugin_name = impl.plugin_name

            def register(
                *args: Any, _plugin: str = plugin_name, _last: bool = impl.trylast
            ) -> None:
                item = args[0] if len(args) == 1 else tuple(args)
                name = key(item)
                if name in items:
                    _, first_plugin, first_last = items[name]
                    if not (_last and not first_last):
                        log.warning(
                            "duplicate_registration",
                            hook=hook_name,
                            name=name,
                            kept=first_plugin,
                            ignored=_plugin,
                        )
                    return
                items[name] = (item, _plugin, _last)

            args = {k: v for k, v in {"register": register, **kwargs}.items() if k in impl.argnames}
            try:
                impl.function(**args)
            except Exception as exc:
                if self.strict:
                    raise
                log.warning(
                    "registration_failed", hook=hook_name, plugin=plugin_name, error=str(exc)
                )
        return [item for item, _, _ in items.values()]

    def register_models(self, config: Config) -> list[ModelInfo]:
        return self._collect("register_models", lambda m: m.name, config=config)

    def register_providers(self, config: Config) -> list[Provider]:
        return self._collect("register_providers", lambda p: p.name, config=config)

    def register_intents(self, config: Config) -> dict[str, IntentInfo]:
        """The vocabulary: the default intents and those plugins register, by name, with
        the estimates the configuration gives (``intents.<name>.output_tokens``) over theirs.

        Also what :meth:`classify` checks answers against from then on.

        :raises ConfigError: the configuration names an intent nobody registered.
        """
        registered = self._collect("register_intents", lambda i: i.name, config=config)
        bad = [item for item in registered if not isinstance(item, IntentInfo)]
        if bad:
            raise PluginError(
                f"register_intents takes IntentInfo objects, got {type(bad[0]).__name__}",
                hook="register_intents",
            )
        intents = {
            **{name: IntentInfo(name) for name in INTENTS},
            **{item.name: item for item in registered},
        }
        for name, said in config.intents.items():
            if name not in intents:
                raise ConfigError(
                    f"intents.{name}: no plugin registers this intent (known: {', '.join(intents)})"
                )
            info = intents[name]
            tokens = {**info.output_tokens, **said.output_tokens}
            intents[name] = dataclasses.replace(info, output_tokens=tokens)
        self.intents = intents
        return self.intents

    def register_services(self, config: Config) -> list[Service]:
        return self._collect("register_services", lambda s: s.name, config=config)

    def plugin_settings(self) -> list[PluginSettings]:
        """Every plugin's declared settings, in call order (the first of a name wins)."""
        declared = []
        for item in self._hook.plugin_settings():
            declared.append(_expect(item, PluginSettings, "plugin_settings"))
        return declared

    def register_commands(self) -> list[click.Command]:
        return self._collect("register_commands", lambda c: c.name or "")

    def register_http_routes(self, config: Config) -> list[tuple[str, Any]]:
        """(path, ASGI app) pairs; the first plugin to claim a path keeps it."""
        return self._collect(
            "register_http_routes", lambda route: route[0], config=config, host=self.host
        )

    # --- lifecycle -------------------------------------------------------------------

    async def _call_all(
        self, hook_name: str, timeout: float | None = None, **kwargs: Any
    ) -> list[BaseException]:
        """Call every implementation, awaiting awaitables; return the errors, never raise.

        Each implementation gets ``timeout`` seconds; one that takes longer is cancelled and
        its error (a :class:`TimeoutError`) names the plugin, as every error here does.
        """
        errors: list[BaseException] = []
        caller = getattr(self._hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                with anyio.fail_after(timeout):
                    result = impl.function(
                        **{k: v for k, v in kwargs.items() if k in impl.argnames}
                    )
                    if inspect.isawaitable(result):
                        await result
            except TimeoutError:
                errors.append(
                    TimeoutError(
                        f"plugin {impl.plugin_name}: {hook_name} did not finish within {timeout:g}s"
                    )
                )
            except Exception as exc:
                errors.append(
                    RuntimeError(
                        f"plugin {impl.plugin_name}: {hook_name} failed: "
                        f"{type(exc).__name__}: {exc}"
                    )
                )
        return errors

    async def startup(
        self, orchestrator: Host, timeout: float | None = None
    ) -> list[BaseException]:
        return await self._call_all("startup", timeout, orchestrator=orchestrator)

    async def shutdown(
        self, orchestrator: Host, timeout: float | None = None
    ) -> list[BaseException]:
        return await self._call_all("shutdown", timeout, orchestrator=orchestrator)

    # --- per-request stages ------------------------------------------------------------

    def classify(self, request: Request) -> IntentResult:
        """The intent, which must be one of :attr:`intents`."""
        result = _expect(
            self._hook.classify(request=request, host=self.host), IntentResult, "classify"
        )
        if result.intent not in self.intents:
            raise PluginError(
                f"hook 'classify' answered intent {result.intent!r}, which no plugin "
                f"registered (known: {', '.join(self.intents)}); the classifier's plugin "
                "must register it with the register_intents hook",
                hook="classify",
            )
        return result

    def score_complexity(self, request: Request, intent: IntentResult) -> ComplexityResult:
        result = self._hook.score_complexity(request=request, intent=intent, host=self.host)
        return _expect(result, ComplexityResult, "score_complexity")

    def route_services(
        self, request: Request, intent: IntentResult, services: list[Service]
    ) -> ServiceRoute | None:
        result = self._hook.route_services(request=request, intent=intent, services=services)
        return None if result is None else _expect(result, ServiceRoute, "route_services")

    def system_prompt_tokens(
        self,
        request: Request,
        intent: IntentResult,
        complexity: ComplexityResult,
        route: ServiceRoute,
    ) -> int:
        """The prompt plugin's estimate of its instructions' tokens; 0 when none answers."""
        result = self._hook.system_prompt_tokens(
            request=request, intent=intent, complexity=complexity, route=route
        )
        if result is None:
            return 0
        if isinstance(result, bool) or not isinstance(result, int) or result < 0:
            raise PluginError(
                f"hook 'system_prompt_tokens' returned {result!r}, expected a count of tokens",
                hook="system_prompt_tokens",
            )
        return result

    def select_model(
        self,
        request: Request,
        analysis: RequestAnalysis,
        catalog: CatalogView,
        constraints: Constraints,
    ) -> Selection:
        result = self._hook.select_model(
            request=request,
            analysis=analysis,
            catalog=catalog,
            constraints=constraints,
            host=self.host,
        )
        return _expect(result, Selection, "select_model")

    def generate_prompt(
        self, request: Request, analysis: RequestAnalysis, model: ModelInfo, config: Config
    ) -> Prompt:
        result = self._hook.generate_prompt(
            request=request, analysis=analysis, model=model, config=config, host=self.host
        )
        return _expect(result, Prompt, "generate_prompt")

    async def rewrite_prompt(self, context: ExecutionContext, orchestrator: Host) -> Rewrite | None:
        """The rewritten user message, or None when no plugin rewrites this request."""
        result = self._hook.rewrite_prompt(context=context, orchestrator=orchestrator)
        if result is None:
            return None
        if not inspect.isawaitable(result):
            raise PluginError(
                "hook 'rewrite_prompt' must return an awaitable", hook="rewrite_prompt"
            )
        rewrite = await result
        return None if rewrite is None else _expect(rewrite, Rewrite, "rewrite_prompt")

    def rewrites(self, context: ExecutionContext, orchestrator: Host) -> bool:
        """Whether a plugin would rewrite this request's prompts (nothing is run: the
        awaitable ``rewrite_prompt`` answers with is closed unawaited)."""
        result = self._hook.rewrite_prompt(context=context, orchestrator=orchestrator)
        if result is None:
            return False
        close = getattr(result, "close", None) or getattr(result, "cancel", None)
        if callable(close):
            close()
        return True

    def execute(self, context: ExecutionContext) -> Awaitable[Execution]:
        if context.host is None:
            context.host = self.host
        result = self._hook.execute(context=context)
        if result is None:
            raise NoImplementationError(f"no plugin implements 'execute'; {_INSTALL_HINT}")
        if not inspect.isawaitable(result):
            raise PluginError("hook 'execute' must return an awaitable", hook="execute")
        return result

    def call_model(self, model_call: ModelCall) -> Awaitable[Completion]:
        if model_call.context.host is None:
            model_call.context.host = self.host
        result = self._hook.call_model(model_call=model_call)
        if result is None:
            raise NoImplementationError(f"no plugin implements 'call_model'; {_INSTALL_HINT}")
        if not inspect.isawaitable(result):
            raise PluginError("hook 'call_model' must return an awaitable", hook="call_model")
        return result

    def record(self, record: RequestRecord) -> None:
        self._hook.record(record=record, host=self.host)

    def record_verdict(self, request_id: str, verdict: bool | float, source: str) -> int:
        """Pass a verdict to every implementation; how many stored it."""
        results = self._hook.record_verdict(
            request_id=request_id, verdict=verdict, source=source, host=self.host
        )
        return sum(1 for r in results or [] if r)

    def metrics_summary(self, period: str, persistent: bool) -> MetricsSummary | None:
        result = self._hook.metrics_summary(period=period, persistent=persistent, host=self.host)
        return None if result is None else _expect(result, MetricsSummary, "metrics_summary")

    def circuit_states(self) -> dict[str, str]:
        result = self._hook.circuit_states(host=self.host)
        return dict(result) if result else {}


@functools.cache
def installed_settings() -> tuple[PluginSettings, ...]:
    """The settings every installed plugin declares, whatever the allow- and block-lists say
    (a disabled plugin's settings are still checked, never an unknown key)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            pm.register(entry_point.load(), name=entry_point.name)
        except Exception:
            continue
    try:
        return tuple(Hooks(pm).plugin_settings())
    except PluginError:
        return ()
