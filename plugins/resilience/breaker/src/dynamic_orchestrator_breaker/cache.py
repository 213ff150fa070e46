"""The response cache: the same request, context and options get the stored answer.

The key is a SHA-256 of the request text with case and whitespace normalized, the context
as canonical JSON, the options that change the answer (``model``, ``preferred_models``,
``max_tokens``; not ``max_cost``, which only bounds the spend) and the configuration that
decides the model and the prompt (the tiers' models, the client's models, the prompt
settings), so a change of configuration never serves an answer made under the old one.

Entries live ``cache.ttl`` seconds (``CACHE_TTL`` overrides it). The in-memory store is
``cachetools.TTLCache``, a bounded LRU with per-entry expiry (``cache.max_entries``) from a
well-kept library, so this module writes no eviction code of its own. With
``cache.backend: redis`` entries are also written to Redis (``SET … PX``) and read from
there when this process has no copy, so one process's answer is a hit for another; while
Redis is down the in-memory store alone serves.

Only answers are cached: never a failure, a delegated plan, an answer whose prompt
carried tools (its content came from tools whose results change), nor one from the
client's own model (MCP sampling: run on the client's account, at its choosing).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import Completion
from pydantic import ValidationError

from .shared import DOWN, SharedState

if TYPE_CHECKING:
    from dynamic_orchestrator.config import Config
    from dynamic_orchestrator.models import Request

    from .settings import CacheConfig

log = get_logger("breaker.cache")

KEY_VERSION = 1


def normalize_text(text: str) -> str:
    """Lower case, runs of whitespace as one space, trimmed."""
    return " ".join(text.lower().split())


def config_fingerprint(config: Config) -> str:
    """The part of the configuration that decides the model and the prompt, as JSON."""
    return json.dumps(
        {
            "execution": {tier: t.models for tier, t in config.execution.items()},
            "client_models": config.claude_code_models if config.use_claude_code else None,
            "prompt": config.prompt.model_dump(mode="json"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def cache_key(request: Request, fingerprint: str) -> str:
    """The cache key of a request under a configuration (a hex SHA-256).

    :param fingerprint: the configuration's :func:`config_fingerprint`.
    """
    options = request.options
    payload = {
        "v": KEY_VERSION,
        "text": normalize_text(request.text),
        "context": request.context,
        "model": options.model,
        "preferred_models": options.preferred_models,
        "max_tokens": options.max_tokens,
        "config": fingerprint,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """Completions by cache key: bounded memory, and Redis when configured."""

    def __init__(
        self,
        config: CacheConfig,
        shared: SharedState,
        *,
        timer: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.shared = shared
        self.enabled = config.enabled and config.ttl > 0
        self.use_redis = self.enabled and config.backend == "redis" and shared.configured
        if self.enabled and config.backend == "redis" and not shared.url:
            log.warning(
                "cache_backend_memory",
                reason="cache.backend is redis but neither redis.url nor REDIS_URL is set",
            )
        self._local: TTLCache[str, str] | None = (
            TTLCache(maxsize=config.max_entries, ttl=config.ttl, timer=timer)
            if self.enabled and config.max_entries > 0
            else None
        )
        self.hits = 0
        self.misses = 0
        self.stores = 0

    def _redis_key(self, key: str) -> str:
        return self.shared.key("cache", key)

    async def get(self, key: str) -> Completion | None:
        """The cached completion for ``key``, or None (counted as a hit or a miss)."""
        if not self.enabled:
            return None
        blob = self._local.get(key) if self._local is not None else None
        if blob is None and self.use_redis:

            async def read(client: Any) -> str | None:
                value: str | None = await client.get(self._redis_key(key))
                return value

            remote = await self.shared.run(read)
            if remote is not DOWN and remote is not None:
                blob = remote  # type: ignore[assignment]
                if self._local is not None:
                    self._local[key] = blob  # type: ignore[assignment]
        if blob is None:
            self.misses += 1
            return None
        try:
            completion = Completion.model_validate_json(blob)
        except ValidationError:
            log.warning("cache_entry_unreadable", key=key[:12])
            self.misses += 1
            return None
        self.hits += 1
        return completion

    async def put(self, key: str, completion: Completion) -> None:
        """Store an answer under ``key`` for ``cache.ttl`` seconds."""
        if not self.enabled:
            return
        blob = completion.model_dump_json()
        if self._local is not None:
            self._local[key] = blob
        if self.use_redis:
            ttl_ms = max(1, round(self.config.ttl * 1000))

            async def write(client: Any) -> Any:
                return await client.set(self._redis_key(key), blob, px=ttl_ms)

            await self.shared.run(write)
        self.stores += 1

    def stats(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "backend": "redis" if self.use_redis else "memory",
            "ttl_s": self.config.ttl,
            "entries_here": len(self._local) if self._local is not None else 0,
            "hits": self.hits,
            "misses": self.misses,
            "stores": self.stores,
        }
