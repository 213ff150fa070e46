"""The one mapping from provider answers to error kinds, and Retry-After parsing."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, ClassVar

import pytest
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.errors import ErrorKind, ProviderError, register_secret
from dynamic_orchestrator.provider_errors import (
    classify_status,
    http_error,
    parse_retry_after,
    retry_delay_from_details,
    transport_error,
)
from dynamic_orchestrator.providers import APIProvider, missing_provider_reason, provider_entries
from dynamic_orchestrator_testing.fakes import EchoProvider

QUOTA_PER_DAY = {
    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
    "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}],
}
QUOTA_PER_MINUTE = {
    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
    "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}],
}
RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37.5s"}


@pytest.mark.parametrize(
    ("status", "message", "code", "details", "kind"),
    [
        (429, "Rate limit reached for gpt-4o-mini", "rate_limit_exceeded", None, "rate_limited"),
        (
            429,
            "You exceeded your current quota, check billing",
            "insufficient_quota",
            None,
            "quota_exhausted",
        ),
        (
            429,
            "Resource has been exhausted",
            "RESOURCE_EXHAUSTED",
            [QUOTA_PER_MINUTE, RETRY_INFO],
            "rate_limited",
        ),
        # Google's per-minute limit says "quota" and "billing" too; only the quota id tells.
        (
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            None,
            [QUOTA_PER_MINUTE],
            "rate_limited",
        ),
        (
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            None,
            [QUOTA_PER_DAY],
            "quota_exhausted",
        ),
        (
            400,
            "Your credit balance is too low to access the Anthropic API.",
            "invalid_request_error",
            None,
            "quota_exhausted",
        ),
        (402, "Payment required", None, None, "quota_exhausted"),
        (429, "slow down", None, None, "rate_limited"),
        (401, "Incorrect API key provided", "invalid_api_key", None, "auth"),
        (403, "Permission denied", None, None, "auth"),
        (404, "The model `gpt-x` does not exist", "model_not_found", None, "model_not_found"),
        (
            400,
            "This model's maximum context length is 128000 tokens.",
            "context_length_exceeded",
            None,
            "context_overflow",
        ),
        (
            400,
            "prompt is too long: 250000 tokens > 200000 maximum",
            "invalid_request_error",
            None,
            "context_overflow",
        ),
        (
            400,
            "The input token count (9) exceeds the maximum number of tokens allowed (5).",
            "INVALID_ARGUMENT",
            None,
            "context_overflow",
        ),
        (400, "temperature: must be at most 2", None, None, "bad_request"),
        (422, "unprocessable", None, None, "bad_request"),
        (408, "request timeout", None, None, "transient"),
        (409, "conflict", None, None, "transient"),
        (500, "internal", None, None, "transient"),
        (503, "The model is overloaded.", None, None, "transient"),
        (529, "Overloaded", "overloaded_error", None, "transient"),
        (None, "no answer", None, None, "transient"),
    ],
)
def test_classify_status(
    status: int | None, message: str, code: str | None, details: Any, kind: str
) -> None:
    assert classify_status(status, message, code=code, details=details) is ErrorKind(kind)


def test_retry_after_seconds_millis_and_http_date() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now.timestamp()) == pytest.approx(30)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now.timestamp()) == 0.0
    for bad in ({}, None, {"retry-after": "soon"}, {"retry-after": "-3"}):
        assert parse_retry_after(bad) is None


def test_retry_delay_from_google_retry_info() -> None:
    assert retry_delay_from_details([QUOTA_PER_MINUTE, RETRY_INFO]) == 37.5
    assert retry_delay_from_details([{"@type": "x.RetryInfo", "retryDelay": "1m"}]) is None
    assert retry_delay_from_details(None) is None


def test_http_error_carries_kind_status_and_retry_after() -> None:
    error = http_error(
        429, "Rate limit", provider="openai", model="gpt-4o-mini", headers={"retry-after": "3"}
    )
    assert (error.kind, error.status_code, error.retry_after) == (ErrorKind.RATE_LIMITED, 429, 3.0)
    assert error.describe() == "rate_limited HTTP 429 from openai/gpt-4o-mini: Rate limit"
    gemini = http_error(429, "exhausted", provider="gemini", details=[QUOTA_PER_MINUTE, RETRY_INFO])
    assert gemini.retry_after == 37.5
    # A delay on an error that is not retried means nothing and is dropped.
    auth = http_error(401, "bad key", provider="openai", headers={"retry-after": "3"})
    assert auth.retry_after is None
    assert http_error(500, "", provider="x").args[0] == "HTTP 500 without a message"


def test_keys_are_redacted_from_provider_messages() -> None:
    secret = "canary-provider-key-5f1e2d"
    register_secret(secret)
    error = http_error(401, f"Incorrect API key provided: {secret}", provider="openai")
    assert secret not in str(error) and "[REDACTED]" in str(error)
    transport = transport_error(TimeoutError(f"timed out with Bearer {secret}"), provider="x")
    assert secret not in str(transport) and transport.kind is ErrorKind.TRANSIENT
    assert str(transport).startswith("timed out")
    assert str(transport_error(ConnectionError("refused"), provider="x")).startswith(
        "connection failed"
    )


async def test_a_retry_after_longer_than_allowed_falls_back_at_once(
    make_orchestrator: Any,
) -> None:
    slow = EchoProvider("openai")
    slow.fail(ProviderError(ErrorKind.TRANSIENT, "busy", retry_after=60))
    backup = EchoProvider("anthropic")

    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(slow)
            register(backup)

    chain = {"preferred": "gpt-5-nano", "fallback": ["claude-haiku-4-5"]}
    config = parse_config(
        {
            "execution": {t: chain for t in ("simple", "moderate", "complex")},
            "retry": {"initial_wait": 0, "max_retry_after": 5},
        }
    )
    orch = await make_orchestrator(config, plugins=(Plugin(),))
    result = await orch.orchestrate("Show the contents of config.yaml")
    assert result.status == "completed" and result.provider == "anthropic"
    assert [a.provider for a in result.attempts] == ["openai", "anthropic"]  # no wait, no retry
    assert result.duration_ms < 5000


def test_provider_entries_serve_the_plugin_and_its_compatible_endpoints() -> None:
    config = parse_config(
        {
            "providers": {
                "ollama": {"type": "openai", "base_url": "http://127.0.0.1:11434/v1"},
                "vllm": {
                    "type": "openai",
                    "base_url": "http://127.0.0.1:8000/v1",
                    "enabled": False,
                },
                "anthropic": {"timeout": 10},
            }
        }
    )
    assert [n for n, _ in provider_entries(config, "openai")] == ["openai", "ollama"]
    assert [n for n, _ in provider_entries(config, "anthropic")] == ["anthropic"]
    assert [n for n, _ in provider_entries(config, "claude-code", default=False)] == []
    off = parse_config({"providers": {"openai": {"enabled": False}}})
    assert provider_entries(off, "openai") == []


def test_missing_provider_reasons_are_precise(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from dynamic_orchestrator import providers

    class FakeEntryPoint:
        def __init__(self, name: str):
            self.name = name

    monkeypatch.setattr(
        providers.metadata,
        "entry_points",
        lambda group: [FakeEntryPoint("openai")] if group == "dynamic_orchestrator" else [],
    )
    providers.installed_plugin_names.cache_clear()  # read once per process: read these
    request.addfinalizer(providers.installed_plugin_names.cache_clear)
    config = parse_config(
        {
            "providers": {
                "ollama": {"type": "openai", "base_url": "http://127.0.0.1:11434/v1"},
                "mine": {"type": "anthropic"},
                "off": {"enabled": False},
            }
        }
    )
    assert missing_provider_reason(config, "gemini") == (
        "provider 'gemini' is not installed (no plugin registers it; a plugin for type "
        "'gemini' is published as dynamic-orchestrator-gemini, where one exists)"
    )
    assert missing_provider_reason(config, "mine") == (
        "provider 'mine' (type 'anthropic') is not installed (no plugin registers it; a "
        "plugin for type 'anthropic' is published as dynamic-orchestrator-anthropic, where "
        "one exists)"
    )
    assert "is not loaded: its plugin 'openai' is installed" in missing_provider_reason(
        config, "ollama"
    )
    assert missing_provider_reason(config, "off") == (
        "provider 'off' is disabled (providers.off.enabled is false)"
    )
    assert missing_provider_reason(Config(), "mistral").startswith(
        "provider 'mistral' is not installed (no plugin registers it;"
    )


class _Client:
    def __init__(self, key: str | None, base_url: str | None, thread: int):
        self.key, self.base_url, self.thread, self.closed = key, base_url, thread, False


class _SdkProvider(APIProvider):
    plugin = "fakesdk"
    key_envs = ("FAKESDK_KEY",)
    default_base_url = "https://api.fakesdk.example/v1"
    sdk = "json"  # any importable module stands in for the SDK
    options: ClassVar[Mapping[str, type]] = {"flag": bool}
    built = 0

    def make_client(self, api_key: str | None, base_url: str | None) -> _Client:
        type(self).built += 1
        return _Client(api_key, base_url, threading.get_ident())

    async def close_client(self, client: Any) -> None:
        client.closed = True


async def test_api_provider_keys_base_urls_and_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ModelInfo(name="m", provider="fakesdk")
    config = parse_config(
        {
            "providers": {
                "local": {"type": "fakesdk", "base_url": "http://127.0.0.1:1/v1"},
                "nourl": {"type": "fakesdk"},
                "bad": {"type": "fakesdk", "options": {"flag": "yes"}},
            }
        }
    )
    official = _SdkProvider("fakesdk", config)
    assert official.unavailable_reason(model) == "FAKESDK_KEY is not set"
    assert _SdkProvider("nourl", config).unavailable_reason(model) == (
        "providers.nourl.base_url is not set (needed for type 'fakesdk')"
    )
    assert _SdkProvider("bad", config).unavailable_reason(model) == (
        "providers.bad.options.flag: expected bool, got str"
    )
    monkeypatch.setenv("FAKESDK_KEY", "fakesdk-secret-0123456789")
    official = _SdkProvider("fakesdk", config)
    local = _SdkProvider("local", config)
    assert official.unavailable_reason(model) is None and local.unavailable_reason(model) is None
    assert "secret" not in repr(official)
    await official.warm()
    await official.warm()
    client = await official.get_client()
    assert _SdkProvider.built == 1  # once, and not on the event loop's thread
    assert client.thread != threading.get_ident()
    assert (client.key, client.base_url) == ("fakesdk-secret-0123456789", official.base_url)
    local_client = await local.get_client()
    assert local_client.key is None  # a compatible endpoint never gets the official key
    await official.aclose()
    assert client.closed and official._client is None


def test_a_missing_sdk_is_named_with_its_install_hint() -> None:
    class Missing(_SdkProvider):
        plugin = "gemini"
        sdk = "no_such_sdk_module_4f2a"

    reason = Missing("gemini", Config()).unavailable_reason(ModelInfo("m", "gemini"))
    assert reason == (
        "the no_such_sdk_module_4f2a SDK is not installed: pip install no_such_sdk_module_4f2a"
    )

    class Hinted(Missing):
        install_hint = "pip install 'dynamic-orchestrator[gemini]'"

    reason = Hinted("gemini", Config()).unavailable_reason(ModelInfo("m", "gemini"))
    assert reason == (
        "the no_such_sdk_module_4f2a SDK is not installed: "
        "pip install 'dynamic-orchestrator[gemini]'"
    )
