"""{{ cookiecutter.description }}

A provider (hook ``register_providers``) for an OpenAI-compatible chat-completions
endpoint, over HTTP with httpx2, built on the host's
:class:`~dynamic_orchestrator.providers.APIProvider` like the bundled providers.
Configure it in the ``providers`` section::

    providers:
      {{ cookiecutter.entry_point }}:
        base_url: http://127.0.0.1:8000/v1     # required
        api_key_env: {{ cookiecutter.entry_point|upper }}_API_KEY   # the default
        models: [house-model]                  # the models it serves
    models:
      house-model: {input_price_per_mtok: 0.10, output_price_per_mtok: 0.40}

The base class reads the key from the environment only (registered for redaction), takes
``base_url`` from config, says what is missing before a call is tried, and builds the
client once, in a worker thread. The host calls ``complete`` once per try. Every failure
becomes a :class:`~dynamic_orchestrator.errors.ProviderError` whose kind tells the host
what to do (retry, fall back, count against a breaker); the provider never retries itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import Completion, ToolCall
from dynamic_orchestrator.provider_errors import http_error, transport_error
from dynamic_orchestrator.providers import APIProvider, Provider, ProviderCall
from dynamic_orchestrator.tokens import estimate_tokens

__all__ = [
    "DEFAULT_KEY_ENV",
    "NAME",
    "{{ cookiecutter.class_prefix }}Provider",
    "register_providers",
]

NAME = "{{ cookiecutter.entry_point }}"
"""The provider's name: models with this provider in the catalog are sent here."""

DEFAULT_KEY_ENV = "{{ cookiecutter.entry_point|upper }}_API_KEY"


class {{ cookiecutter.class_prefix }}Provider(APIProvider):
    """Runs model calls on an OpenAI-compatible ``/chat/completions`` endpoint."""

    plugin = NAME
    key_envs = (DEFAULT_KEY_ENV,)
    default_base_url = None  # no public endpoint: providers.<name>.base_url is required
    sdk = "httpx2"

    def make_client(self, api_key: str | None, base_url: str | None) -> httpx2.AsyncClient:
        """An HTTP client for the endpoint, sending the key as a bearer token."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx2.AsyncClient(base_url=(base_url or "").rstrip("/"), headers=headers)

    async def close_client(self, client: Any) -> None:
        await client.aclose()

    async def complete(self, call: ProviderCall) -> Completion:
        """One chat completion; raises :class:`ProviderError` on any failure."""
        model = call.model.name
        missing = self.missing
        if missing:
            raise ProviderError(ErrorKind.UNAVAILABLE, missing, provider=self.name, model=model)
        client = await self.get_client()
        try:
            response = await client.post(
                "/chat/completions", json=request_body(call), timeout=call.timeout
            )
        except httpx2.TransportError as exc:  # timeouts included
            raise transport_error(exc, provider=self.name, model=model) from None
        if response.status_code >= 400:
            raise error_for(response, self.name, model)
        try:
            return completion_from(response.json(), self.name, model, call)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(
                ErrorKind.TRANSIENT,
                f"malformed response: {type(exc).__name__}: {exc}",
                provider=self.name,
                model=model,
            ) from None


def request_body(call: ProviderCall) -> dict[str, Any]:
    """The chat-completions request for ``call``: messages, tools and limits."""
    messages: list[dict[str, Any]] = []
    if call.system:
        messages.append({"role": "system", "content": call.system})
    for message in call.messages:
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_call_id:
            item["tool_call_id"] = message.tool_call_id
        if message.tool_calls:
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in message.tool_calls
            ]
        messages.append(item)
    body: dict[str, Any] = {"model": call.model.name, "messages": messages}
    if call.max_tokens is not None:
        body["max_tokens"] = call.max_tokens
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema or {"type": "object", "properties": {}},
                },
            }
            for t in call.tools
        ]
    return body


def completion_from(
    data: dict[str, Any], provider: str, model: str, call: ProviderCall
) -> Completion:
    """The host's :class:`Completion` from a chat-completions response."""
    choice = data["choices"][0]
    message = choice["message"]
    calls = [
        ToolCall(
            id=c["id"],
            name=c["function"]["name"],
            arguments=json.loads(c["function"].get("arguments") or "{}"),
        )
        for c in message.get("tool_calls") or []
    ]
    text = message.get("content")
    usage = data.get("usage")
    if usage:
        input_tokens, output_tokens = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
    else:  # no usage reported: estimate, and say so
        sent = call.system + "".join(m.content for m in call.messages)
        input_tokens, output_tokens = estimate_tokens(sent), estimate_tokens(text or "")
    return Completion(
        text=text,
        model=data.get("model") or model,
        provider=provider,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usage_estimated=not usage,
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
    )


def error_for(response: httpx2.Response, provider: str, model: str) -> ProviderError:
    """The :class:`ProviderError` for an HTTP error response, by status and error code."""
    try:
        detail = response.json().get("error") or {}
    except (ValueError, AttributeError):
        detail = {}
    if not isinstance(detail, dict):
        detail = {"message": str(detail)}
    code = str(detail.get("code") or detail.get("type") or "") or None
    status = response.status_code
    message = str(detail.get("message") or response.reason_phrase or f"HTTP {status}")
    return http_error(
        status, message, provider=provider, model=model, headers=response.headers, code=code
    )


@hookimpl
def register_providers(register: Callable[[Provider], None], config: Config) -> None:
    """Register the provider; it is usable once its base_url and key are set."""
    register({{ cookiecutter.class_prefix }}Provider(NAME, config))
