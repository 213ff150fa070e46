"""OpenAI provider: chat completions through the official ``openai`` SDK (async client).

Serves ``providers.openai`` (key from ``OPENAI_API_KEY`` or ``api_key_env``) and every
entry with ``type: openai``, each under its own name: an OpenAI-compatible endpoint such
as vLLM, Ollama, LM Studio or OpenRouter::

    providers:
      ollama: {type: openai, base_url: "http://127.0.0.1:11434/v1", models: [llama3.1]}
      openrouter:
        type: openai
        base_url: https://openrouter.ai/api/v1
        api_key_env: OPENROUTER_API_KEY
        models: [meta-llama/llama-3.1-70b-instruct]

A compatible endpoint gets a key only from its own ``api_key_env``, never the OpenAI key.
The SDK's retries are off (the host retries); every SDK error becomes a
:class:`~dynamic_orchestrator.errors.ProviderError` of the shared taxonomy.

Options (``providers.<name>.options``): ``max_tokens_field`` — ``max_completion_tokens``
(default for OpenAI itself) or ``max_tokens`` (default for compatible endpoints).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import MessageEnd, PluginSettings, StreamEvent
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import ChatMessage, Completion, ToolCall, ToolSpec
from dynamic_orchestrator.provider_errors import http_error, transport_error
from dynamic_orchestrator.providers import (
    APIProvider,
    Provider,
    ProviderCall,
    close_providers,
    provider_entries,
)
from dynamic_orchestrator.streaming import Assembly, request_body
from dynamic_orchestrator.tokens import estimate_json_tokens, estimate_tokens

from .streaming import to_events, to_request
from .wire import Wire, wire_for

if TYPE_CHECKING:  # the SDK is imported when a client is built, not with the plugin
    import openai

__all__ = ["OpenAIProvider", "plugin_settings", "register_providers", "shutdown"]


class OpenAIProvider(APIProvider):
    """One OpenAI or OpenAI-compatible endpoint."""

    plugin = "openai"
    key_envs = ("OPENAI_API_KEY",)
    default_base_url = "https://api.openai.com/v1"
    sdk = "openai"
    install_hint = "pip install 'dynamic-orchestrator[openai]'"
    options: ClassVar[Mapping[str, type]] = {"max_tokens_field": str}
    _wire: Wire | None = None

    def make_client(self, api_key: str | None, base_url: str | None) -> openai.AsyncOpenAI:
        """The async client, SDK retries off; a keyless compatible endpoint gets a dummy key."""
        import openai

        client = openai.AsyncOpenAI(
            api_key=api_key or "unused",
            base_url=base_url,
            max_retries=0,
            timeout=self.settings.timeout,
        )
        _ = client.chat.completions  # import the resource now, off the event loop
        self._wire = wire_for(client)
        return client

    async def close_client(self, client: Any) -> None:
        wire = self._wire
        if wire is not None:
            await wire.aclose()
        await client.close()

    def _request(self, call: ProviderCall) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if call.system:
            messages.append({"role": "system", "content": call.system})
        messages += [_message(m) for m in call.messages]
        request: dict[str, Any] = {"model": call.model.name, "messages": messages}
        if call.max_tokens:
            default_field = "max_tokens" if self.compatible else "max_completion_tokens"
            request[self.option("max_tokens_field", default_field)] = call.max_tokens
        if call.temperature is not None:
            request["temperature"] = call.temperature
        if call.tools:
            request["tools"] = [_tool(t) for t in call.tools]
        return request

    async def complete(self, call: ProviderCall) -> Completion:
        """One chat completion; SDK errors become :class:`ProviderError`."""
        import openai

        model = call.model.name
        client = await self.get_client()
        try:
            response = await client.chat.completions.create(
                **self._request(call), timeout=call.timeout
            )
        except openai.APIStatusError as exc:
            raise http_error(
                exc.status_code,
                _error_message(exc),
                provider=self.name,
                model=model,
                headers=exc.response.headers,
                code=exc.code or exc.type,
            ) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise transport_error(exc, provider=self.name, model=model) from None
        if not response.choices:
            raise ProviderError(
                ErrorKind.TRANSIENT, "the answer has no choices", provider=self.name, model=model
            )
        choice = response.choices[0]
        message = choice.message
        tool_calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=_arguments(c.function.arguments))
            for c in message.tool_calls or []
            if c.type == "function"
        ]
        usage = response.usage
        if usage is not None:
            input_tokens, output_tokens = usage.prompt_tokens, usage.completion_tokens
            details = usage.prompt_tokens_details
            cached = (details.cached_tokens or 0) if details else 0
            estimated = False
        else:  # some compatible servers report no usage
            input_tokens = estimate_tokens(call.system) + sum(
                estimate_tokens(m.content) for m in call.messages
            )
            output_tokens = estimate_tokens(message.content or "")
            cached, estimated = 0, True
        return Completion(
            text=message.content,
            model=response.model or model,
            provider=self.name,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            usage_estimated=estimated,
            cost_usd=self.cost(call, input_tokens, output_tokens, cache_read_tokens=cached),
            tool_calls=tool_calls,
            finish_reason=choice.finish_reason,
        )

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        """The answer as contract events, from a streamed chat completion."""
        import openai

        default_field = "max_tokens" if self.compatible else "max_completion_tokens"
        body = request_body(call)
        model = call.model.name
        request = to_request(body, model, self.option("max_tokens_field", default_field))
        client = await self.get_client()
        wire = self._wire
        assembly = Assembly()
        try:
            raw: AsyncIterator[Any]
            if wire is not None:  # the pooled session: the same request, less CPU per call
                raw = wire.chunks(request, call.timeout)
            else:
                raw = await client.post(
                    "/chat/completions",
                    cast_to=object,
                    body=request,
                    options={"timeout": call.timeout},
                    stream=True,
                    stream_cls=openai.AsyncStream[object],
                )
            async for event in to_events(raw, self.name):
                assembly.add(event)
                yield event
        except openai.APIStatusError as exc:
            raise http_error(
                exc.status_code,
                _error_message(exc),
                provider=self.name,
                model=model,
                headers=exc.response.headers,
                code=exc.code or exc.type,
            ) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise transport_error(exc, provider=self.name, model=model) from None
        except openai.APIError as exc:  # an error chunk in the middle of the stream
            raise ProviderError(
                ErrorKind.TRANSIENT, exc.message, provider=self.name, model=model
            ) from None
        estimated = assembly.input_tokens is None
        if estimated:  # some compatible servers report no usage
            assembly.input_tokens = estimate_json_tokens(body)
            assembly.output_tokens = estimate_tokens(assembly.text)
        in_tokens, out_tokens = assembly.input_tokens or 0, assembly.output_tokens or 0
        yield MessageEnd(
            assembly.finish(
                model=assembly.model or model,
                provider=self.name,
                cost_usd=self.cost(call, in_tokens, out_tokens),
                usage_estimated=estimated,
            )
        )


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    return out


def _tool(tool: ToolSpec) -> dict[str, Any]:
    parameters = tool.input_schema or {"type": "object", "properties": {}}
    function: dict[str, Any] = {"name": tool.name, "parameters": parameters}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _arguments(raw: str | None) -> dict[str, Any]:
    """A tool call's JSON arguments; text that is not a JSON object is kept under ``_raw``."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


@hookimpl
def plugin_settings() -> PluginSettings:
    """``providers.<name>.options`` of each ``openai``-type provider, checked by name."""
    return OpenAIProvider.declared_settings()


@hookimpl(trylast=True)
def register_providers(register: Any, config: Config) -> None:
    """Register ``openai`` and every ``type: openai`` entry of ``providers``."""
    for name, _ in provider_entries(config, OpenAIProvider.plugin):
        provider: Provider = OpenAIProvider(name, config)
        register(provider)


@hookimpl
def shutdown(orchestrator: Any) -> Any:
    """Close the SDK clients this plugin opened."""
    return close_providers(orchestrator.providers, OpenAIProvider)
