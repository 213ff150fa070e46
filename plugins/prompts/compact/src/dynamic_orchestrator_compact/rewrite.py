"""Optional prompt rewriting: a cheap model rewrites the user message before the chain runs.

On with ``plugins.compact.rewrite`` (the seed's ``prompt.rewrite``). The rewriting call's
tokens and cost count in the request's totals; its answers are cached per orchestrator (by
model and message) so a repeated request pays once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import replace

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.contract import (
    Candidate,
    ExecutionContext,
    Host,
    Prompt,
    ProviderError,
    Rewrite,
)
from dynamic_orchestrator.execution import build_call, call_model
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.pricing import completion_cost

from .settings import settings_of

__all__ = ["INSTRUCTION", "RewriteCache", "rewrite", "rewrite_prompt"]

log = get_logger("compact.rewrite")

INSTRUCTION = (
    "Rewrite the user's request as a compact, complete instruction for another "
    "model. Keep every fact, name, number and constraint. Output only the rewrite."
)


class RewriteCache:
    """Rewrites already made by one orchestrator, least recently used first out."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str], Rewrite] = OrderedDict()

    def get(self, key: tuple[str, str]) -> Rewrite | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, str], entry: Rewrite) -> None:
        self.entries[key] = entry
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


async def rewrite(context: ExecutionContext, cache: RewriteCache) -> Rewrite | None:
    """The rewrite of the chain's user message, or None when no cheap model is usable."""
    config, catalog = context.config, context.catalog
    settings = settings_of(config)
    name = settings.rewrite_model or next(
        (m for m in config.execution["simple"].models if catalog.usable(m)), None
    )
    model = catalog.get(name) if name else None
    if model is None or not catalog.usable(model.name) or model.provider is None:
        return None
    base = next(iter(context.prompts.values()), None)
    if base is None:
        return None
    key = (model.name, base.user)
    cached = cache.get(key)
    if cached is not None:
        return Rewrite(text=cached.text)  # paid once: a cached rewrite costs nothing
    instruction = Prompt(
        system=INSTRUCTION,
        user=base.user,
        max_tokens=max(64, context.analysis.estimated_input_tokens),
    )
    candidate = Candidate(model=model.name, provider=model.provider)
    # A context for the rewriting call alone: its attempt is not one of the chain's.
    scratch = replace(
        context,
        prompts={model.name: instruction},
        attempts=[],
        extra_cost_usd=0.0,
        plugin_state={},
        progress=None,
        max_tokens=None,
    )
    try:
        completion = await call_model(
            scratch, candidate, build_call(scratch, candidate, model, instruction)
        )
    except ProviderError as exc:
        log.info("prompt_rewrite_failed", error=str(exc))
        return None
    entry = Rewrite(
        text=(completion.text or "").strip() or base.user,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        cost_usd=completion_cost(model, completion),
    )
    cache.put(key, entry)
    return entry


@hookimpl(trylast=True)
def rewrite_prompt(
    context: ExecutionContext, orchestrator: Host
) -> Awaitable[Rewrite | None] | None:
    """A cheap model's compact rewrite of the user message, when ``rewrite`` is on."""
    if not settings_of(context.config).rewrite:
        return None
    return rewrite(context, orchestrator.plugin_state("compact.rewrite", RewriteCache))
