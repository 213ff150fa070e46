"""The plugin's settings: ``plugins.breaker`` (cache, circuit breakers, budget, Redis).

The seed's top-level sections ``cache``, ``circuit_breaker``, ``budget`` and ``redis`` are
still read into it (the host does so through the aliases this plugin declares), so older
files mean what they meant. ``CACHE_TTL`` and ``REDIS_URL`` override ``cache.ttl`` and
``redis.url``.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from dynamic_orchestrator.contract import PluginSettings
from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = "breaker"


class _Section(BaseModel):
    # No setting is infinite: an infinite timeout or wait would hang.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CacheConfig(_Section):
    """The response cache (used by the resilience plugin)."""

    enabled: bool = Field(default=True, description="Cache completed responses.")
    ttl: float = Field(default=3600.0, ge=0, description="Seconds; CACHE_TTL overrides.")
    max_entries: int = Field(default=1024, ge=0, description="Entries kept in memory.")
    backend: Literal["memory", "redis"] = Field(
        default="memory", description="Where entries live; redis uses REDIS_URL."
    )


class BreakerOverride(_Section):
    """Per-model thresholds (``circuit_breaker.models.<name>``); unset keys keep the defaults."""

    window_size: int | None = Field(default=None, ge=1, description="Calls in the window.")
    window_type: Literal["count", "time"] | None = Field(
        default=None,
        description="'count': the last window_size requests; 'time': the "
        "last window_duration seconds.",
    )
    window_duration: int | None = Field(
        default=None, ge=1, le=86_400, description="Seconds in a time-based window."
    )
    minimum_calls: int | None = Field(
        default=None, ge=1, description="Calls in the window before the rates count."
    )
    failure_rate_threshold: float | None = Field(
        default=None, gt=0, le=1, description="Failure share that opens it."
    )
    slow_call_duration: float | None = Field(
        default=None, gt=0, description="Seconds after which a call counts as slow."
    )
    slow_call_rate_threshold: float | None = Field(
        default=None, gt=0, le=1, description="Slow-call share that opens it."
    )
    open_duration: float | None = Field(
        default=None, gt=0, description="Seconds open before half-open."
    )
    consecutive_failures: int | None = Field(
        default=None, ge=0, description="Failing requests in a row that open it (0: off)."
    )
    half_open_probes: int | None = Field(
        default=None, ge=1, description="Calls let through while half-open."
    )
    long_open_duration: float | None = Field(
        default=None, gt=0, description="Seconds open after quota or key failures."
    )


class CircuitBreakerConfig(_Section):
    """One circuit breaker per model (used by the resilience plugin)."""

    enabled: bool = Field(default=True, description="Use circuit breakers.")
    # Sizes from resilience4j's defaults: one request's outcome per model enters the
    # window (not each retry), so 30% random faults stay far below the threshold.
    window_type: Literal["count", "time"] = Field(
        default="count",
        description="resilience4j's sliding window types: 'count' judges the last "
        "window_size requests, 'time' the requests of the last window_duration seconds "
        "(one aggregate per second); minimum_calls applies to both.",
    )
    window_size: int = Field(
        default=100, ge=1, description="Requests in a count-based sliding window."
    )
    window_duration: int = Field(
        default=60,
        ge=1,
        le=86_400,
        description="Seconds in a time-based sliding window (window_type: time).",
    )
    minimum_calls: int = Field(
        default=50, ge=1, description="Requests in the window before the rates count."
    )
    consecutive_failures: int = Field(
        default=10,
        ge=0,
        description="Requests in a row that failed hard on the model (one each, however "
        "many retries) that open it whatever the window holds; 0: off.",
    )
    failure_rate_threshold: float = Field(
        default=0.5, gt=0, le=1, description="Failure share of the window that opens it."
    )
    slow_call_duration: float = Field(
        default=30.0, gt=0, description="Seconds after which a call counts as slow."
    )
    slow_call_rate_threshold: float = Field(
        default=1.0, gt=0, le=1, description="Slow-call share of the window that opens it."
    )
    open_duration: float = Field(default=30.0, gt=0, description="Seconds before half-open.")
    half_open_probes: int = Field(default=1, ge=1, description="Calls let through while half-open.")
    long_open_duration: float = Field(
        default=900.0,
        gt=0,
        description="Seconds a model stays open after its quota ran out or its provider "
        "refused the key (401/403).",
    )
    models: dict[str, BreakerOverride] = Field(
        default_factory=dict, description="Per-model overrides of the settings above."
    )

    def for_model(self, name: str) -> CircuitBreakerConfig:
        """The settings of one model: the defaults with its override applied."""
        override = self.models.get(name)
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


class BudgetConfig(_Section):
    """A spending limit (used by the resilience plugin); unset: no limit."""

    period: Literal["1h", "1d", "30d"] | None = Field(
        default=None, description="The period the limit applies to."
    )
    limit_usd: float | None = Field(default=None, ge=0, description="USD per period.")

    @model_validator(mode="after")
    def _both_or_neither(self) -> BudgetConfig:
        if (self.period is None) != (self.limit_usd is None):
            raise ValueError("set both 'period' and 'limit_usd', or neither")
        return self


class RedisConfig(_Section):
    """Shared state across orchestrator processes (breakers, cache, budget)."""

    url: str | None = Field(
        default=None, description="redis://host:port/db; REDIS_URL overrides. None: local only."
    )
    key_prefix: str = Field(default="do:", description="Namespace of every key written.")
    timeout: float = Field(
        default=0.5, gt=0, description="Seconds per Redis call before local state is used."
    )
    retry_interval: float = Field(
        default=5.0, gt=0, description="Seconds between reconnection tries while it is down."
    )
    max_connections: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Connections per process; a burst waits up to 'timeout' for a free one.",
    )


class ResilienceSettings(_Section):
    """Circuit breakers, the response cache, the spending limit and shared state."""

    cache: CacheConfig = Field(default_factory=CacheConfig)
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)

    @model_validator(mode="before")
    @classmethod
    def _environment(cls, data: Any) -> Any:
        # CACHE_TTL and REDIS_URL win over the file (the seed's environment variables).
        if not isinstance(data, dict):
            return data
        ttl = os.environ.get("CACHE_TTL")
        if ttl:
            try:
                value = float(ttl)
                if not 0 <= value < float("inf"):
                    raise ValueError
            except ValueError:
                raise ValueError(f"CACHE_TTL: expected seconds >= 0, got {ttl!r}") from None
            data = {**data, "cache": {**_mapping(data.get("cache")), "ttl": value}}
        url = os.environ.get("REDIS_URL")
        if url:
            data = {**data, "redis": {**_mapping(data.get("redis")), "url": url}}
        return data


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    return dict(value) if isinstance(value, dict) else {}


SETTINGS = PluginSettings(
    name=NAME,
    model=ResilienceSettings,
    aliases={key: key for key in ("cache", "circuit_breaker", "budget", "redis")},
)
"""What the ``plugin_settings`` hook declares."""
