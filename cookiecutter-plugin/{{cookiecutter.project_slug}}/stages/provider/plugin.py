"""{{ cookiecutter.description }}

A provider (hook ``register_providers``) for an OpenAI-compatible chat-completions
endpoint, over HTTP with httpx2. Configure it in the ``providers`` section::

    providers:
      {{ cookiecutter.entry_point }}:
        base_url: http://127.0.0.1:8000/v1     # required
        api_key_env: {{ cookiecutter.entry_point|upper }}_API_KEY   # the default
        models: [house-model]                  # the models it serves
    models:
      house-model: {input_price_per_mtok: 0.10, output_price_per_mtok: 0.40}

The host calls the provider's ``complete`` once per try. Every
failure becomes a :class:`~dynamic_orchestrator.errors.ProviderError` whose kind tells the
host what to do (retry, fall back, count against a breaker); the provider never retries
itself. The key is read from the environment only, and never appears in an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Self

import httpx2
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import ErrorKind, ProviderError
from dynamic_orchestrator.models import Completion, ToolCall
from dynamic_orchestrator.providers import Provider, ProviderCall, read_api_key
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


class {{ cookiecutter.class_prefix }}Provider:
    """Runs model calls on an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(
        self,
        name: str = NAME,
        *,
        base_url: str | None,
        api_key: str | None,
        key_env: str = DEFAULT_KEY_ENV,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/") if base_url else None
        self._api_key = api_key
        self.key_env = key_env

    @classmethod
    def from_config(cls, config: Config, name: str = NAME) -> Self:
        """The provider as ``providers.<name>`` configures it, its key from the environment."""
        settings = config.providers.get(name)
        key, env = read_api_key(config, name, (DEFAULT_KEY_ENV,))
        return cls(name, base_url=settings.base_url if settings else None, api_key=key, key_env=env)

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        """None when calls can be made; otherwise what to configure."""
        if not self.base_url:
            return f"set providers.{self.name}.base_url"
        if not self._api_key:
            return f"no API key: set {self.key_env}"
        return None

    async def complete(self, call: ProviderCall) -> Completion:
        """One chat completion; raises :class:`ProviderError` on any failure."""
        model = call.model.name
        if not self.base_url or not self._api_key:
            raise ProviderError(
                ErrorKind.UNAVAILABLE,
                self.unavailable_reason(call.model) or "not configured",
                provider=self.name,
                model=model,
            )
        try:
            async with httpx2.AsyncClient(timeout=call.timeout) as client:
                response = await client.post(
                    f"{self.base_url}/chat/completions",
                    json=request_body(call),
                    headers={"Authorization": f"Bearer {self._api_key}"},
                )
        except httpx2.TimeoutException:
            raise ProviderError(
                ErrorKind.TRANSIENT,
                f"no answer within {call.timeout:g}s",
                provider=self.name,
                model=model,
            ) from None
        except httpx2.TransportError as exc:
            raise ProviderError(
                ErrorKind.TRANSIENT,
                f"cannot reach {self.base_url}: {type(exc).__name__}",
                provider=self.name,
                model=model,
            ) from None
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
    status = response.status_code
    try:
        detail = response.json().get("error") or {}
    except (ValueError, AttributeError):
        detail = {}
    if not isinstance(detail, dict):
        detail = {"message": str(detail)}
    code = str(detail.get("code") or detail.get("type") or "")
    message = str(detail.get("message") or response.reason_phrase or f"HTTP {status}")
    if status == 429:
        kind = ErrorKind.QUOTA_EXHAUSTED if code == "insufficient_quota" else ErrorKind.RATE_LIMITED
    elif status in (401, 403):
        kind = ErrorKind.AUTH
    elif status == 404:
        kind = ErrorKind.MODEL_NOT_FOUND
    elif status in (408, 409) or status >= 500:
        kind = ErrorKind.TRANSIENT
    elif "context_length" in code:
        kind = ErrorKind.CONTEXT_OVERFLOW
    else:
        kind = ErrorKind.BAD_REQUEST
    return ProviderError(
        kind,
        message,
        provider=provider,
        model=model,
        status_code=status,
        retry_after=_seconds(response.headers.get("retry-after")),
    )


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: let the host use its own backoff


@hookimpl
def register_providers(register: Callable[[Provider], None], config: Config) -> None:
    """Register the provider; it is usable once its base_url and key are set."""
    register({{ cookiecutter.class_prefix }}Provider.from_config(config))
