"""The breakers of every model, kept in step with the other processes through Redis.

Before each call, :meth:`BreakerRegistry.acquire` reads the model's shared state (one
``HMGET``), adopts an open decided elsewhere, asks the local breaker, and for a half-open
probe also takes the shared probe token, so exactly ``half_open_probes`` calls probe a
model across every process. After the call, the outcome goes to the local breaker and any
change of state is published.

Outage or noise: a request's outcome on a model enters the failure-rate window once,
whatever its retries (:class:`RequestOutcomes`), and a request adds to the
consecutive-failure run once, at its first hard-failed call on the model (its retries do
not): a run of ``consecutive_failures`` failing *requests* trips the breaker, so a burst
of retries (or of client-side timeouts) on one request cannot open it alone, while a dead
model is still left after that many requests. What each error kind does is this plugin's own
table, :data:`BREAKER_POLICIES`:

==================  ============  ===========  =====================================
kind                window        in a row     also
==================  ============  ===========  =====================================
transient           failure       yes
rate_limited        not counted   without RA   Retry-After: cool the model down for it
quota_exhausted     failure       yes          open for ``long_open_duration``
auth                not counted   no           every model of the provider opens long
model_not_found     failure       yes
others              not counted   no           (bad request, context, unavailable...)
==================  ============  ===========  =====================================

A 429 is back-pressure, not an outage: with ``Retry-After`` the model rests exactly that
long; without it the request falls back and nothing is counted against the rate, though a
model answering nothing but 429s still trips the consecutive count.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.log import get_logger

from .breaker import Breaker, BreakerSettings, Permit, Snapshot, Transition
from .shared import DOWN, SharedState

if TYPE_CHECKING:
    from .settings import CircuitBreakerConfig

log = get_logger("breaker")


@dataclass(frozen=True)
class KindPolicy:
    """What one error kind does to a model's breaker."""

    counts: bool
    """The request's outcome on the model is a failure in the rate window."""
    in_a_row: bool
    """The call adds to the consecutive-failure count."""
    cool_down: str | None = None
    """``retry_after`` (rest for the Retry-After given) or ``long`` (long_open_duration)."""
    provider_wide: bool = False
    """Every model of the failing provider opens (a refused key)."""


_NOT_COUNTED = KindPolicy(counts=False, in_a_row=False)
BREAKER_POLICIES: dict[ErrorKind, KindPolicy] = {
    ErrorKind.TRANSIENT: KindPolicy(counts=True, in_a_row=True),
    ErrorKind.RATE_LIMITED: KindPolicy(counts=False, in_a_row=True, cool_down="retry_after"),
    ErrorKind.QUOTA_EXHAUSTED: KindPolicy(counts=True, in_a_row=True, cool_down="long"),
    ErrorKind.AUTH: KindPolicy(counts=False, in_a_row=False, cool_down="long", provider_wide=True),
    ErrorKind.MODEL_NOT_FOUND: KindPolicy(counts=True, in_a_row=True),
}
"""Per error kind, what the breaker does (kinds not listed do nothing: their permit is
given back)."""


def breaker_policy(error: ProviderError) -> KindPolicy:
    """The breaker's policy for ``error``; a 429 with Retry-After is back-off only."""
    policy = BREAKER_POLICIES.get(error.kind, _NOT_COUNTED)
    if error.kind is ErrorKind.RATE_LIMITED and error.retry_after:
        return replace(policy, in_a_row=False)
    return policy


_SETTING_NAMES = tuple(f.name for f in fields(BreakerSettings))


def settings_for(config: CircuitBreakerConfig, model: str) -> BreakerSettings:
    """The breaker settings of ``model``: ``circuit_breaker`` with its per-model override."""
    merged = config.for_model(model)
    defaults = BreakerSettings()
    return BreakerSettings(
        **{name: getattr(merged, name, getattr(defaults, name)) for name in _SETTING_NAMES}
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass(frozen=True)
class Refusal:
    """Why a model may not be called now."""

    reason: str


class BreakerRegistry:
    """One breaker per model, created on first use, shared state through ``shared``."""

    def __init__(
        self,
        config: CircuitBreakerConfig,
        shared: SharedState,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.shared = shared
        self.clock = clock
        self._breakers: dict[str, Breaker] = {}
        self._shared_episode: dict[str, float] = {}
        """Models whose current open episode is known to Redis: model -> its open-until."""

    def breaker(self, model: str) -> Breaker:
        found = self._breakers.get(model)
        if found is None:
            found = self._breakers[model] = Breaker(settings_for(self.config, model), self.clock)
        return found

    def add(self, models: Iterable[str]) -> None:
        """Create breakers up front (so ``get_metrics`` lists every model, closed)."""
        for model in models:
            self.breaker(model)

    # --- before a call ------------------------------------------------------------------

    async def acquire(self, model: str, probe_ttl: float) -> Permit | Refusal:
        """Leave to call ``model`` now, or why not.

        :param probe_ttl: seconds a shared half-open probe token is held at most (a
            process that dies while probing frees it after this).
        """
        breaker = self.breaker(model)
        if self.shared.configured:
            await self._sync_from_shared(model, breaker)
        permit = breaker.try_acquire()
        if permit is None:
            snap = breaker.snapshot()
            return Refusal(_refusal(snap, self.clock()))
        if permit.probe and model in self._shared_episode:
            episode = self._shared_episode[model]
            taken = await self.shared.script(
                "probe",
                [self._key(model), self._probe_key(model, episode)],
                [str(_ms(episode)), breaker.settings.half_open_probes, _ms(probe_ttl)],
            )
            if taken is DOWN or taken == 1:
                return permit
            breaker.release(permit)
            if taken == -1:  # the episode ended elsewhere: closed, or opened again
                await self._sync_from_shared(model, breaker)
                retry = breaker.try_acquire()
                if retry is not None and not retry.probe:
                    return retry
                if retry is not None:
                    breaker.release(retry)
            return Refusal(f"half-open: the {breaker.settings.half_open_probes} probe(s) are taken")
        return permit

    async def _sync_from_shared(self, model: str, breaker: Breaker) -> None:
        async def read(client: object) -> list[str | None]:
            return await client.hmget(self._key(model), "until", "reason")  # type: ignore[attr-defined,no-any-return]

        remote = await self.shared.run(read)
        if remote is DOWN:
            return
        until_ms, reason = remote  # type: ignore[misc]
        if until_ms is not None:
            until = int(until_ms) / 1000
            breaker.adopt_open(until, reason or "opened by another process")
            self._shared_episode[model] = until
        elif model in self._shared_episode:
            # The shared episode is over (its probes succeeded elsewhere, or it expired).
            del self._shared_episode[model]
            breaker.close()

    # --- after a call -------------------------------------------------------------------

    async def success(self, model: str, permit: Permit, duration: float) -> None:
        """Record a call that answered.

        A probe of a shared episode also counts in Redis: the episode closes once
        ``half_open_probes`` probes succeeded, in whichever processes they ran.
        """
        breaker = self.breaker(model)
        current = breaker.is_current(permit)
        change = breaker.on_success(permit, duration)
        await self._publish(model, change)
        episode = self._shared_episode.get(model)
        if not (permit.probe and current and change is None and episode is not None):
            return
        settings = breaker.settings
        slow = int(duration >= settings.slow_call_duration)
        counts = await self.shared.script("probe_ok", [self._probe_key(model, episode)], [slow])
        if counts is DOWN:
            return
        ok, slow_probes = (int(x) for x in counts)
        if ok < settings.half_open_probes:
            return
        if slow_probes / ok >= settings.slow_call_rate_threshold:
            reason = "half-open probes were slow"
            await self._publish(model, breaker.force_open(settings.open_duration, reason))
        else:
            breaker.close()
            await self._publish(model, Transition("closed", episode=episode))

    async def release(self, model: str, permit: Permit) -> None:
        """Give a permit back: the call's outcome says nothing about the model."""
        breaker = self.breaker(model)
        breaker.release(permit)
        episode = self._shared_episode.get(model)
        if permit.probe and episode is not None:
            await self.shared.script("release", [self._probe_key(model, episode)], [])

    async def failure(
        self,
        model: str,
        permit: Permit,
        duration: float,
        error: ProviderError,
        provider_models: Callable[[], Iterable[str]],
    ) -> None:
        """Record a failed call as a whole request's outcome (no retries to fold in)."""
        if await self.call_failed(model, permit, error, provider_models):
            await self.settle_failure(model, permit, duration)
        else:
            await self.release(model, permit)

    async def call_failed(
        self,
        model: str,
        permit: Permit,
        error: ProviderError,
        provider_models: Callable[[], Iterable[str]],
        *,
        in_a_row: bool = True,
    ) -> bool:
        """Act on one failed call at once (see :data:`BREAKER_POLICIES`).

        :param provider_models: the models of the failing model's provider, for an auth
            failure that marks the whole provider misconfigured.
        :param in_a_row: add to the consecutive-failure run (False for a request's retry
            on a model whose run it already added to; a failed probe reopens regardless).
        :returns: whether the request's outcome on ``model`` counts as a failure.
        """
        breaker = self.breaker(model)
        policy = breaker_policy(error)
        if policy.in_a_row and (in_a_row or permit.probe):
            await self._publish(model, breaker.on_call_failed(permit))
        long = breaker.settings.long_open_duration
        if policy.cool_down == "retry_after" and error.retry_after:
            reason = f"rate limited: cooling down for Retry-After {error.retry_after:g}s"
            await self._publish(model, breaker.force_open(error.retry_after, reason))
        elif policy.provider_wide:
            provider = error.provider or "its provider"
            reason = (
                f"provider {provider} misconfigured: the key was refused "
                f"({error.kind.value}); open for {long:g}s"
            )
            log.warning("provider_misconfigured", provider=provider, model=model, error=str(error))
            for name in {model, *provider_models()}:
                other = self.breaker(name)
                await self._publish(
                    name, other.force_open(other.settings.long_open_duration, reason)
                )
        elif policy.cool_down == "long":
            reason = f"{error.kind.value.replace('_', ' ')}; open for {long:g}s"
            await self._publish(model, breaker.force_open(long, reason))
        return policy.counts

    async def settle_failure(self, model: str, permit: Permit, duration: float) -> None:
        """Enter a request's failed outcome on ``model`` in its window."""
        await self._publish(model, self.breaker(model).on_failure(permit, duration))

    def request(self) -> RequestOutcomes:
        """A tally of one request's calls, so its outcome per model is counted once."""
        return RequestOutcomes(self)

    async def _publish(self, model: str, change: Transition | None) -> None:
        if change is None:
            return
        if change.to == "open" and change.open_until is not None:
            log.warning(
                "circuit_opened", model=model, until=change.open_until, reason=change.reason
            )
            breaker = self.breaker(model)
            ttl = change.open_until - self.clock() + breaker.settings.open_duration + 300
            result = await self.shared.script(
                "open",
                [self._key(model)],
                [str(_ms(change.open_until)), change.reason, max(1, _ms(ttl))],
            )
            if result is not DOWN:
                until = int(result[0]) / 1000
                breaker.adopt_open(until, str(result[1]))
                self._shared_episode[model] = until
        elif change.to == "closed":
            log.info("circuit_closed", model=model)
            episode = self._shared_episode.pop(model, None)
            if episode is not None:
                await self.shared.script("close", [self._key(model)], [str(_ms(episode))])

    # --- reading ------------------------------------------------------------------------

    def states(self) -> dict[str, str]:
        """Each model's state, for ``get_metrics``."""
        return {name: breaker.state for name, breaker in sorted(self._breakers.items())}

    def snapshots(self) -> dict[str, Snapshot]:
        return {name: breaker.snapshot() for name, breaker in sorted(self._breakers.items())}

    async def refresh(self) -> None:
        """Adopt every model's shared state now (for ``health``)."""
        if self.shared.configured:
            for model, breaker in list(self._breakers.items()):
                await self._sync_from_shared(model, breaker)

    def _key(self, model: str) -> str:
        return self.shared.key("breaker", model)

    def _probe_key(self, model: str, episode: float) -> str:
        return self.shared.key("breaker", model, "probes", str(_ms(episode)))


def _refusal(snap: Snapshot, now: float) -> str:
    if snap.state == "open":
        left = max(0.0, (snap.open_until or 0.0) - now)
        return f"circuit open ({snap.reason}); half-open in {left:.1f}s"
    return "circuit half-open: its probe calls are already in flight"


@dataclass
class _Held:
    permit: Permit
    answered: bool = False
    failed: bool = False
    duration: float = 0.0
    in_flight: int = 0
    run_generation: int = -1
    """The breaker generation in which this request last added to the failure run."""


@dataclass
class RequestOutcomes:
    """One request's calls on each model, folded into one outcome per model.

    The permit taken by the request's first call on a model serves its retries while the
    breaker stays in the state that issued it (otherwise the retry asks again). Each failed
    call still acts at once (cool-downs; the first one also adds to the consecutive-failure
    run), but the window gets one entry per model: a success as soon as one call answers, a
    failure when the request moves on (:meth:`settle`).
    Same methods as :class:`BreakerRegistry` for a call; :meth:`settle` must run at the end.
    """

    registry: BreakerRegistry
    _held: dict[str, _Held] = field(default_factory=dict)

    async def acquire(self, model: str, probe_ttl: float) -> Permit | Refusal:
        """The request's permit for ``model``: the one it holds, or a new one."""
        held = self._held.get(model)
        if held is None:
            granted = await self.registry.acquire(model, probe_ttl)
            if isinstance(granted, Permit):
                self._held[model] = _Held(granted)
            return granted
        if self.registry.breaker(model).is_current(held.permit):
            return held.permit
        # The state changed since (opened, cooled down, half-open): ask again, as a new call.
        granted = await self.registry.acquire(model, probe_ttl)
        if isinstance(granted, Permit):
            held.permit = granted
        return granted

    async def success(self, model: str, permit: Permit, duration: float) -> None:
        held = self._held.get(model)
        if held is None or held.answered:
            self.registry.breaker(model).on_call_ok()
            return
        held.answered, held.failed = True, False
        await self.registry.success(model, permit, max(duration, held.duration))

    async def failure(
        self,
        model: str,
        permit: Permit,
        duration: float,
        error: ProviderError,
        provider_models: Callable[[], Iterable[str]],
    ) -> None:
        held = self._held.get(model)
        first = held is None or held.run_generation != permit.generation
        if held is not None:
            held.run_generation = permit.generation
        counts = await self.registry.call_failed(
            model, permit, error, provider_models, in_a_row=first
        )
        if held is not None and not held.answered and counts:
            held.failed = True
            held.duration = max(held.duration, duration)

    async def release(self, model: str, permit: Permit) -> None:
        """A call whose outcome says nothing (cancelled): settled with the request."""

    def started(self, model: str) -> None:
        """A call on ``model`` is under way (it is not settled while one is)."""
        held = self._held.get(model)
        if held is not None:
            held.in_flight += 1

    def ended(self, model: str) -> None:
        """A call on ``model`` came back (answered, failed or cancelled)."""
        held = self._held.get(model)
        if held is not None and held.in_flight > 0:
            held.in_flight -= 1

    async def settle_others(self, model: str) -> None:
        """The request moved on to ``model``: settle the models it left (none in flight)."""
        for name in [n for n, h in self._held.items() if n != model and h.in_flight == 0]:
            await self.settle(name)

    async def settle(self, model: str | None = None) -> None:
        """Enter the outcome of ``model`` (default: every model) in its window."""
        names = [model] if model is not None else list(self._held)
        for name in names:
            held = self._held.pop(name, None)
            if held is None or held.answered:
                continue
            if held.failed:
                await self.registry.settle_failure(name, held.permit, held.duration)
            else:
                await self.registry.release(name, held.permit)
