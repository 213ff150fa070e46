"""The breaker's state machine against a small reference model (hypothesis), and by hand.

The reference model below is written from the specification in the module docstring of
``dynamic_orchestrator_breaker.breaker`` as plainly as possible: it keeps every outcome
since the last close in a list, with the time it came, and recomputes the rates from its
tail (count-based) or from the outcomes of the last seconds (time-based), where the
breaker keeps running totals. Hypothesis drives both with the same random sequences of permits,
outcomes, released permits and clock steps, and every state, every permission and the
window's figures must agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
import pytest
from dynamic_orchestrator_breaker.breaker import Breaker, BreakerSettings, Permit
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Reference:
    """The specification, plainly."""

    s: BreakerSettings
    state: str = "closed"
    outcomes: list[tuple[bool, bool, float]] = field(default_factory=list)  # since the close
    until: float = 0.0
    epoch: int = 0
    probes_taken: int = 0
    probe_results: list[bool] = field(default_factory=list)  # slow? of successful probes

    def at(self, now: float) -> None:
        if self.state == "open" and now >= self.until:
            self.state = "half_open"
            self.epoch += 1
            self.probes_taken = 0
            self.probe_results = []

    def acquire(self, now: float) -> tuple[int, bool] | None:
        self.at(now)
        if self.state == "closed":
            return (self.epoch, False)
        if self.state == "half_open" and self.probes_taken < self.s.half_open_probes:
            self.probes_taken += 1
            return (self.epoch, True)
        return None

    def open(self, now: float) -> None:
        self.state = "open"
        self.until = round(now + self.s.open_duration, 3)
        self.epoch += 1

    def outcome(self, permit: tuple[int, bool], failed: bool, duration: float, now: float) -> None:
        epoch, probe = permit
        if epoch != self.epoch:
            return
        slow = duration >= self.s.slow_call_duration
        if self.state == "closed":
            self.outcomes.append((failed, slow, now))
            window = self.window(now)
            minimum = self.s.minimum_calls
            if self.s.window_type == "count":
                minimum = min(minimum, self.s.window_size)
            if len(window) >= minimum:
                failure_rate = sum(f for f, _ in window) / len(window)
                slow_rate = sum(w for _, w in window) / len(window)
                if (
                    failure_rate >= self.s.failure_rate_threshold
                    or slow_rate >= self.s.slow_call_rate_threshold
                ):
                    self.open(now)
        elif self.state == "half_open" and probe:
            if failed:
                self.open(now)
                return
            self.probe_results.append(slow)
            if len(self.probe_results) == self.s.half_open_probes:
                if sum(self.probe_results) / len(self.probe_results) >= (
                    self.s.slow_call_rate_threshold
                ):
                    self.open(now)
                else:
                    self.state = "closed"
                    self.epoch += 1
                    self.outcomes = []

    def release(self, permit: tuple[int, bool]) -> None:
        epoch, probe = permit
        if probe and epoch == self.epoch:
            self.probes_taken -= 1

    def window(self, now: float) -> list[tuple[bool, bool]]:
        if self.s.window_type == "time":  # the current second and the duration - 1 before
            oldest = int(now) - self.s.window_duration + 1
            return [(f, w) for f, w, t in self.outcomes if int(t) >= oldest]
        return [(f, w) for f, w, _ in self.outcomes[-self.s.window_size :]]


breaker_settings = st.builds(
    BreakerSettings,
    window_type=st.sampled_from(["count", "time"]),
    window_size=st.integers(1, 8),
    window_duration=st.integers(1, 5),
    minimum_calls=st.integers(1, 10),
    failure_rate_threshold=st.sampled_from([0.2, 0.5, 0.75, 1.0]),
    slow_call_duration=st.just(1.0),
    slow_call_rate_threshold=st.sampled_from([0.5, 1.0]),
    open_duration=st.sampled_from([0.5, 2.0, 5.0]),
    half_open_probes=st.integers(1, 3),
)


class BreakerMachine(RuleBasedStateMachine):
    """Random permits, outcomes and clock steps, applied to the breaker and the model."""

    @initialize(s=breaker_settings)
    def setup(self, s: BreakerSettings) -> None:
        self.clock = FakeClock()
        self.breaker = Breaker(s, clock=self.clock)
        self.model = Reference(s)
        self.outstanding: list[tuple[Permit, tuple[int, bool]]] = []

    @rule()
    def acquire(self) -> None:
        got = self.breaker.try_acquire()
        expected = self.model.acquire(self.clock.now)
        assert (got is None) == (expected is None)
        if got is not None and expected is not None:
            assert got.probe == expected[1]
            self.outstanding.append((got, expected))

    @precondition(lambda self: self.outstanding)
    @rule(index=st.integers(0, 50), failed=st.booleans(), duration=st.sampled_from([0.1, 1.5]))
    def finish(self, index: int, failed: bool, duration: float) -> None:
        permit, expected = self.outstanding.pop(index % len(self.outstanding))
        if failed:
            self.breaker.on_failure(permit, duration)
        else:
            self.breaker.on_success(permit, duration)
        self.model.outcome(expected, failed, duration, self.clock.now)

    @precondition(lambda self: self.outstanding)
    @rule(index=st.integers(0, 50))
    def give_back(self, index: int) -> None:
        permit, expected = self.outstanding.pop(index % len(self.outstanding))
        self.breaker.release(permit)
        self.model.release(expected)

    @rule(dt=st.sampled_from([0.1, 0.5, 1.0, 3.0, 10.0]))
    def advance(self, dt: float) -> None:
        self.clock.now += dt

    @invariant()
    def agree(self) -> None:
        if not hasattr(self, "breaker"):
            return
        self.model.at(self.clock.now)
        snap = self.breaker.snapshot()
        assert snap.state == self.model.state
        if snap.state == "closed":
            window = self.model.window(self.clock.now)
            assert snap.calls == len(window)
            if window:
                assert snap.failure_rate == pytest.approx(sum(f for f, _ in window) / len(window))
        if snap.state == "open":
            assert snap.open_until == self.model.until


TestBreakerMachine = BreakerMachine.TestCase
TestBreakerMachine.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)


# --- by hand --------------------------------------------------------------------------


def test_opens_only_after_minimum_calls_at_the_threshold() -> None:
    clock = FakeClock()
    b = Breaker(BreakerSettings(window_size=10, minimum_calls=4, failure_rate_threshold=0.5), clock)
    for _ in range(3):
        b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    assert b.state == "closed"  # 3 failures, below minimum_calls
    change = b.on_success(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    assert change is not None and change.to == "open"  # 3/4 >= 0.5
    assert b.try_acquire() is None


def test_slow_successes_open_the_breaker_at_the_slow_call_rate() -> None:
    clock = FakeClock()
    s = BreakerSettings(minimum_calls=2, slow_call_duration=1.0, slow_call_rate_threshold=0.5)
    b = Breaker(s, clock)
    b.on_success(b.try_acquire(), 0.2)  # type: ignore[arg-type]
    assert b.state == "closed"
    b.on_success(b.try_acquire(), 1.0)  # type: ignore[arg-type]
    assert b.state == "open" and "slow-call rate 1/2" in b.snapshot().reason


def test_half_open_after_open_duration_then_closes_when_every_probe_succeeds() -> None:
    clock = FakeClock()
    s = BreakerSettings(minimum_calls=1, open_duration=5.0, half_open_probes=2)
    b = Breaker(s, clock)
    b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    clock.now += 4.999
    assert b.state == "open"
    clock.now += 0.001
    assert b.state == "half_open"
    first, second = b.try_acquire(), b.try_acquire()
    assert first is not None and second is not None and b.try_acquire() is None
    b.on_success(first, 0.0)
    assert b.state == "half_open"
    change = b.on_success(second, 0.0)
    assert change is not None and change.to == "closed" and b.snapshot().calls == 0


def test_one_failed_probe_reopens_and_a_released_probe_frees_its_slot() -> None:
    clock = FakeClock()
    b = Breaker(BreakerSettings(minimum_calls=1, open_duration=1.0, half_open_probes=1), clock)
    b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    clock.now += 1
    probe = b.try_acquire()
    assert probe is not None and b.try_acquire() is None
    b.release(probe)  # a bad request says nothing about the model
    probe = b.try_acquire()
    assert probe is not None
    b.on_failure(probe, 0.0)
    assert b.state == "open" and b.open_until == pytest.approx(clock.now + 1.0)


def test_an_outcome_from_before_a_transition_is_not_counted() -> None:
    clock = FakeClock()
    b = Breaker(BreakerSettings(minimum_calls=1, open_duration=1.0), clock)
    early = b.try_acquire()
    b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    clock.now += 1
    probe = b.try_acquire()
    assert early is not None and probe is not None
    assert b.on_failure(early, 0.0) is None  # started while closed: says nothing now
    assert b.state == "half_open"
    b.on_success(probe, 0.0)
    assert b.state == "closed"


def test_force_open_never_shortens_an_open_period() -> None:
    clock = FakeClock()
    b = Breaker(BreakerSettings(), clock)
    assert b.force_open(100, "quota") is not None
    assert b.force_open(5, "rate limited") is None
    assert b.open_until == pytest.approx(clock.now + 100) and b.snapshot().reason == "quota"


@given(probes=st.integers(1, 5), callers=st.integers(1, 40))
@settings(max_examples=30, deadline=None)
def test_concurrent_callers_in_half_open_get_exactly_the_probes(probes: int, callers: int) -> None:
    clock = FakeClock()
    b = Breaker(BreakerSettings(minimum_calls=1, open_duration=1.0, half_open_probes=probes), clock)
    b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    clock.now += 1
    granted: list[Permit] = []

    async def caller() -> None:
        await anyio.sleep(0)
        permit = b.try_acquire()
        if permit is not None:
            granted.append(permit)
            await anyio.sleep(0.001)  # the probe call in flight

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(callers):
                group.start_soon(caller)

    anyio.run(main)
    assert len(granted) == min(probes, callers)
    assert all(p.probe for p in granted)


def test_a_time_based_window_judges_the_last_seconds_only() -> None:
    clock = FakeClock(1_000_000.0)
    s = BreakerSettings(
        window_type="time", window_duration=10, minimum_calls=4, failure_rate_threshold=0.5
    )
    b = Breaker(s, clock)
    for _ in range(3):
        b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    clock.now += 10  # those three failures leave the window
    assert b.snapshot().calls == 0
    for _ in range(3):
        b.on_success(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    snap = b.snapshot()
    assert (snap.state, snap.calls, snap.failure_rate) == ("closed", 4, 0.25)
    clock.now += 9.5  # still inside the 10 s window (the current second and 9 before)
    b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    change = b.on_failure(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    assert change is not None and change.to == "open"  # 3 of 6 in the last 10 s
    assert "failure rate 3/6" in b.snapshot().reason


def test_a_time_based_window_holds_any_number_of_calls_in_constant_memory() -> None:
    clock = FakeClock(1_000_000.0)
    s = BreakerSettings(window_type="time", window_duration=5, minimum_calls=1_000)
    b = Breaker(s, clock)
    for _ in range(20_000):  # 4 seconds of calls
        clock.now += 0.0002
        b.on_call_ok()
        b.on_success(b.try_acquire(), 0.0)  # type: ignore[arg-type]
    snap = b.snapshot()
    assert snap.state == "closed" and snap.calls == 20_000 and snap.failure_rate == 0.0
    assert len(b._window._buckets) <= 5  # type: ignore[attr-defined]
