"""The client-model provider, asking a real SDK client through a real MCP connection."""

from __future__ import annotations

from typing import Any

import mcp_types as t
import pytest
from dynamic_orchestrator.catalog import CLIENT_PROVIDER, ModelInfo
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import POLICIES, ErrorKind, ProviderError
from dynamic_orchestrator.models import ChatMessage, Completion
from dynamic_orchestrator.orchestrator import Orchestrator
from dynamic_orchestrator.plugins import make_plugin_manager
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_client_model import ClientModelProvider, model_preferences
from dynamic_orchestrator_mcp_server.sampling import McpClientConnection
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

PROVIDER = ClientModelProvider(Config())
HAIKU = ModelInfo(name="claude-haiku-4-5", provider=CLIENT_PROVIDER)


def call(client: Any = None, **changes: Any) -> ProviderCall:
    fields: dict[str, Any] = {
        "model": HAIKU,
        "system": "Answer in one line.",
        "messages": [ChatMessage(role="user", content="Where is the JWT secret loaded from?")],
        "tier": "simple",
        "complexity_score": 0.1,
        "client": client,
    }
    fields.update(changes)
    return ProviderCall(**fields)


class Outcome(BaseModel):
    completion: Completion | None = None
    kind: str | None = None
    error: str | None = None
    can_sample: bool


def server_running_the_provider() -> MCPServer[Any]:
    """A server whose one tool runs the provider on its caller's connection."""
    server: MCPServer[Any] = MCPServer("provider-under-test", log_level="WARNING")

    @server.tool()
    async def ask(ctx: Context[Any, Any], planning: bool = False) -> Outcome:
        connection = McpClientConnection(ctx, planning=planning)
        try:
            completion = await PROVIDER.complete(call(connection))
        except ProviderError as exc:
            return Outcome(kind=exc.kind.value, error=str(exc), can_sample=connection.can_sample)
        return Outcome(completion=completion, can_sample=connection.can_sample)

    return server


def answering(content: Any, seen: list[t.CreateMessageRequestParams] | None = None) -> Any:
    async def sampler(
        context: Any, params: t.CreateMessageRequestParams
    ) -> t.CreateMessageResult | t.ErrorData:
        if seen is not None:
            seen.append(params)
        if isinstance(content, t.ErrorData):
            return content
        return t.CreateMessageResult(role="assistant", content=content, model="client-llm")

    return sampler


async def ask(sampler: Any, mode: str = "legacy", *, planning: bool = False) -> Outcome:
    async with Client(server_running_the_provider(), mode=mode, sampling_callback=sampler) as c:
        result = await c.call_tool("ask", {"planning": planning})
    assert not result.is_error, result.content
    return Outcome.model_validate(result.structured_content)


async def test_a_text_answer_is_a_completion_whose_cost_is_unknown() -> None:
    seen: list[t.CreateMessageRequestParams] = []
    outcome = await ask(answering(t.TextContent(type="text", text="In config.py."), seen))
    completion = outcome.completion
    assert completion is not None and outcome.can_sample
    assert completion.text == "In config.py."
    assert (completion.provider, completion.model) == (CLIENT_PROVIDER, "client-llm")
    assert completion.cost_usd is None and completion.usage_estimated
    assert completion.input_tokens > 0 and completion.output_tokens > 0
    [params] = seen
    assert params.system_prompt == "Answer in one line."
    assert params.messages[0].content.text == "Where is the JWT secret loaded from?"  # type: ignore[union-attr]
    assert params.max_tokens == 4096


async def test_a_refusal_is_a_failed_attempt_not_retried() -> None:
    refusal = t.ErrorData(code=-1, message="User rejected sampling request")
    outcome = await ask(answering(refusal))
    assert outcome.kind == ErrorKind.AUTH.value
    assert outcome.error is not None and "User rejected sampling request" in outcome.error
    policy = POLICIES[ErrorKind.AUTH]
    assert not policy.retry and policy.fallback and not policy.counts_against_breaker


async def test_an_image_answer_is_an_error() -> None:
    image = t.ImageContent(type="image", data="aGk=", mime_type="image/png")
    outcome = await ask(answering(image))
    assert outcome.kind == ErrorKind.TRANSIENT.value
    assert outcome.error is not None and "image content, not text" in outcome.error


async def test_without_sampling_it_steps_aside() -> None:
    outcome = await ask(None)
    assert outcome.kind == ErrorKind.UNAVAILABLE.value and not outcome.can_sample
    assert PROVIDER.unavailable_reason(HAIKU, client_can_sample=False) == (
        "the MCP client did not offer sampling (no sampling capability)"
    )
    assert PROVIDER.unavailable_reason(HAIKU, client_can_sample=True) is None


async def test_on_2026_a_request_not_asked_ahead_steps_aside() -> None:
    answer = answering(t.TextContent(type="text", text="x"))
    outcome = await ask(answer, mode="2026-07-28")
    assert not outcome.can_sample, "nothing was asked ahead, so the chain leaves it out"
    assert outcome.kind == ErrorKind.UNAVAILABLE.value
    planned = await ask(answer, mode="2026-07-28", planning=True)
    assert planned.can_sample, "for planning, a declared capability is enough"
    assert planned.kind == ErrorKind.UNAVAILABLE.value
    assert planned.error is not None and "asked before the pipeline runs" in planned.error


def test_preferences_follow_the_complexity() -> None:
    simple = PROVIDER.sampling_request(call(complexity_score=0.1)).model_preferences
    complex_ = PROVIDER.sampling_request(
        call(
            model=ModelInfo(name="claude-opus-4-6", provider=CLIENT_PROVIDER),
            tier="complex",
            complexity_score=0.9,
        )
    ).model_preferences
    assert simple is not None and complex_ is not None
    assert [h.name for h in simple.hints or []] == ["claude-haiku-4-5"]
    assert [h.name for h in complex_.hints or []] == ["claude-opus-4-6"]
    assert simple.cost_priority == 0.9 and simple.speed_priority == 0.9
    assert simple.intelligence_priority == 0.1
    assert complex_.intelligence_priority == 0.9 and complex_.cost_priority == 0.1
    tiered = model_preferences("b", ["a", "b", "c"], None, "moderate")
    assert [h.name for h in tiered.hints or []] == ["b", "a", "c"]
    assert tiered.intelligence_priority == 0.5


def test_the_request_is_deterministic_and_honours_settings() -> None:
    assert PROVIDER.sampling_request(call()) == PROVIDER.sampling_request(call())
    assert PROVIDER.sampling_request(call(max_tokens=77, temperature=0.3)).max_tokens == 77
    configured = ClientModelProvider(
        Config.model_validate({"providers": {"client": {"options": {"max_tokens": 512}}}})
    )
    assert configured.sampling_request(call()).max_tokens == 512


@pytest.mark.parametrize("strict", [False, True])
async def test_the_entry_point_registers_the_client_provider(strict: bool) -> None:
    pm = make_plugin_manager(strict=strict)
    assert pm.get_plugin("client-model") is not None
    async with Orchestrator(Config(), plugin_manager=pm) as orch:
        assert isinstance(orch.providers[CLIENT_PROVIDER], ClientModelProvider)
