"""What the ``execute`` stage receives: the request, its plan, and where to report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._catalog import ModelInfo
    from ._config import Config
    from ._host import CatalogView, Host
    from ._models import Attempt, Candidate, Prompt, Request, RequestAnalysis, Selection
    from ._providers import ProviderCall
    from ._services import Service

ProgressCallback = Callable[[str, float], Awaitable[None]]
"""``async (stage, fraction)``: progress reported to the caller as a request advances."""


@dataclass
class ExecutionContext:
    """What the ``execute`` stage gets: the request, its plan, and helpers."""

    request: Request
    analysis: RequestAnalysis
    selection: Selection
    catalog: CatalogView
    config: Config
    prompts: Mapping[str, Prompt] = field(default_factory=dict)
    """The prompt for each model of the chain, by model name, made by the host before
    execution (``generate_prompt`` once per model)."""
    progress: ProgressCallback | None = None
    client: Any = None
    """The MCP client connection, for the client-model provider."""
    max_tokens: int | None = None
    services: dict[str, Service] = field(default_factory=dict)
    """The registered services by name, for running the tools a model calls."""
    attempts: list[Attempt] = field(default_factory=list)
    extra_cost_usd: float = 0.0
    """Spent on calls whose completion was not kept (a tool loop that failed part-way)."""
    host: Host | None = None
    """The orchestrator running the request (the host fills it): where a wrapper finds
    its plugin's state (:meth:`Host.plugin_state`)."""
    plugin_state: dict[str, Any] = field(default_factory=dict)
    """Per-request state of the plugins that wrap ``execute`` and ``call_model``, by
    plugin name (what an ``execute`` wrapper sets up, its ``call_model`` wrapper reads)."""

    def prompt_for(self, model: ModelInfo) -> Prompt:
        """The prompt planned for ``model``.

        :raises KeyError: the model is not one the plan has a prompt for.
        """
        try:
            return self.prompts[model.name]
        except KeyError:
            raise KeyError(f"no prompt was planned for model {model.name!r}") from None

    async def report(self, stage: str, fraction: float) -> None:
        if self.progress is not None:
            await self.progress(stage, fraction)


@dataclass(frozen=True)
class Rewrite:
    """What the ``rewrite_prompt`` hook returns: the user message every model of the chain
    receives instead of its own, and what the rewriting call spent (counted in the
    request's totals)."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0


@dataclass
class ModelCall:
    """One try of one model: what the ``call_model`` hook receives.

    A ``call_model`` wrapper may replace :attr:`call` (a smaller ``max_tokens`` that fits
    the money left, say) before it awaits the inner awaitable: the host's call reads it
    when it starts, not when it is made.
    """

    context: ExecutionContext
    candidate: Candidate
    call: ProviderCall
