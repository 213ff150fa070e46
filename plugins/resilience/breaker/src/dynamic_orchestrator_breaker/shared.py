"""State shared by orchestrator processes through Redis, with a local fallback.

Keys (under ``redis.key_prefix``, ``do:`` by default):

- ``breaker:<model>``: a hash ``{until, reason}`` while a model is open or half-open
  everywhere; ``until`` is the wall-clock millisecond the open period ends, and names the
  half-open episode that follows. It expires once the episode can no longer matter.
- ``breaker:<model>:probes:<until>``: a hash of the half-open probes of that episode
  taken, succeeded and slow, so that across every process exactly ``half_open_probes``
  get through, and the episode closes once that many succeeded, wherever they ran.
- ``cache:<hash>``: a cached completion (JSON), expiring after ``cache.ttl``.
- ``budget:<period>:<bucket>``: USD spent in one budget period (``INCRBYFLOAT``).

Every change of breaker state is one Lua script, so it is atomic across processes. When
Redis cannot be reached (refused, timed out), each call returns :data:`DOWN` at once, the
caller uses its local state, one warning is logged for the outage, and Redis is tried
again after ``redis.retry_interval`` seconds. No request fails because of Redis.

A call that timed out while this process's own event loop was late (a burst keeping it
busy: :class:`LoopLag` saw a timer run ``redis.timeout / 2`` late or more during the call)
is not taken for Redis being down: that one call is answered locally (``local_calls``,
``late_loop_timeouts``), and the next goes to Redis as before.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import anyio
from dynamic_orchestrator.errors import redact
from dynamic_orchestrator.log import get_logger

if TYPE_CHECKING:
    from .settings import RedisConfig

log = get_logger("breaker.shared")

T = TypeVar("T")


class _Down:
    def __repr__(self) -> str:
        return "DOWN"


DEFAULT_MAX_CONNECTIONS: Final = 50
"""Connections per process; a burst waits for one (``redis.timeout``) rather than fail."""

DOWN: Final = _Down()
"""What a call returns when Redis is not configured or not reachable."""

# Open at least until ARGV[1] (ms): keeps a later end already set; returns the end in force.
_OPEN = """
local cur = redis.call('HGET', KEYS[1], 'until')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then
  return {cur, redis.call('HGET', KEYS[1], 'reason') or ''}
end
redis.call('HSET', KEYS[1], 'until', ARGV[1], 'reason', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {ARGV[1], ARGV[2]}
"""

# Take a probe of episode ARGV[1]: 1 taken, 0 none left, -1 the episode is over.
_PROBE = """
local cur = redis.call('HGET', KEYS[1], 'until')
if cur ~= ARGV[1] then return -1 end
local n = redis.call('HINCRBY', KEYS[2], 'taken', 1)
if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
if n > tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], 'taken', -1)
  return 0
end
return 1
"""

_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'taken', -1) end
return 1
"""

# A probe of the episode succeeded (ARGV[1]: 1 if it was slow): the episode's {ok, slow}.
_PROBE_OK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local ok = redis.call('HINCRBY', KEYS[1], 'ok', 1)
local slow = redis.call('HINCRBY', KEYS[1], 'slow', tonumber(ARGV[1]))
return {ok, slow}
"""

# Close episode ARGV[1] everywhere, unless a newer open replaced it.
_CLOSE = """
if redis.call('HGET', KEYS[1], 'until') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

_SPEND = """
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return total
"""


class LoopLag:
    """How late this event loop has been: a timer every ``interval`` seconds notes by how
    much it ran late (about 20 callbacks a second, while Redis is configured)."""

    def __init__(self, interval: float = 0.05, keep: int = 400) -> None:
        self.interval = interval
        self._beats: deque[tuple[float, float]] = deque(maxlen=keep)  # (ran at, late by)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def watch(self) -> None:
        """Start on the running loop (once per loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on asyncio: no figures, every timeout counts
            return
        if self._loop is loop and self._handle is not None:
            return
        self.stop()
        self._loop = loop
        self._beats.clear()
        self._due = loop.time() + self.interval
        self._handle = loop.call_at(self._due, self._beat)

    def _beat(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        self._beats.append((now, now - self._due))
        self._due = now + self.interval
        self._handle = loop.call_at(self._due, self._beat)

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else time.monotonic()

    def worst_since(self, since: float) -> float:
        """The most a timer ran late since ``since`` (``now()``'s clock), the one due now
        included."""
        if self._loop is None:
            return 0.0
        now = self._loop.time()
        worst = max(0.0, now - self._due)
        for ran, late in reversed(self._beats):
            if ran < since:
                break
            worst = max(worst, late)
        return worst

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop = None


def _is_timeout(exc: BaseException) -> bool:
    """A timed-out call (anyio's deadline, or redis-py's socket timeout)."""
    return isinstance(exc, TimeoutError) or type(exc).__name__ == "TimeoutError"


def _safe_url(url: str) -> str:
    """The URL without its password (``user:pass@`` or ``?password=``), for log lines and
    ``health``."""
    if "@" in url:
        scheme, _, rest = url.partition("://")
        url = f"{scheme}://***@{rest.split('@', 1)[1]}"
    return redact(url)


class SharedState:
    """The Redis connection of one orchestrator plugin, and what to do when it is down."""

    def __init__(self, settings: RedisConfig, *, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.prefix = settings.key_prefix
        self.url = settings.url
        self._clock = clock
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._down_until = 0.0
        self._down_since: float | None = None
        self._last_error = ""
        self.max_connections: int = getattr(settings, "max_connections", DEFAULT_MAX_CONNECTIONS)
        self._slots = anyio.Semaphore(self.max_connections)
        self.degradations = 0
        """How many times Redis was lost and local state took over (``health``, metrics)."""
        self.local_calls = 0
        """Redis operations answered by local state instead (down, or not reachable)."""
        self.late_loop_timeouts = 0
        """Calls that timed out while the event loop was late (not taken for Redis down)."""
        self.loop_lag = LoopLag()
        self.import_error: str | None = None
        if self.url:
            try:
                import redis.asyncio  # noqa: F401
            except ImportError:
                self.import_error = (
                    "REDIS_URL/redis.url is set but the 'redis' package is not installed: "
                    "pip install 'dynamic-orchestrator[redis]'"
                )
                log.warning("redis_unavailable", error=self.import_error)

    @property
    def configured(self) -> bool:
        return bool(self.url) and self.import_error is None

    def status(self) -> dict[str, Any]:
        """For ``health``: whether Redis is used, reachable, or replaced by local state."""
        if not self.url:
            return {"configured": False, "state": "not configured: state is local"}
        info: dict[str, Any] = {
            "configured": True,
            "url": _safe_url(self.url),
            "max_connections": self.max_connections,
            "went_local": self.degradations,
            "local_calls": self.local_calls,
            "late_loop_timeouts": self.late_loop_timeouts,
        }
        if self.import_error:
            info["state"] = f"local fallback: {self.import_error}"
        elif self._down_since is not None:
            info["state"] = f"local fallback: unreachable ({self._last_error})"
        else:
            info["state"] = "reachable"
        return info

    @property
    def reachable(self) -> bool:
        return self.configured and self._down_since is None

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _connect(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # A bounded pool that waits for a free connection (up to the call's own
            # timeout) instead of raising MaxConnectionsError at a burst.
            pool = aioredis.BlockingConnectionPool.from_url(
                self.url or "",
                max_connections=self.max_connections,
                timeout=self.settings.timeout * 4,  # a backstop: _slots does the queueing
                socket_timeout=self.settings.timeout,
                socket_connect_timeout=self.settings.timeout,
                retry=Retry(NoBackoff(), 0),
                decode_responses=True,
            )
            # from_pool: the client owns the pool, so closing it closes the connections.
            self._client = aioredis.Redis.from_pool(pool)
            self._scripts = {
                name: self._client.register_script(source)
                for name, source in (
                    ("open", _OPEN),
                    ("probe", _PROBE),
                    ("release", _RELEASE),
                    ("probe_ok", _PROBE_OK),
                    ("close", _CLOSE),
                    ("spend", _SPEND),
                )
            }
        return self._client

    async def run(self, op: Callable[[Any], Awaitable[T]]) -> T | _Down:
        """Run ``op(client)``; :data:`DOWN` when Redis is unset, down or fails now."""
        if not self.configured:
            return DOWN
        now = self._clock()
        if now < self._down_until:
            self.local_calls += 1
            return DOWN
        lag = self.loop_lag
        lag.watch()
        started = lag.now()
        try:
            # Waiting for a free connection is queueing, not Redis being down: only the
            # operation itself is timed. Each holder is timed, so the wait is bounded.
            async with self._slots:
                started = lag.now()
                with anyio.fail_after(self.settings.timeout * 2):
                    result = await op(self._connect())
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            self.local_calls += 1
            late = lag.worst_since(started)
            if _is_timeout(exc) and late >= self.settings.timeout / 2:
                # Our loop was late, not necessarily Redis: this call only goes local.
                self.late_loop_timeouts += 1
                log.debug("redis_call_timed_out_loop_late", late_s=round(late, 3))
                return DOWN
            self._mark_down(exc)
            return DOWN
        if self._down_since is not None:
            log.warning(
                "redis_reconnected",
                url=_safe_url(self.url or ""),
                down_seconds=round(self._clock() - self._down_since, 3),
            )
            self._down_since = None
        return result

    def _mark_down(self, exc: BaseException) -> None:
        self._down_until = self._clock() + self.settings.retry_interval
        self._last_error = redact(f"{type(exc).__name__}: {exc}")[:200]
        if self._down_since is None:
            self._down_since = self._clock()
            self.degradations += 1
            log.warning(
                "redis_unavailable",
                url=_safe_url(self.url or ""),
                error=self._last_error,
                fallback="local state until it is back",
                retry_in_s=self.settings.retry_interval,
                went_local=self.degradations,
            )

    async def script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run one of the Lua scripts above; :data:`DOWN` as for :meth:`run`."""

        async def call(client: Any) -> Any:
            return await self._scripts[name](keys=keys, args=args, client=client)

        return await self.run(call)

    async def close(self) -> None:
        self.loop_lag.stop()
        client, self._client = self._client, None
        if client is not None:
            try:
                with anyio.move_on_after(1.0):
                    await client.aclose()
            except Exception as exc:  # closing a broken connection
                log.debug("redis_close_failed", error=repr(exc))
