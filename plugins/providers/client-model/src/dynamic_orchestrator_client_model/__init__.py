"""The client-model provider: run a request on the MCP client's own model (MCP sampling).

Registered as provider ``client`` (:data:`dynamic_orchestrator.catalog.CLIENT_PROVIDER`);
the tier selector puts the tier's ``claude_code_models`` first in the chain when the
client can sample and ``use_claude_code``/``use_claude_code_first`` say so.

- Usable only when the connection's client declared sampling (``call.client.can_sample``);
  otherwise it steps aside with a reason, which is not a failure.
- The request goes out through ``call.client.sample(params)``
  (:class:`dynamic_orchestrator.sampling.ClientConnection`); how it travels on 2025-11-25
  and 2026-07-28 connections is the front door's business.
- ``modelPreferences``: hints are the tier's ``claude_code_models`` with the model chosen
  first; priorities follow the complexity score (simple: cost and speed, complex:
  intelligence).
- The client runs and pays for the model: the completion's ``cost_usd`` is None and the
  host claims no saving for it. Sampling reports no usage, so tokens are estimates.
- A JSON-RPC error from the client (it declined, or its model failed) is a failed attempt
  of kind ``auth`` (not retried, falls back, does not trip a breaker): asking a person
  again who just declined is wrong. A request that cannot be asked on this connection
  (:class:`~dynamic_orchestrator.sampling.SamplingUnavailableError`) is ``unavailable``:
  the provider steps aside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import CLIENT_PROVIDER, ModelInfo
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import Completion
from dynamic_orchestrator.providers import ProviderCall, options_settings
from dynamic_orchestrator.sampling import SamplingUnavailableError
from dynamic_orchestrator.tokens import estimate_tokens

if TYPE_CHECKING:
    from mcp_types import CreateMessageRequestParams, ModelPreferences

__all__ = ["ClientModelProvider", "model_preferences", "plugin_settings", "register_providers"]

DEFAULT_MAX_TOKENS = 4096
# Complexity score assumed for a tier when the call carries no score.
TIER_SCORES = {"simple": 0.2, "moderate": 0.5, "complex": 0.85}


def _client_can_sample(client: Any) -> bool:
    if client is None:
        return False
    can_sample = getattr(client, "can_sample", False)
    return bool(can_sample() if callable(can_sample) else can_sample)


def model_preferences(
    model: str, hints: list[str], complexity_score: float | None, tier: str | None
) -> ModelPreferences:
    """``modelPreferences`` for one call: the chosen model first, priorities by complexity.

    :param model: the model the chain chose (the first hint).
    :param hints: the tier's ``claude_code_models``.
    :param complexity_score: 0 (simple) to 1 (complex); the tier's typical score if None.
    :param tier: the request's tier.
    """
    from mcp_types import ModelHint, ModelPreferences

    score = complexity_score if complexity_score is not None else TIER_SCORES.get(tier or "", 0.5)
    score = min(1.0, max(0.0, score))
    names = [model, *[h for h in hints if h != model]]
    return ModelPreferences(
        hints=[ModelHint(name=name) for name in names],
        cost_priority=round(1.0 - score, 2),
        speed_priority=round(1.0 - score, 2),
        intelligence_priority=round(score, 2),
    )


class ClientModelProvider:
    """Runs calls on the connected MCP client's model through ``sampling/createMessage``."""

    name = CLIENT_PROVIDER

    def __init__(self, config: Config):
        self.hints: dict[str, list[str]] = {
            tier: list(models) for tier, models in config.claude_code_models.items()
        }
        settings = config.providers.get(CLIENT_PROVIDER)
        options = settings.options if settings else {}
        self.default_max_tokens = int(options.get("max_tokens", DEFAULT_MAX_TOKENS))

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        """None while the connected client can sample; otherwise why not."""
        if client_can_sample:
            return None
        return "the MCP client did not offer sampling (no sampling capability)"

    def sampling_request(self, call: ProviderCall) -> CreateMessageRequestParams:
        """The ``sampling/createMessage`` parameters for ``call``, deterministic."""
        from mcp_types import CreateMessageRequestParams, SamplingMessage, TextContent

        messages = [
            SamplingMessage(role=m.role, content=TextContent(type="text", text=m.content))
            for m in call.messages
            if m.role in ("user", "assistant")
        ]
        return CreateMessageRequestParams(
            messages=messages,
            system_prompt=call.system or None,
            max_tokens=call.max_tokens or self.default_max_tokens,
            temperature=call.temperature,
            model_preferences=model_preferences(
                call.model.name,
                self.hints.get(call.tier or "", []),
                call.complexity_score,
                call.tier,
            ),
        )

    async def complete(self, call: ProviderCall) -> Completion:
        """Ask the client's model; the answer's cost is unknown here (None)."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import TextContent

        if not _client_can_sample(call.client):
            raise ProviderError(
                ErrorKind.UNAVAILABLE,
                "no connected MCP client that can sample",
                provider=self.name,
                model=call.model.name,
            )
        params = self.sampling_request(call)
        try:
            result = await call.client.sample(params)
        except SamplingUnavailableError as exc:
            raise ProviderError(
                ErrorKind.UNAVAILABLE, str(exc), provider=self.name, model=call.model.name
            ) from None
        except MCPError as exc:
            raise ProviderError(
                ErrorKind.AUTH,
                f"the client declined or failed the sampling request: {exc.error.message}",
                provider=self.name,
                model=call.model.name,
            ) from None
        content = result.content
        if not isinstance(content, TextContent):
            raise ProviderError(
                ErrorKind.TRANSIENT,
                f"the client's model answered with {content.type} content, not text",
                provider=self.name,
                model=call.model.name,
            )
        text = content.text
        user = " ".join(m.content for m in call.messages)
        return Completion(
            text=text,
            model=result.model or call.model.name,
            provider=self.name,
            input_tokens=estimate_tokens(call.system) + estimate_tokens(user),
            output_tokens=estimate_tokens(text),
            usage_estimated=True,
            cost_usd=None,
            finish_reason=result.stop_reason,
        )


@hookimpl
def plugin_settings() -> PluginSettings:
    """``providers.client.options`` (``max_tokens``), checked when the file loads."""
    return options_settings(CLIENT_PROVIDER, {"max_tokens": int})


@hookimpl(trylast=True)
def register_providers(register: Callable[[ClientModelProvider], None], config: Config) -> None:
    """Register the ``client`` provider (the MCP client's own model, through sampling)."""
    register(ClientModelProvider(config))
