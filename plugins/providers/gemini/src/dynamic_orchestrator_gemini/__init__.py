"""Gemini provider: Gemini models through the official ``google-genai`` SDK (``client.aio``).

Serves ``providers.gemini`` (key from ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``, or
``api_key_env``) and any entry with ``type: gemini``. The key travels in the
``x-goog-api-key`` header, never in a URL. The SDK retries nothing (no ``retry_options``);
the host retries. Every SDK error becomes a
:class:`~dynamic_orchestrator.errors.ProviderError` of the shared taxonomy: a 429 with a
per-day ``QuotaFailure`` is quota exhausted, otherwise rate limited with the delay of its
``RetryInfo``; a timeout or a failed connection (httpx's errors, or aiohttp's when it is
installed, which the SDK then uses) is transient. Output tokens include thinking tokens,
which Google bills as output.

Options (``providers.<name>.options``): ``api_version`` (``v1``, ``v1beta``; default: the
SDK's).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
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

from .streaming import to_config, to_contents, to_events

if TYPE_CHECKING:  # the SDK is imported when a client is built, not with the plugin
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types

__all__ = ["GeminiProvider", "plugin_settings", "register_providers", "shutdown"]

_SIGNATURES_KEPT = 1024


class GeminiProvider(APIProvider):
    """One Gemini API endpoint."""

    plugin = "gemini"
    key_envs = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    default_base_url = "https://generativelanguage.googleapis.com/"
    sdk = "google.genai"
    install_hint = "pip install 'dynamic-orchestrator[gemini]'"
    prices_id = "google"  # genai-prices lists Gemini models under Google
    options: ClassVar[Mapping[str, type]] = {"api_version": str}

    def __init__(self, name: str, config: Config) -> None:
        super().__init__(name, config)
        # Gemini 3 wants each function call's thought signature back in the next turn;
        # the common ToolCall shape has no room for it, so it is kept here by call id.
        self._signatures: OrderedDict[str, bytes] = OrderedDict()

    def make_client(self, api_key: str | None, base_url: str | None) -> genai.Client:
        """The client (its ``aio`` side is used), with no SDK retries."""
        from google import genai
        from google.genai import types

        options = types.HttpOptions(
            base_url=base_url,
            api_version=self.option("api_version", None),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        client = genai.Client(api_key=api_key or "unused", vertexai=False, http_options=options)
        _ = client.aio.models  # import the async side now, off the event loop
        return client

    async def close_client(self, client: Any) -> None:
        await client.aio.aclose()
        client.close()

    def _config(self, call: ProviderCall) -> types.GenerateContentConfig:
        from google.genai import types

        parts = [call.system] if call.system else []
        parts += [m.content for m in call.messages if m.role == "system"]
        system = "\n\n".join(parts)
        config = types.GenerateContentConfig(
            system_instruction=system or None,
            max_output_tokens=call.max_tokens,
            temperature=call.temperature,
            http_options=types.HttpOptions(timeout=max(1, int(call.timeout * 1000))),
        )
        if call.tools:
            config.tools = [types.Tool(function_declarations=[_declaration(t) for t in call.tools])]
            config.automatic_function_calling = types.AutomaticFunctionCallingConfig(disable=True)
        return config

    async def complete(self, call: ProviderCall) -> Completion:
        """One ``generateContent`` call; SDK errors become :class:`ProviderError`."""
        from google.genai import errors as genai_errors

        model = call.model.name
        client = await self.get_client()
        try:
            response = await client.aio.models.generate_content(
                model=model, contents=self._contents(call.messages), config=self._config(call)
            )
        except genai_errors.APIError as exc:
            raise _api_error(exc, self.name, model) from None
        except _transport_errors() as exc:
            raise transport_error(exc, provider=self.name, model=model) from None
        return self._completion(response, call)

    def _completion(
        self, response: types.GenerateContentResponse, call: ProviderCall
    ) -> Completion:
        """The common completion from a ``generateContent`` answer."""
        model = call.model.name
        candidate = response.candidates[0] if response.candidates else None
        if candidate is None:
            feedback = response.prompt_feedback
            reason = feedback.block_reason if feedback else None
            if reason is not None:
                raise ProviderError(
                    ErrorKind.UNAVAILABLE,
                    f"Gemini blocked the prompt ({_name(reason)})",
                    provider=self.name,
                    model=model,
                )
            raise ProviderError(
                ErrorKind.TRANSIENT, "the answer has no candidates", provider=self.name, model=model
            )
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        texts = [p.text for p in parts if p.text is not None and not p.thought]
        tool_calls = []
        for part in parts:
            if part.function_call is None:
                continue
            call_id = part.function_call.id or f"call_{uuid.uuid4().hex[:16]}"
            if part.thought_signature:
                self._remember(call_id, part.thought_signature)
            tool_calls.append(
                ToolCall(
                    id=call_id,
                    name=part.function_call.name or "",
                    arguments=dict(part.function_call.args or {}),
                )
            )
        usage = response.usage_metadata
        if usage is not None and usage.prompt_token_count is not None:
            input_tokens = usage.prompt_token_count + (usage.tool_use_prompt_token_count or 0)
            output_tokens = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
            cached = usage.cached_content_token_count or 0
            estimated = False
        else:
            input_tokens = estimate_tokens(call.system) + sum(
                estimate_tokens(m.content) for m in call.messages
            )
            output_tokens = estimate_tokens("".join(texts))
            cached, estimated = 0, True
        return Completion(
            text="".join(texts) if texts else None,
            model=response.model_version or model,
            provider=self.name,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            usage_estimated=estimated,
            cost_usd=self.cost(call, input_tokens, output_tokens, cache_read_tokens=cached),
            tool_calls=tool_calls,
            finish_reason=_name(candidate.finish_reason) if candidate.finish_reason else None,
        )

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        """The answer as contract events, from ``streamGenerateContent``."""
        from google.genai import errors as genai_errors

        body = request_body(call)
        model = call.model.name
        client = await self.get_client()
        assembly = Assembly()
        try:
            responses = await client.aio.models.generate_content_stream(
                model=model,
                contents=to_contents(body, self._signatures.get),
                config=to_config(body, call.timeout),
            )
            async for event in to_events(responses, model, self.name, self._remember):
                assembly.add(event)
                yield event
        except genai_errors.APIError as exc:
            raise _api_error(exc, self.name, model) from None
        except _transport_errors() as exc:
            raise transport_error(exc, provider=self.name, model=model) from None
        estimated = assembly.input_tokens is None
        if estimated:
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

    def _remember(self, call_id: str, signature: bytes) -> None:
        self._signatures[call_id] = signature
        while len(self._signatures) > _SIGNATURES_KEPT:
            self._signatures.popitem(last=False)

    def _contents(self, messages: list[ChatMessage]) -> list[types.Content]:
        """Chat messages as Gemini contents; tool results name the function they answer."""
        from google.genai import types

        names = {c.id: c.name for m in messages for c in m.tool_calls}
        contents: list[types.Content] = []
        for message in messages:
            if message.role == "system":
                continue
            if message.role == "tool":
                call_id = message.tool_call_id or ""
                response = types.FunctionResponse(
                    name=names.get(call_id, call_id), response={"result": message.content}
                )
                part = types.Part(function_response=response)
                last = contents[-1] if contents else None
                if last and last.role == "user" and last.parts and last.parts[-1].function_response:
                    last.parts.append(part)
                else:
                    contents.append(types.Content(role="user", parts=[part]))
                continue
            parts: list[types.Part] = []
            if message.content:
                parts.append(types.Part(text=message.content))
            for call in message.tool_calls:
                parts.append(
                    types.Part(
                        function_call=types.FunctionCall(name=call.name, args=dict(call.arguments)),
                        thought_signature=self._signatures.get(call.id),
                    )
                )
            role = "model" if message.role == "assistant" else "user"
            contents.append(types.Content(role=role, parts=parts or [types.Part(text="")]))
        return contents


def _declaration(tool: ToolSpec) -> types.FunctionDeclaration:
    from google.genai import types

    return types.FunctionDeclaration(
        name=tool.name,
        description=tool.description or None,
        parameters_json_schema=tool.input_schema or {"type": "object", "properties": {}},
    )


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))


def _api_error(exc: genai_errors.APIError, provider: str, model: str) -> ProviderError:
    body: dict[str, Any] = exc.details if isinstance(exc.details, dict) else {}
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    details = error.get("details") if isinstance(error.get("details"), list) else []
    response = exc.response
    headers = getattr(response, "headers", None)
    return http_error(
        exc.code,
        exc.message or str(exc.status or ""),
        provider=provider,
        model=model,
        headers=headers,
        code=exc.status,
        details=details,
    )


@hookimpl
def plugin_settings() -> PluginSettings:
    """``providers.<name>.options`` of each ``gemini``-type provider, checked by name."""
    return GeminiProvider.declared_settings()


@hookimpl(trylast=True)
def register_providers(register: Any, config: Config) -> None:
    """Register ``gemini`` and every ``type: gemini`` entry of ``providers``."""
    for name, _ in provider_entries(config, GeminiProvider.plugin):
        provider: Provider = GeminiProvider(name, config)
        register(provider)


@hookimpl
def shutdown(orchestrator: Any) -> Any:
    """Close the SDK clients this plugin opened."""
    return close_providers(orchestrator.providers, GeminiProvider)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What the SDK's transport raises for a timeout or a failed connection: httpx's errors,
    or aiohttp's when aiohttp is installed (google-genai then makes its async calls with it,
    and a timeout is a bare ``TimeoutError``)."""
    import httpx2

    errors: tuple[type[BaseException], ...] = (httpx2.TransportError, TimeoutError)
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp comes with the openai plugin
        return errors
    return (*errors, aiohttp.ClientError)
