"""What "saved" means, defined once.

The **baseline** is the unoptimized request sent to ``baseline_model`` (config; default:
the complex tier's preferred model): the request text, its full context as JSON and
every available tool definition, with the same number of output tokens as the real
answer. The baseline is never run, so its tokens and cost are always **estimates**.

- ``tokens_saved`` = baseline input tokens − input tokens actually sent.
- ``saved_usd`` = baseline cost − actual cost.

Both are signed: a request that costs more than the baseline shows a negative saving.
Actual figures are **measured** when the provider reported usage, else estimated. A
delegated plan or a call on the client's own model (sampling) claims no saving, because
this server cannot see what the client paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .contract import CatalogView
from .tokens import MESSAGE_OVERHEAD, estimate_json_tokens, estimate_tokens


def baseline_input_tokens(
    text: str,
    context: dict[str, Any],
    tool_tokens_available: int,
    context_tokens: int | None = None,
) -> int:
    """Estimated input tokens of the unoptimized request.

    :param context_tokens: ``estimate_json_tokens(context)`` when already known.
    """
    if context_tokens is None:
        context_tokens = estimate_json_tokens(context)
    return estimate_tokens(text) + context_tokens + tool_tokens_available + MESSAGE_OVERHEAD


@dataclass(frozen=True)
class Savings:
    cost_usd: float | None
    baseline_cost_usd: float | None
    saved_usd: float
    tokens_saved: int
    basis: str


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 8)


def account(
    catalog: CatalogView,
    baseline_model: str,
    *,
    baseline_tokens: int,
    input_tokens: int,
    output_tokens: int,
    cost_usd: float | None,
    usage_measured: bool,
    claim: bool = True,
) -> Savings:
    """Cost, baseline cost and savings of one request.

    :param claim: False when no saving may be claimed (delegated, client's own model).
    """
    baseline = catalog.get(baseline_model)
    baseline_cost = baseline.estimate_cost(baseline_tokens, output_tokens) if baseline else None
    if not claim:
        return Savings(
            cost_usd=_round(cost_usd),
            baseline_cost_usd=_round(baseline_cost),
            saved_usd=0.0,
            tokens_saved=0,
            basis="no saving claimed: the model ran outside this server, its cost is unknown here",
        )
    if baseline_cost is None or cost_usd is None:
        return Savings(
            cost_usd=_round(cost_usd),
            baseline_cost_usd=_round(baseline_cost),
            saved_usd=0.0,
            tokens_saved=baseline_tokens - input_tokens,
            basis=f"no dollar saving claimed: no price known for "
            f"{baseline_model if baseline_cost is None else 'the model used'}",
        )
    actual = "measured from provider-reported usage" if usage_measured else "estimated"
    return Savings(
        cost_usd=_round(cost_usd),
        baseline_cost_usd=_round(baseline_cost),
        saved_usd=_round(baseline_cost - cost_usd) or 0.0,
        tokens_saved=baseline_tokens - input_tokens,
        basis=f"actual cost {actual}; baseline {baseline_model} estimated from list prices "
        f"for the unoptimized request ({baseline_tokens} input tokens, same output)",
    )
