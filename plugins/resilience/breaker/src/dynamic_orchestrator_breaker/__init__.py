"""Resilience for Dynamic Orchestrator: circuit breakers, fallback, budget and a cache.

Installed, this plugin wraps the host's chain walker: each model call goes through a
circuit breaker per model (:mod:`.breaker`, :mod:`.registry`) within the request's
``max_cost`` and the period budget (:mod:`.budget`), and a request is answered from the
response cache when it can (:mod:`.cache`); :mod:`.executor` holds the two wrappers.
With ``REDIS_URL`` (or ``redis.url``) breakers, budget and cache are shared by every
process through Redis (:mod:`.shared`), and each process falls back to local state while
Redis is down.

At ``startup`` the plugin attaches one :class:`Resilience` object to the orchestrator's
plugin manager; it wraps ``execute`` and ``call_model`` and implements
``circuit_states``. Orchestrators sharing a plugin manager share it (and the settings of
the first). ``dynamic-orchestrator health`` shows every model's breaker and whether Redis
is reachable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.contract import Completion, Execution, ModelCall

from .breaker import Breaker, BreakerSettings, Permit, Snapshot
from .budget import PeriodBudget, RequestSpend, fit_call
from .cache import ResponseCache, cache_key, normalize_text
from .executor import guarded_call, run_resilient
from .registry import BreakerRegistry, Refusal, settings_for
from .shared import DOWN, SharedState

if TYPE_CHECKING:
    import click
    from dynamic_orchestrator import Orchestrator
    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.contract import ExecutionContext

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
    "ResponseCache",
    "SharedState",
    "Snapshot",
    "cache_key",
    "fit_call",
    "guarded_call",
    "normalize_text",
    "register_commands",
    "run_resilient",
    "settings_for",
    "shutdown",
    "startup",
]

ATTACHED_NAME = "dynamic_orchestrator_breaker.resilience"


class Resilience:
    """Breakers, budget and cache of one plugin manager, and the hooks that use them."""

    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time):
        self.config = config
        self.shared = SharedState(config.redis)
        self.breakers: BreakerRegistry | None = (
            BreakerRegistry(config.circuit_breaker, self.shared, clock=clock)
            if config.circuit_breaker.enabled
            else None
        )
        self.budget = PeriodBudget(config.budget, self.shared, clock=clock)
        self.cache = ResponseCache(config.cache, self.shared)

    @hookimpl(wrapper=True)
    def execute(
        self, context: ExecutionContext
    ) -> Generator[None, Awaitable[Execution] | None, Awaitable[Execution] | None]:
        """Around the chain walk: the period budget, and answers from the cache."""
        inner = yield
        return None if inner is None else run_resilient(self, context, inner)

    @hookimpl(wrapper=True)
    def call_model(
        self, model_call: ModelCall
    ) -> Generator[None, Awaitable[Completion] | None, Awaitable[Completion] | None]:
        """Around each model call: its circuit breaker, and the money left."""
        inner = yield
        return None if inner is None else guarded_call(self, model_call, inner)

    @hookimpl
    def circuit_states(self) -> dict[str, str]:
        """Each model's breaker: ``closed``, ``open`` or ``half_open``."""
        return self.breakers.states() if self.breakers is not None else {}

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


def attached(orchestrator: Orchestrator) -> Resilience | None:
    """The :class:`Resilience` attached to an orchestrator's plugin manager, if any."""
    plugin = orchestrator.pm.get_plugin(ATTACHED_NAME)
    return plugin if isinstance(plugin, Resilience) else None


@hookimpl
def startup(orchestrator: Orchestrator) -> None:
    """Attach the breakers, budget and cache; one breaker per catalog model, closed."""
    state = orchestrator.pm.attach(
        ATTACHED_NAME, lambda: Resilience(orchestrator.config), owner=orchestrator
    )
    if state.breakers is not None:
        state.breakers.add(m.name for m in orchestrator.catalog.models.values() if m.provider)


@hookimpl
def shutdown(orchestrator: Orchestrator) -> Awaitable[None] | None:
    """Detach when the last orchestrator on the manager closes, closing Redis."""
    state = orchestrator.pm.detach(ATTACHED_NAME, owner=orchestrator)
    if isinstance(state, Resilience):
        return state.aclose()
    return None


@hookimpl
def register_commands(register: Callable[[click.Command], None]) -> None:
    """``dynamic-orchestrator health``: breakers, Redis, cache and budget."""
    from .health import health

    register(health)
