"""Anthropic provider: Claude models through the official ``anthropic`` SDK (async client).

Serves ``providers.anthropic`` (key from ``ANTHROPIC_API_KEY`` or ``api_key_env``) and any
entry with ``type: anthropic`` (an Anthropic-compatible endpoint, which needs its own
``base_url`` and gets a key only from its own ``api_key_env``). The SDK's retries are off
(the host retries); every SDK error becomes a
:class:`~dynamic_orchestrator.errors.ProviderError` of the shared taxonomy: 529
``overloaded_error`` is transient, "credit balance is too low" is quota exhausted,
"prompt is too long" is a context overflow.

Options (``providers.<name>.options``): ``default_max_tokens`` — the ``max_tokens`` sent
when the request sets none (the Messages API requires one; default 4096).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import MessageEnd, PluginSettings, StreamEvent
from dynamic_orchestrator.errors import ProviderError
from dynamic_orchestrator.models import Completion, ToolCall, ToolSpec
from dynamic_orchestrator.provider_errors import http_error, transport_error
from dynamic_orchestrator.providers import (
    APIProvider,
    Provider,
    ProviderCall,
    close_providers,
    provider_entries,
)
from dynamic_orchestrator.streaming import Assembly, anthropic_messages, request_body

from .streaming import request_options, to_events

if TYPE_CHECKING:  # the SDK is imported when a client is built, not with the plugin
    import anthropic

__all__ = ["AnthropicProvider", "plugin_settings", "register_providers", "shutdown"]

DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider(APIProvider):
    """One Anthropic (or Anthropic-compatible) endpoint."""

    plugin = "anthropic"
    key_envs = ("ANTHROPIC_API_KEY",)
    default_base_url = "https://api.anthropic.com"
    sdk = "anthropic"
    install_hint = "pip install 'dynamic-orchestrator[anthropic]'"
    options: ClassVar[Mapping[str, type]] = {"default_max_tokens": int}

    def make_client(self, api_key: str | None, base_url: str | None) -> anthropic.AsyncAnthropic:
        """The async client with the SDK's retries off."""
        import anthropic

        client = anthropic.AsyncAnthropic(
            api_key=api_key or "unused",
            base_url=base_url,
            max_retries=0,
            timeout=self.settings.timeout,
        )
        _ = client.messages  # import the resource now, off the event loop
        return client

    async def close_client(self, client: Any) -> None:
        await client.close()

    def _request(self, call: ProviderCall) -> dict[str, Any]:
        parts = [call.system] if call.system else []
        parts += [m.content for m in call.messages if m.role == "system"]
        system = "\n\n".join(parts)
        request: dict[str, Any] = {
            "model": call.model.name,
            "max_tokens": call.max_tokens or self.option("default_max_tokens", DEFAULT_MAX_TOKENS),
            "messages": anthropic_messages(call.messages),
        }
        if system:
            request["system"] = system
        if call.temperature is not None:
            request["temperature"] = call.temperature
        if call.tools:
            request["tools"] = [_tool(t) for t in call.tools]
        return request

    def _error(self, exc: anthropic.APIError, model: str) -> ProviderError:
        """The SDK's HTTP status or transport error as the shared taxonomy's error."""
        import anthropic

        if isinstance(exc, anthropic.APIStatusError):
            return http_error(
                exc.status_code,
                exc.api_message or exc.message,
                provider=self.name,
                model=model,
                headers=exc.response.headers,
                code=exc.type,
            )
        return transport_error(exc, provider=self.name, model=model)

    async def complete(self, call: ProviderCall) -> Completion:
        """One Messages API call; SDK errors become :class:`ProviderError`."""
        import anthropic

        model = call.model.name
        client = await self.get_client()
        try:
            message = await client.messages.create(**self._request(call), timeout=call.timeout)
        except (
            anthropic.APIStatusError,
            anthropic.APITimeoutError,
            anthropic.APIConnectionError,
        ) as exc:
            raise self._error(exc, model) from None
        texts = [block.text for block in message.content if block.type == "text"]
        tool_calls = [
            ToolCall(id=block.id, name=block.name, arguments=_as_dict(block.input))
            for block in message.content
            if block.type == "tool_use"
        ]
        usage = message.usage
        cache_read = usage.cache_read_input_tokens or 0
        cache_write = usage.cache_creation_input_tokens or 0
        # Anthropic counts cached input apart; the total is what the prompt really was.
        input_tokens = usage.input_tokens + cache_read + cache_write
        return Completion(
            text="".join(texts) if texts else None,
            model=message.model or model,
            provider=self.name,
            input_tokens=input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=self.cost(
                call,
                input_tokens,
                usage.output_tokens,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
            ),
            tool_calls=tool_calls,
            finish_reason=message.stop_reason,
        )

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        """The answer as contract events; the request body goes upstream as it is."""
        import anthropic

        body = {**request_body(call), "model": call.model.name, "stream": True}
        body.setdefault("max_tokens", self.option("default_max_tokens", DEFAULT_MAX_TOKENS))
        model = call.model.name
        client = await self.get_client()
        assembly = Assembly()
        cache: dict[str, int] = {}
        try:
            raw = await client.post(
                "/v1/messages",
                cast_to=object,
                body=body,
                options=request_options(call),
                stream=True,
                stream_cls=anthropic.AsyncStream[object],
            )
            async for event in to_events(raw, self.name, cache):
                assembly.add(event)
                yield event
        except (
            anthropic.APIStatusError,
            anthropic.APITimeoutError,
            anthropic.APIConnectionError,
        ) as exc:
            raise self._error(exc, model) from None
        cost = self.cost(
            call,
            assembly.input_tokens or 0,
            assembly.output_tokens or 0,
            cache_read_tokens=cache.get("read", 0),
            cache_write_tokens=cache.get("write", 0),
        )
        yield MessageEnd(
            assembly.finish(model=assembly.model or model, provider=self.name, cost_usd=cost)
        )


def _tool(tool: ToolSpec) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": tool.name,
        "input_schema": tool.input_schema or {"type": "object", "properties": {}},
    }
    if tool.description:
        spec["description"] = tool.description
    return spec


def _as_dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {"_raw": value}


@hookimpl
def plugin_settings() -> PluginSettings:
    """``providers.<name>.options`` of each ``anthropic``-type provider, checked by name."""
    return AnthropicProvider.declared_settings()


@hookimpl(trylast=True)
def register_providers(register: Any, config: Config) -> None:
    """Register ``anthropic`` and every ``type: anthropic`` entry of ``providers``."""
    for name, _ in provider_entries(config, AnthropicProvider.plugin):
        provider: Provider = AnthropicProvider(name, config)
        register(provider)


@hookimpl
def shutdown(orchestrator: Any) -> Any:
    """Close the SDK clients this plugin opened."""
    return close_providers(orchestrator.providers, AnthropicProvider)
