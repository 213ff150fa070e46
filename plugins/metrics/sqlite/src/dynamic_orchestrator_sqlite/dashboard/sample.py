"""A store of made-up requests, for trying the dashboard and for its tests and screenshots.

Deterministic for a seed. The requests spread over 30 days with more of them recently;
none lies within a minute of an hour or day boundary of ``now``, so a summary read a few
seconds later counts the same requests. Some fail, some are delegated or cached, some
fall back after errors, and a breaker refuses some calls, with its reason.
"""

from __future__ import annotations

import random
from pathlib import Path

from dynamic_orchestrator.models import Attempt, RequestRecord

from .. import store

MODELS = (
    ("gemini-2.5-flash-lite", "gemini", 0.00002),
    ("gpt-4o-mini", "openai", 0.00005),
    ("claude-haiku-4-5", "anthropic", 0.0002),
    ("claude-sonnet-4-6", "anthropic", 0.002),
)
INTENTS = ("read", "write", "search", "analyze", "manage")
TIERS = {"simple": 0, "moderate": 1, "complex": 3}
BASELINE = "claude-sonnet-4-6"


def _ages(rng: random.Random, now_offsets: tuple[float, float], count: int) -> list[float]:
    low, high = now_offsets
    return [rng.uniform(low, high) for _ in range(count)]


def sample_records(now: float, seed: int = 7) -> list[RequestRecord]:
    """The made-up requests, oldest first."""
    rng = random.Random(seed)
    ages = (
        _ages(rng, (90, 3_500), 90)  # the last hour
        + _ages(rng, (3_700, 86_300), 260)  # the rest of the day
        + _ages(rng, (86_500, 29.5 * 86_400), 420)  # the rest of the month
    )
    records = []
    for index, age in enumerate(sorted(ages, reverse=True)):
        tier = rng.choices(list(TIERS), weights=(6, 3, 1))[0]
        intent = rng.choices(INTENTS, weights=(4, 3, 2, 2, 1))[0]
        model, provider, price = MODELS[TIERS[tier]]
        roll = rng.random()
        attempts: list[Attempt] = []
        status = "completed"
        error = error_kind = None
        cached = False
        if roll < 0.06:  # failed: the primary errs, its fallback refuses the request
            status, error_kind = "failed", "bad_request"
            error = f"{provider}: bad_request: 400 invalid request"
            attempts = [
                Attempt(model=model, provider=provider, outcome="error",
                        error="transient: 503 overloaded", error_kind="transient",
                        duration_ms=420.0),
                Attempt(model="gpt-4o-mini", provider="openai", outcome="error",
                        error=error, error_kind=error_kind, duration_ms=180.0),
            ]  # fmt: skip
        elif roll < 0.12:  # delegated: no key for it here
            status = "delegated"
        elif roll < 0.2:  # the breaker refuses the primary: falls back
            reason = "circuit open (failure rate 62% over 20 calls); half-open in 21.4s"
            attempts = [
                Attempt(model=model, provider=provider, outcome="skipped",
                        error=f"unavailable: {reason}", error_kind="unavailable"),
                Attempt(model="gpt-4o-mini", provider="openai", outcome="ok",
                        duration_ms=rng.uniform(300, 900)),
            ]  # fmt: skip
            model, provider, price = MODELS[1]
        elif roll < 0.3:
            cached = True
        else:
            attempts = [
                Attempt(model=model, provider=provider, outcome="ok",
                        duration_ms=rng.uniform(250, 2500))
            ]  # fmt: skip
        in_tokens = rng.randint(200, 3000) if status == "completed" and not cached else 0
        out_tokens = rng.randint(50, 900) if status == "completed" and not cached else 0
        baseline_in = in_tokens + rng.randint(100, 2000)
        cost = round(price * (in_tokens + 4 * out_tokens) / 1000, 8)
        baseline_cost = round(0.003 * baseline_in / 1000 + 0.015 * out_tokens / 1000, 8)
        claimed = status == "completed"
        saved = round(baseline_cost - cost, 8) if claimed else 0.0
        duration = (
            sum(a.duration_ms for a in attempts) + rng.uniform(1, 8)
            if attempts
            else rng.uniform(1, 5)
        )
        records.append(
            RequestRecord(
                timestamp=now - age,
                request_id=f"{rng.getrandbits(128):032x}",
                status=status,  # type: ignore[arg-type]
                intent=intent,
                complexity=tier,  # type: ignore[arg-type]
                tier=tier,
                model=None if status == "failed" else model,
                provider=None if status == "failed" else provider,
                duration_ms=round(duration, 3),
                input_tokens=in_tokens,
                output_tokens=out_tokens,
                usage_estimated=index % 5 == 0,
                cost_usd=0.0 if status != "completed" or cached else cost,
                baseline_model=BASELINE,
                baseline_input_tokens=baseline_in,
                baseline_cost_usd=baseline_cost if claimed else None,
                tokens_saved=baseline_in - in_tokens if claimed else 0,
                saved_usd=saved,
                saving_claimed=claimed,
                cached=cached,
                attempts=len(attempts),
                error_kind=error_kind,
                error=error,
                attempt_log=attempts,
            )
        )
    return records


def write_sample_store(path: Path, now: float, seed: int = 7) -> int:
    """Write the made-up requests into the store at ``path``; how many were written."""
    records = sample_records(now, seed)
    conn = store.connect(path)
    try:
        store.insert(conn, [store.to_row(r) for r in records])
    finally:
        conn.close()
    return len(records)
