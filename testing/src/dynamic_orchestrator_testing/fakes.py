"""Deterministic in-process fakes for tests: a provider that echoes, with scripted faults.

:class:`EchoProvider` answers ``echo: <user message>`` with usage counted from the text,
so tests can assert exact tokens and costs. Script failures with :meth:`EchoProvider.fail`
(each call pops one error) to drive retries, fallbacks and breakers without a network.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import anyio
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import Completion, ToolCall
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator.tokens import estimate_tokens


class EchoProvider:
    """A provider that serves any model it is told about and echoes the user message."""

    def __init__(
        self,
        name: str = "echo",
        *,
        models: Iterable[str] | None = None,
        available: bool = True,
        delay: float = 0.0,
        cost_usd: float | None = None,
    ):
        self.name = name
        self.models = set(models) if models is not None else None
        self.available = available
        self.delay = delay
        self.cost_usd = cost_usd
        self.calls: list[ProviderCall] = []
        self._script: deque[ProviderError | BaseException | None] = deque()

    def fail(self, *errors: ProviderError | BaseException | ErrorKind | None) -> EchoProvider:
        """Queue outcomes for the next calls: an error to raise, or None for a success."""
        for error in errors:
            if isinstance(error, ErrorKind):
                error = ProviderError(error, f"scripted {error.value}", provider=self.name)
            self._script.append(error)
        return self

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        if not self.available:
            return f"{self.name} is switched off"
        if self.models is not None and model.name not in self.models:
            return f"{self.name} does not serve {model.name}"
        return None

    async def complete(self, call: ProviderCall) -> Completion:
        self.calls.append(call)
        if self.delay:
            await anyio.sleep(self.delay)
        if self._script:
            outcome = self._script.popleft()
            if outcome is not None:
                raise outcome
        user = call.messages[-1].content if call.messages else ""
        text = f"echo: {user}"[:400]
        tool_calls = []
        if call.tools and "[call:" in user:
            name = user.split("[call:", 1)[1].split("]", 1)[0].split()[0]
            tool_calls.append(ToolCall(id="call_1", name=name, arguments={}))
        return Completion(
            text=text,
            model=call.model.name,
            provider=self.name,
            input_tokens=estimate_tokens(call.system) + estimate_tokens(user),
            output_tokens=estimate_tokens(text),
            cost_usd=self.cost_usd,
            tool_calls=tool_calls,
        )
