"""Optional prompt rewriting: a cheap model rewrites the user message before the chain runs.

On with ``prompt.rewrite``. The rewriting call's tokens and cost count in the request's
totals; its answers are cached (by model and message) so a repeated request pays once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .contract import (
    Candidate,
    CatalogView,
    Completion,
    Config,
    ExecutionContext,
    Prompt,
    ProviderError,
)
from .decide import Decision
from .execution import build_call, call_model
from .hooks import Hooks
from .log import get_logger
from .pricing import completion_cost

__all__ = ["PromptRewriter", "Rewrite"]

log = get_logger("rewrite")

INSTRUCTION = (
    "Rewrite the user's request as a compact, complete instruction for another "
    "model. Keep every fact, name, number and constraint. Output only the rewrite."
)


@dataclass(frozen=True)
class Rewrite:
    """A rewritten user message and what the rewriting call spent."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0


class PromptRewriter:
    """Rewrites user messages for one orchestrator, with a bounded cache."""

    def __init__(self, hooks: Hooks, *, size: int = 256) -> None:
        self.hooks = hooks
        self.size = size
        self._cache: OrderedDict[tuple[str, str], Rewrite] = OrderedDict()

    async def rewrite(
        self, decision: Decision, *, config: Config, catalog: CatalogView, client: Any = None
    ) -> Rewrite | None:
        """The rewrite, or None when off or when no cheap model is usable.

        :param client: the MCP client connection, should the rewriting model be the client's.
        """
        settings = config.prompt
        if not settings.rewrite:
            return None
        name = settings.rewrite_model or next(
            (m for m in config.execution["simple"].models if catalog.usable(m)), None
        )
        model = catalog.get(name) if name else None
        if model is None or not catalog.usable(model.name) or model.provider is None:
            return None
        base = self.hooks.generate_prompt(decision.request, decision.analysis, model, config)
        key = (model.name, base.user)
        if key in self._cache:
            self._cache.move_to_end(key)
            return Rewrite(text=self._cache[key].text)
        instruction = Prompt(
            system=INSTRUCTION,
            user=base.user,
            max_tokens=max(64, decision.analysis.estimated_input_tokens),
        )
        candidate = Candidate(model=model.name, provider=model.provider)
        # A context for the rewriting call alone: its attempt is not one of the chain's.
        scratch = ExecutionContext(
            request=decision.request,
            analysis=decision.analysis,
            selection=decision.selection,
            catalog=catalog,
            config=config,
            prompts={model.name: instruction},
            client=client,
        )
        try:
            completion: Completion = await call_model(
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
        self._cache[key] = entry
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return entry
