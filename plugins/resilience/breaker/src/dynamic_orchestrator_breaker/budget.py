"""Money: the per-request ceiling ``max_cost`` and the optional budget per period.

Per request, before every call (retries and tool-loop rounds included), what is left is
``max_cost`` minus what this request has already spent (and, with a period budget, no
more than what is left of the period). The call's input cost is estimated from its
messages and tools, with a 20% margin because the count is an estimate; if that plus one
output token does not fit, the call is not started; otherwise ``max_tokens`` is capped to
what the rest pays for at the model's output price. A model without a known price cannot
be held to a ceiling, so it is not called under one. Calls on the client's own model
(MCP sampling) are billed to the client, not here, and are not limited.

The period budget (``budget.period``: ``1h``, ``1d`` or ``30d``; ``budget.limit_usd``)
counts the real cost of every call, failed requests' included, in fixed periods aligned
to the Unix epoch (UTC hours, UTC days, 30-day blocks). With Redis the total is shared by
every process (``INCRBYFLOAT``); while Redis is down, spend is counted here and added to
Redis when it is back. Without Redis the total is this process's own and starts again at
zero when it restarts. Once the period's total reaches the limit, requests fail with a
:class:`~dynamic_orchestrator.errors.BudgetExceededError` saying so and when it resets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator.catalog import CLIENT_PROVIDER
from dynamic_orchestrator.errors import BudgetExceededError
from dynamic_orchestrator.pricing import completion_cost
from dynamic_orchestrator.tokens import MESSAGE_OVERHEAD, estimate_tokens, estimate_tool_tokens

from .shared import DOWN, SharedState

if TYPE_CHECKING:
    from dynamic_orchestrator.catalog import ModelInfo
    from dynamic_orchestrator.models import Completion
    from dynamic_orchestrator.providers import ProviderCall

    from .settings import BudgetConfig

PERIOD_SECONDS = {"1h": 3600, "1d": 86400, "30d": 30 * 86400}
INPUT_MARGIN = 1.2
"""Estimated input tokens are multiplied by this before a call is priced against a limit."""


def estimate_call_input_tokens(call: ProviderCall) -> int:
    """Estimated input tokens of one provider call: system, messages, tool definitions."""
    tokens = estimate_tokens(call.system) + MESSAGE_OVERHEAD
    for message in call.messages:
        tokens += estimate_tokens(message.content) + MESSAGE_OVERHEAD
    return tokens + sum(estimate_tool_tokens(t) for t in call.tools)


def call_cost(model: ModelInfo, completion: Completion) -> float:
    """What a completed call cost: as reported, else priced from its usage, else 0."""
    return completion_cost(model, completion) or 0.0


DEFAULT_OUTPUT_LIMIT = 8_192
"""Output tokens asked at most of a model whose limit is not known (genai-prices has
context windows, not output limits): what every current model can produce."""

OUTPUT_LIMITS: tuple[tuple[str, int], ...] = (
    ("gpt-5", 128_000),
    ("gpt-4.1", 32_768),
    ("gpt-4o", 16_384),
    ("o3", 100_000),
    ("o4", 100_000),
    ("claude-opus-4-1", 32_000),
    ("claude-opus-4", 32_000),
    ("claude-sonnet-4", 64_000),
    ("claude-haiku-4", 64_000),
    ("claude-3-7-sonnet", 64_000),
    ("gemini-2.5", 65_536),
)
"""Published output limits by model-name prefix, longest prefix first where they nest."""


def output_limit(model: ModelInfo) -> int:
    """The most output tokens a call on ``model`` may ask for when ``max_cost`` caps it."""
    name = model.name.lower()
    for prefix, limit in OUTPUT_LIMITS:
        if name.startswith(prefix):
            return limit
    return DEFAULT_OUTPUT_LIMIT


@dataclass(frozen=True)
class Fit:
    """The call to make (its ``max_tokens`` capped), or why it cannot be made."""

    call: ProviderCall | None
    refusal: str | None = None


def fit_call(call: ProviderCall, left: float | None) -> Fit:
    """Cap ``call`` to what ``left`` USD pays for; refuse it when even one token won't fit."""
    model = call.model
    if left is None or model.provider == CLIENT_PROVIDER:
        return Fit(call)
    if model.input_price is None or model.output_price is None:
        return Fit(None, f"budget: {model.name} has no known price, so ${left:.6f} cannot be kept")
    in_tokens = math.ceil(estimate_call_input_tokens(call) * INPUT_MARGIN)
    in_cost = model.input_price.rate(in_tokens) * in_tokens / 1_000_000
    out_rate = model.output_price.rate(in_tokens) / 1_000_000
    minimum = in_cost + out_rate
    if minimum > left:
        return Fit(
            None,
            f"budget: ${left:.6f} left, but {model.name} needs at least ${minimum:.6f} "
            f"(~{in_tokens} input tokens, estimated, and one output token)",
        )
    if out_rate <= 0:
        return Fit(call)
    affordable = min(int((left - in_cost) / out_rate), output_limit(model))
    capped = affordable if call.max_tokens is None else min(call.max_tokens, affordable)
    return Fit(call if capped == call.max_tokens else replace(call, max_tokens=capped))


@dataclass
class RequestSpend:
    """What one request has spent, against its ``max_cost``."""

    max_cost: float | None
    spent: float = 0.0

    def left(self) -> float | None:
        return None if self.max_cost is None else max(0.0, self.max_cost - self.spent)


class PeriodBudget:
    """The spend of the current budget period, shared through Redis when configured."""

    def __init__(
        self, config: BudgetConfig, shared: SharedState, *, clock: Callable[[], float] = time.time
    ):
        self.config = config
        self.shared = shared
        self.clock = clock
        self.enabled = config.period is not None and config.limit_usd is not None
        self.seconds = PERIOD_SECONDS.get(config.period or "", 0)
        self._local: dict[int, float] = {}
        self._pending: dict[int, float] = {}
        self._remote: dict[int, float] = {}

    def _bucket(self) -> int:
        return int(self.clock() // self.seconds)

    def _key(self, bucket: int) -> str:
        return self.shared.key("budget", self.config.period or "", str(bucket))

    async def spent(self) -> float:
        """USD spent in the current period (every process's, with Redis)."""
        bucket = self._bucket()
        if not self.shared.configured:
            return self._local.get(bucket, 0.0)
        await self._flush(bucket)

        async def read(client: Any) -> str | None:
            value: str | None = await client.get(self._key(bucket))
            return value

        remote = await self.shared.run(read)
        if remote is not DOWN:
            self._remote[bucket] = float(remote or 0.0)  # type: ignore[arg-type]
        return self._remote.get(bucket, 0.0) + self._pending.get(bucket, 0.0)

    async def left(self) -> float | None:
        """USD left in the period; None when no period budget is set."""
        if not self.enabled:
            return None
        return max(0.0, (self.config.limit_usd or 0.0) - await self.spent())

    async def check(self) -> float | None:
        """What is left, or :class:`BudgetExceededError` when nothing is."""
        left = await self.left()
        if left is not None and left <= 0:
            bucket = self._bucket()
            resets = datetime.fromtimestamp((bucket + 1) * self.seconds, tz=UTC)
            raise BudgetExceededError(
                f"budget exceeded: ${await self.spent():.6f} spent of the "
                f"${self.config.limit_usd:.6f} limit for the current {self.config.period} "
                f"period (budget.limit_usd); it resets at {resets:%Y-%m-%d %H:%M} UTC"
            )
        return left

    async def add(self, cost: float) -> None:
        """Count ``cost`` USD just spent."""
        if not self.enabled or cost <= 0:
            return
        bucket = self._bucket()
        self._local[bucket] = self._local.get(bucket, 0.0) + cost
        for old in [b for b in self._local if b < bucket - 1]:
            self._local.pop(old, None)
            self._remote.pop(old, None)
        if self.shared.configured:
            self._pending[bucket] = self._pending.get(bucket, 0.0) + cost
            await self._flush(bucket)

    async def _flush(self, bucket: int) -> None:
        # Take the amount out before the await: a flush that overlaps this one then sends
        # only what was added since, so no charge reaches Redis twice.
        amount = self._pending.pop(bucket, 0.0)
        if amount <= 0:
            return
        ttl_ms = (self.seconds + 3600) * 1000
        total = await self.shared.script("spend", [self._key(bucket)], [repr(amount), ttl_ms])
        if total is DOWN:  # kept for when Redis is back
            self._pending[bucket] = self._pending.get(bucket, 0.0) + amount
        else:
            self._remote[bucket] = float(total)

    async def status(self) -> dict[str, Any]:
        if not self.enabled:
            return {"enabled": False}
        spent = await self.spent()
        return {
            "enabled": True,
            "period": self.config.period,
            "limit_usd": self.config.limit_usd,
            "spent_usd": round(spent, 8),
            "shared": self.shared.configured,
        }
