"""Resilience for Dynamic Orchestrator: circuit breakers, fallback, budget and a cache.

Installed, this plugin wraps the host's chain walker: each model call goes through a
circuit breaker per model (:mod:`.breaker`, :mod:`.registry`) within the request's
``max_cost`` and the period budget (:mod:`.budget`), and a request is answered from the
response cache when it can (:mod:`.cache`); :mod:`.executor` holds the two wrappers.
With ``REDIS_URL`` (or ``redis.url``) breakers, budget and cache are shared by every
process through Redis (:mod:`.shared`), and each process falls back to local state while
Redis is down.

Settings: ``plugins.breaker`` (:mod:`.settings`; the seed's top-level ``cache``,
``circuit_breaker``, ``budget`` and ``redis`` still work). State: one :class:`Resilience`
per orchestrator, its plugin state (``host.plugin_state``), made from that orchestrator's
settings; two orchestrators in one process never share breakers, budget or cache unless
Redis shares them. ``dynamic-orchestrator health`` shows every model's breaker and whether
Redis is reachable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.contract import Completion, Execution, ModelCall, PluginSettings

from .breaker import Breaker, BreakerSettings, Permit, Snapshot
from .budget import PeriodBudget, RequestSpend, fit_call
from .cache import ResponseCache, cache_key, config_fingerprint, normalize_text
from .executor import guarded_call, run_resilient
from .registry import BreakerRegistry, Refusal, settings_for
from .settings import NAME, SETTINGS, ResilienceSettings
from .shared import DOWN, SharedState

if TYPE_CHECKING:
    import click
    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.contract import ExecutionContext, Host

__all__ = [
    "DOWN",
    "Breaker",
    "BreakerRegistry",
    "BreakerSettings",
    "PeriodBudget",
    "Permit",
    "Refusal",
    "RequestSpend",
    "Resilience",
    "ResilienceSettings",
    "ResponseCache",
    "SharedState",
    "Snapshot",
    "cache_key",
    "fit_call",
    "guarded_call",
    "normalize_text",
    "plugin_settings",
    "register_commands",
    "run_resilient",
    "settings_for",
    "shutdown",
    "startup",
    "state",
]


class Resilience:
    """The breakers, budget and cache of one orchestrator, from its settings."""

    def __init__(
        self,
        settings: ResilienceSettings,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.shared = SharedState(settings.redis)
        self.breakers: BreakerRegistry | None = (
            BreakerRegistry(settings.circuit_breaker, self.shared, clock=clock)
            if settings.circuit_breaker.enabled
            else None
        )
        self.budget = PeriodBudget(settings.budget, self.shared, clock=clock)
        self.cache = ResponseCache(settings.cache, self.shared)
        self.fingerprint = config_fingerprint(config)
        """The part of the configuration a cached answer depends on (fixed per host)."""

    async def health(self) -> dict[str, Any]:
        """Every breaker (after adopting the shared states), Redis, cache and budget."""
        now = time.time()
        models: dict[str, Any] = {}
        if self.breakers is not None:
            await self.breakers.refresh()
            for name, snap in self.breakers.snapshots().items():
                models[name] = {
                    "state": snap.state,
                    "failure_rate": None
                    if snap.failure_rate is None
                    else round(snap.failure_rate, 4),
                    "slow_call_rate": None
                    if snap.slow_call_rate is None
                    else round(snap.slow_call_rate, 4),
                    "calls_in_window": snap.calls,
                    "open_until": snap.open_until,
                    "open_for_s": None
                    if snap.open_until is None or snap.state != "open"
                    else round(max(0.0, snap.open_until - now), 3),
                    "reason": snap.reason or None,
                }
        return {
            "circuit_breaker": {"enabled": self.breakers is not None},
            "models": models,
            "redis": self.shared.status(),
            "cache": self.cache.stats(),
            "budget": await self.budget.status(),
        }

    async def aclose(self) -> None:
        await self.shared.close()


def state(host: Host) -> Resilience:
    """The host's :class:`Resilience`, made from its settings on first use."""
    config = host.config
    return host.plugin_state(
        NAME, lambda: Resilience(config.plugin_settings(NAME, ResilienceSettings), config)
    )


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.breaker``: cache, circuit breakers, budget and Redis."""
    return SETTINGS


@hookimpl
def startup(orchestrator: Host) -> None:
    """One breaker per catalog model, closed."""
    breakers = state(orchestrator).breakers
    if breakers is not None:
        breakers.add(m.name for m in orchestrator.catalog.models.values() if m.provider)


@hookimpl
def shutdown(orchestrator: Host) -> Awaitable[None]:
    """Close the Redis connections."""
    return state(orchestrator).aclose()


@hookimpl(wrapper=True)
def execute(
    context: ExecutionContext,
) -> Generator[None, Awaitable[Execution] | None, Awaitable[Execution] | None]:
    """Around the chain walk: the period budget, and answers from the cache."""
    inner = yield
    if inner is None or context.host is None:
        return inner
    return run_resilient(state(context.host), context, inner)


@hookimpl(wrapper=True)
def call_model(
    model_call: ModelCall,
) -> Generator[None, Awaitable[Completion] | None, Awaitable[Completion] | None]:
    """Around each model call: its circuit breaker, and the money left."""
    inner = yield
    host = model_call.context.host
    if inner is None or host is None:
        return inner
    return guarded_call(state(host), model_call, inner)


@hookimpl
def circuit_states(host: Host | None) -> dict[str, str] | None:
    """Each model's breaker: ``closed``, ``open`` or ``half_open``."""
    if host is None:
        return None
    breakers = state(host).breakers
    return breakers.states() if breakers is not None else {}


@hookimpl
def register_commands(register: Callable[[click.Command], None]) -> None:
    """``dynamic-orchestrator health``: breakers, Redis, cache and budget."""
    from .health import health

    register(health)
