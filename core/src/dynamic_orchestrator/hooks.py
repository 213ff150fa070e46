"""The one typed facade over ``pm.hook``: the only module that calls hooks.

pluggy cannot type hook calls; this class calls each hook with keyword arguments, checks
what comes back, and turns "no plugin answered" into a clear error that says what to
install.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import pluggy

from .contract import (
    ComplexityResult,
    IntentResult,
    MetricsSummary,
    NoImplementationError,
    PluginError,
    Prompt,
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

    def __init__(self, pm: pluggy.PluginManager, *, strict: bool = False):
        self.pm = pm
        self._hook = pm.hook
        self.strict = strict

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

    def register_services(self, config: Config) -> list[Service]:
        return self._collect("register_services", lambda s: s.name, config=config)

    def register_commands(self) -> list[click.Command]:
        return self._collect("register_commands", lambda c: c.name or "")

    def register_http_routes(self, config: Config) -> list[tuple[str, Any]]:
        """(path, ASGI app) pairs; the first plugin to claim a path keeps it."""
        return self._collect("register_http_routes", lambda route: route[0], config=config)

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
        return _expect(self._hook.classify(request=request), IntentResult, "classify")

    def score_complexity(self, request: Request, intent: IntentResult) -> ComplexityResult:
        result = self._hook.score_complexity(request=request, intent=intent)
        return _expect(result, ComplexityResult, "score_complexity")

    def route_services(
        self, request: Request, intent: IntentResult, services: list[Service]
    ) -> ServiceRoute | None:
        result = self._hook.route_services(request=request, intent=intent, services=services)
        return None if result is None else _expect(result, ServiceRoute, "route_services")

    def select_model(
        self,
        request: Request,
        analysis: RequestAnalysis,
        catalog: CatalogView,
        constraints: Constraints,
    ) -> Selection:
        result = self._hook.select_model(
            request=request, analysis=analysis, catalog=catalog, constraints=constraints
        )
        return _expect(result, Selection, "select_model")

    def generate_prompt(
        self, request: Request, analysis: RequestAnalysis, model: ModelInfo, config: Config
    ) -> Prompt:
        result = self._hook.generate_prompt(
            request=request, analysis=analysis, model=model, config=config
        )
        return _expect(result, Prompt, "generate_prompt")

    def execute(self, context: ExecutionContext) -> Awaitable[Execution]:
        result = self._hook.execute(context=context)
        if result is None:
            raise NoImplementationError(f"no plugin implements 'execute'; {_INSTALL_HINT}")
        if not inspect.isawaitable(result):
            raise PluginError("hook 'execute' must return an awaitable", hook="execute")
        return result

    def call_model(self, model_call: ModelCall) -> Awaitable[Completion]:
        result = self._hook.call_model(model_call=model_call)
        if result is None:
            raise NoImplementationError(f"no plugin implements 'call_model'; {_INSTALL_HINT}")
        if not inspect.isawaitable(result):
            raise PluginError("hook 'call_model' must return an awaitable", hook="call_model")
        return result

    def record(self, record: RequestRecord) -> None:
        self._hook.record(record=record)

    def metrics_summary(self, period: str, persistent: bool) -> MetricsSummary | None:
        result = self._hook.metrics_summary(period=period, persistent=persistent)
        return None if result is None else _expect(result, MetricsSummary, "metrics_summary")

    def circuit_states(self) -> dict[str, str]:
        result = self._hook.circuit_states()
        return dict(result) if result else {}
