"""The provider protocol: the objects that run one model call.

A provider plugin registers :class:`Provider` objects through ``register_providers``.
The host picks the provider named by the catalog for each model, builds one
:class:`ProviderCall`, and expects one :class:`~dynamic_orchestrator.contract.Completion`
back, or a :class:`~dynamic_orchestrator.contract.ProviderError` whose kind tells the
fallback stage what to do. Providers do not retry: the host has the one retry layer, so
SDK clients are built with ``max_retries=0``.

Optional members, looked up with ``getattr`` by the host:

- ``async warm()``: one-time set-up (importing an SDK, building a client), awaited before
  the call's timeout starts;
- ``warmed``: true once ``warm()`` has nothing left to do; the host then skips it;
- ``stream(call)``: the same call, streamed as
  :data:`~dynamic_orchestrator.contract.StreamEvent` values (see
  :class:`StreamingProvider`); without it a front door may stream the finished
  completion (:func:`~dynamic_orchestrator.contract.events_from_completion`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._catalog import ModelInfo
    from ._models import ChatMessage, Completion, ToolSpec
    from ._streaming import StreamEvent


@dataclass(frozen=True)
class ProviderCall:
    """Everything a provider needs for one call, in one shape for every provider."""

    model: ModelInfo
    system: str
    messages: list[ChatMessage]
    max_tokens: int | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    timeout: float = 60.0
    temperature: float | None = None
    tier: str | None = None
    complexity_score: float | None = None
    client: Any = None
    """The MCP client connection for the client-model provider; None elsewhere."""
    request: Mapping[str, Any] | None = None
    """From the gateway: the whole Anthropic Messages request body (typed blocks, images,
    documents, tool results, ``tool_choice``, ``stop_sequences``, ``thinking``, ...). When
    set, ``stream`` translates it instead of ``system``/``messages``/``tools``; an Anthropic
    provider sends it upstream as it is."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """From the gateway, for an Anthropic upstream only: ``anthropic-beta``, and the client's
    own key under ``providers.<name>.client_key: passthrough``. Other providers ignore it."""
    query: Mapping[str, str] = field(default_factory=dict)
    """From the gateway, for an Anthropic upstream only (Claude Code's ``beta=true``)."""


@runtime_checkable
class Provider(Protocol):
    """What ``register_providers`` registers."""

    name: str

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        """None when ``model`` can be called now; otherwise why not (missing key, …)."""
        ...

    async def complete(self, call: ProviderCall) -> Completion:
        """Run one call; raise :class:`~dynamic_orchestrator.contract.ProviderError` on failure."""
        ...


@runtime_checkable
class StreamingProvider(Provider, Protocol):
    """A provider that can also stream a call (the optional ``stream`` member).

    ``stream(call)`` returns an async iterator (an ``async def`` generator) of
    :data:`~dynamic_orchestrator.contract.StreamEvent` in the order documented in
    :mod:`dynamic_orchestrator.contract._streaming`, ending with ``MessageEnd``. It
    raises :class:`~dynamic_orchestrator.contract.ProviderError` like ``complete``.
    """

    def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        """Run one call, yielding its events as they arrive."""
        ...


def can_stream(provider: object) -> bool:
    """Whether ``provider`` implements the optional ``stream`` call."""
    return callable(getattr(provider, "stream", None))
