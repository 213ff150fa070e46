"""One model's circuit breaker, with resilience4j's semantics, on an injectable clock.

Why our own: the Python breakers at hand (pybreaker, aiobreaker, circuitbreaker,
purgatory) trip on N consecutive failures rather than a failure *rate* over a sliding
window after a minimum number of calls, do not count slow calls, and let every waiting
call through in half-open instead of a fixed number of probes. This one is small, fully
synchronous (a transition never awaits, so concurrent tasks cannot interleave inside one;
a lock covers threads) and driven by the clock it is given, so tests can walk it through
time.

States (resilience4j's sliding window, with its default sizes: 100 calls, rates judged
from 50; plus a consecutive-failure trip so a dead model is left quickly):

- **closed**: every call is permitted; each finished call's outcome (failed? slow?) enters
  a window (:mod:`.window`): the last ``window_size`` calls (``window_type`` ``count``,
  the default) or the calls of the last ``window_duration`` seconds (``time``). Once the
  window holds at least
  ``minimum_calls`` calls, the breaker opens when the failure rate reaches
  ``failure_rate_threshold`` or the slow-call rate reaches ``slow_call_rate_threshold``.
  A call is slow when it took at least ``slow_call_duration`` seconds, failed or not.
  Independently, ``consecutive_failures`` hard failures in a row (see
  :meth:`Breaker.on_call_failed`; the executor reports one per request, not one per
  retry) open it whatever the window holds: a dead model is left after a bounded number
  of requests, while random noise (30% faults make ten in a row a one-in-170,000 event)
  does not trip it. 0 turns this off.
- **open**: nothing is permitted until ``open_duration`` has passed (or the longer time a
  forced open set: a rate-limit cool-down, quota exhaustion, a refused key); then the next
  permission check moves to half-open.
- **half_open**: exactly ``half_open_probes`` calls are permitted. Any failed probe opens
  the breaker again at once; when every probe has succeeded it closes (with an empty
  window), unless the probes' slow-call rate reached the threshold, which reopens it.

Outcomes that do not count against a model (a bad request, a cancelled call) give the
permit back, so a half-open probe slot is freed. A permit belongs to the generation of
the state that issued it: the outcome of a call that started before a transition is not
counted in the new state (it tells nothing about it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .window import make_window

State = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]


@dataclass(frozen=True)
class BreakerSettings:
    """The thresholds of one breaker (``circuit_breaker`` in the config, per model)."""

    window_size: int = 100
    minimum_calls: int = 50
    window_type: Literal["count", "time"] = "count"
    window_duration: int = 60
    failure_rate_threshold: float = 0.5
    slow_call_duration: float = 30.0
    slow_call_rate_threshold: float = 1.0
    open_duration: float = 30.0
    half_open_probes: int = 1
    long_open_duration: float = 900.0
    consecutive_failures: int = 10


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; hand it back with the call's outcome."""

    generation: int
    probe: bool


@dataclass(frozen=True)
class Transition:
    """A change of state that an outcome or a forced open caused."""

    to: State
    open_until: float | None = None
    reason: str = ""
    episode: float | None = None
    """For a close from half-open: the open-until of the episode that ended."""


@dataclass(frozen=True)
class Snapshot:
    """What ``health`` and ``get_metrics`` show of one breaker."""

    state: State
    calls: int
    failure_rate: float | None
    slow_call_rate: float | None
    open_until: float | None
    reason: str
    probes_in_flight: int


class Breaker:
    """One model's breaker. Every method is synchronous and returns at once."""

    def __init__(self, settings: BreakerSettings | None = None, clock: Clock = time.time):
        self.settings = settings or BreakerSettings()
        self.clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._generation = 0
        settings = self.settings
        self._window = make_window(
            settings.window_type, settings.window_size, settings.window_duration
        )
        self._open_until = 0.0
        self._reason = ""
        self._probes_taken = 0
        self._probes_ok = 0
        self._probes_slow = 0
        self._consecutive = 0

    # --- reading --------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state, moving open to half-open when its time is up."""
        with self._lock:
            self._tick()
            return self._state

    @property
    def open_until(self) -> float | None:
        with self._lock:
            return self._open_until if self._state == "open" else None

    def snapshot(self) -> Snapshot:
        with self._lock:
            self._tick()
            totals = self._window.totals(self.clock())
            calls, failures, slow = totals.calls, totals.failures, totals.slow
            return Snapshot(
                state=self._state,
                calls=calls,
                failure_rate=failures / calls if calls else None,
                slow_call_rate=slow / calls if calls else None,
                open_until=self._open_until if self._state != "closed" else None,
                reason=self._reason,
                probes_in_flight=self._probes_taken - self._probes_ok
                if self._state == "half_open"
                else 0,
            )

    # --- permission -----------------------------------------------------------------------

    def try_acquire(self) -> Permit | None:
        """A permit for one call, or None when the breaker refuses it."""
        with self._lock:
            self._tick()
            if self._state == "closed":
                return Permit(self._generation, probe=False)
            if self._state == "open":
                return None
            if self._probes_taken >= self.settings.half_open_probes:
                return None
            self._probes_taken += 1
            return Permit(self._generation, probe=True)

    def is_current(self, permit: Permit) -> bool:
        """True while the state that issued ``permit`` lasts."""
        with self._lock:
            self._tick()
            return permit.generation == self._generation

    def release(self, permit: Permit) -> None:
        """Give a permit back unused: the outcome does not count (bad request, cancelled)."""
        with self._lock:
            if permit.probe and permit.generation == self._generation:
                self._probes_taken -= 1

    # --- outcomes -------------------------------------------------------------------------

    def on_success(self, permit: Permit, duration: float) -> Transition | None:
        """Record a call that answered, taking ``duration`` seconds."""
        return self._record(permit, failed=False, duration=duration)

    def on_failure(self, permit: Permit, duration: float) -> Transition | None:
        """Record a call that failed in a way that counts against the model."""
        return self._record(permit, failed=True, duration=duration)

    def on_call_failed(self, permit: Permit) -> Transition | None:
        """Count one hard failure toward the consecutive run (the caller decides what one
        is: :class:`~.registry.RequestOutcomes` reports a request's first failed call).

        ``consecutive_failures`` of them in a row while closed open the breaker; a failed
        half-open probe call opens it again at once.
        """
        settings = self.settings
        with self._lock:
            if permit.generation != self._generation:
                return None
            if self._state == "half_open" and permit.probe:
                return self._open(settings.open_duration, "a half-open probe failed")
            if self._state != "closed":
                return None
            self._consecutive += 1
            limit = settings.consecutive_failures
            if limit and self._consecutive >= limit:
                return self._open(settings.open_duration, f"{self._consecutive} failures in a row")
            return None

    def on_call_ok(self) -> None:
        """A call answered: the run of consecutive failures is broken."""
        with self._lock:
            self._consecutive = 0

    def _record(self, permit: Permit, *, failed: bool, duration: float) -> Transition | None:
        settings = self.settings
        slow = duration >= settings.slow_call_duration
        with self._lock:
            if not failed:
                self._consecutive = 0
            if permit.generation != self._generation:
                return None
            if self._state == "closed":
                now = self.clock()
                self._window.add(failed, slow, now)
                return self._evaluate_window(now)
            if self._state == "half_open" and permit.probe:
                if failed:
                    return self._open(settings.open_duration, "a half-open probe failed")
                self._probes_ok += 1
                self._probes_slow += slow
                if self._probes_ok >= settings.half_open_probes:
                    if self._probes_slow / self._probes_ok >= settings.slow_call_rate_threshold:
                        return self._open(settings.open_duration, "half-open probes were slow")
                    episode = self._open_until
                    self._close()
                    return Transition("closed", episode=episode)
            return None

    def _evaluate_window(self, now: float) -> Transition | None:
        settings = self.settings
        totals = self._window.totals(now)
        calls, failures, slow = totals.calls, totals.failures, totals.slow
        minimum = settings.minimum_calls
        if settings.window_type == "count":
            minimum = min(minimum, settings.window_size)
        if calls < minimum:
            return None
        if failures / calls >= settings.failure_rate_threshold:
            return self._open(
                settings.open_duration,
                f"failure rate {failures}/{calls} reached {settings.failure_rate_threshold:g}",
            )
        if slow / calls >= settings.slow_call_rate_threshold:
            return self._open(
                settings.open_duration,
                f"slow-call rate {slow}/{calls} reached {settings.slow_call_rate_threshold:g}",
            )
        return None

    # --- forced transitions -----------------------------------------------------------------

    def force_open(self, seconds: float, reason: str) -> Transition | None:
        """Open for at least ``seconds`` (a cool-down, quota, a refused key); never shortens."""
        with self._lock:
            until = round(self.clock() + seconds, 3)
            if self._state == "open" and self._open_until >= until:
                return None
            return self._open(seconds, reason)

    def adopt_open(self, until: float, reason: str) -> None:
        """Take an open state decided elsewhere (another process, through Redis).

        Moves to open until ``until``, or to half-open when that time has passed and this
        breaker is not already in that half-open episode.
        """
        with self._lock:
            if self._state != "closed" and self._open_until >= until:
                return
            self._new_generation()
            self._state = "open"
            self._open_until = until
            self._reason = reason
            self._tick()

    def close(self) -> None:
        """Close (another process's probes succeeded)."""
        with self._lock:
            if self._state != "closed":
                self._close()

    # --- internals (lock held) --------------------------------------------------------------

    def _tick(self) -> None:
        if self._state == "open" and self.clock() >= self._open_until:
            self._new_generation()
            self._state = "half_open"

    def _new_generation(self) -> None:
        self._generation += 1
        self._probes_taken = self._probes_ok = self._probes_slow = 0
        self._consecutive = 0

    def _open(self, seconds: float, reason: str) -> Transition:
        self._new_generation()
        self._state = "open"
        self._open_until = round(self.clock() + seconds, 3)  # milliseconds, as shared
        self._reason = reason
        return Transition("open", open_until=self._open_until, reason=reason)

    def _close(self) -> None:
        self._new_generation()
        self._state = "closed"
        self._reason = ""
        self._window.clear()
