"""Every provider, through its official SDK over real HTTP, against every scripted fault.

The requests go through the whole Orchestrator (selection, the host's one retry layer,
fallback), so each test shows both halves: the SDK error is mapped to the right kind,
and that kind gets the right retry and fallback behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.errors import RequestError
from dynamic_orchestrator.models import ChatMessage
from dynamic_orchestrator.providers import ProviderCall
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

PROVIDERS = ("openai", "anthropic", "gemini")
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}
TEXT = "Show the contents of config.yaml"

# fault steps, then the (outcome, error kind) of each attempt, and the final status.
CASES: dict[str, tuple[list[fs.Fault], list[tuple[str, str | None]], str]] = {
    "rate-limit-short-retry-after-is-honoured": (
        [fs.rate_limit(retry_after=0.2)],
        [("error", "rate_limited"), ("ok", None)],
        "completed",
    ),
    "rate-limit-without-retry-after-on-the-last-model-backs-off": (
        [fs.rate_limit()],
        [("error", "rate_limited"), ("ok", None)],
        "completed",
    ),
    "rate-limit-backoff-on-the-last-model-is-bounded": (
        [fs.rate_limit(), fs.rate_limit(), fs.rate_limit()],
        [("error", "rate_limited")] * 3,
        "failed",
    ),
    "rate-limit-long-retry-after-falls-back-at-once": (
        [fs.rate_limit(retry_after=30)],
        [("error", "rate_limited")],
        "failed",
    ),
    "quota-exhausted-is-not-retried": (
        [fs.quota_exhausted()],
        [("error", "quota_exhausted")],
        "failed",
    ),
    "server-error-is-retried": (
        [fs.server_error()],
        [("error", "transient"), ("ok", None)],
        "completed",
    ),
    "overloaded-is-retried": (
        [fs.overloaded()],
        [("error", "transient"), ("ok", None)],
        "completed",
    ),
    "retries-are-bounded": (
        [fs.server_error(), fs.server_error(502), fs.server_error(503)],
        [("error", "transient")] * 3,
        "failed",
    ),
    "timeout-is-retried": (
        [fs.timeout(10)],
        [("error", "transient"), ("ok", None)],
        "completed",
    ),
    "unauthorized-is-auth": ([fs.unauthorized()], [("error", "auth")], "failed"),
    "not-found-is-model-not-found": ([fs.not_found()], [("error", "model_not_found")], "failed"),
    "bad-request-is-not-retried": (
        [fs.bad_request("temperature: must be at most 2")],
        [("error", "bad_request")],
        "failed",
    ),
    "context-length-is-context-overflow": (
        [fs.context_length()],
        [("error", "context_overflow")],
        "failed",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_fault_kind_and_retry_behaviour(
    provider: fs.Provider,
    case: str,
    fake_provider_server: FakeProviderServer,
    provider_plugins: tuple[object, ...],
    server_config: Callable[..., Any],
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps, expected, status = CASES[case]
    srv = fake_provider_server
    monkeypatch.setenv(KEY_ENV[provider], "test-key-0123456789")  # only this provider runs
    config = server_config(providers={provider: {"base_url": _base(srv, provider), "timeout": 0.5}})
    orch = await make_orchestrator(config, plugins=provider_plugins)
    srv.script(provider, *steps)
    began = time.monotonic()
    result = await orch.orchestrate(TEXT, options={"model": MODELS[provider]})
    elapsed = time.monotonic() - began

    assert [(a.outcome, a.error_kind) for a in result.attempts] == expected, result.attempts
    assert result.status == status, result.error
    assert len(srv.requests) == len(expected)  # the SDK itself retried nothing
    assert {a.provider for a in result.attempts} == {provider}
    if status == "completed":
        assert result.output == f"echo: {_user_text(srv)}"
        assert result.usage.estimated is False and result.cost_usd
    else:
        assert result.error and expected[-1][1] in result.error
    if case.startswith("rate-limit-short"):
        assert elapsed >= 0.2  # waited for Retry-After
    if case.startswith("rate-limit-long"):
        assert elapsed < 5  # did not wait 30 s
    if case.startswith("timeout"):
        assert 0.5 <= elapsed < 5
    error = next(a.error for a in result.attempts if a.error)
    assert error and provider in error and MODELS[provider] in error


def _base(srv: FakeProviderServer, provider: str) -> str:
    return {
        "openai": srv.openai_base_url,
        "anthropic": srv.anthropic_base_url,
        "gemini": srv.gemini_base_url,
    }[provider]


def _user_text(srv: FakeProviderServer) -> str:
    """The user text the fake server received last (the compact prompt, not the raw text)."""
    body = srv.requests[-1].body
    if "contents" in body:
        return str(body["contents"][-1]["parts"][0]["text"])
    message = body["messages"][-1]["content"]
    return str(message if isinstance(message, str) else message[0]["text"])


async def test_fallback_follows_the_taxonomy_across_providers(
    fake_provider_server: FakeProviderServer,
    provider_keys: dict[str, str],
    provider_plugins: tuple[object, ...],
    server_config: Callable[..., Any],
    make_orchestrator: Any,
) -> None:
    chain = {"preferred": "gpt-5-nano", "fallback": ["claude-haiku-4-5", "gemini-2.5-flash-lite"]}
    config = server_config(execution={tier: chain for tier in ("simple", "moderate", "complex")})
    orch = await make_orchestrator(config, plugins=provider_plugins)
    srv = fake_provider_server

    # 401 on OpenAI: no retry, fall back to the next provider.
    srv.script("openai", fs.unauthorized())
    result = await orch.orchestrate(TEXT)
    assert result.status == "completed" and result.provider == "anthropic"
    assert [(a.provider, a.error_kind) for a in result.attempts] == [
        ("openai", "auth"),
        ("anthropic", None),
    ]

    # Context overflow: skip models with a window no larger (haiku, 200k) for gemini (1M).
    srv.reset()
    srv.script("openai", fs.context_length(limit=400_000))
    result = await orch.orchestrate(TEXT)
    assert [(a.provider, a.error_kind) for a in result.attempts] == [
        ("openai", "context_overflow"),
        ("gemini", None),
    ]
    assert result.model == "gemini-2.5-flash-lite"

    # A bad request fails everywhere: no fallback at all.
    srv.reset()
    srv.script("openai", fs.bad_request("messages: malformed"))
    result = await orch.orchestrate(TEXT)
    assert result.status == "failed"
    assert [a.provider for a in result.attempts] == ["openai"]
    assert "malformed" in (result.error or "")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_cancelling_a_call_aborts_its_http_request(
    provider: str,
    fake_provider_server: FakeProviderServer,
    provider_keys: dict[str, str],
    provider_plugins: tuple[object, ...],
    server_config: Callable[..., Any],
    make_orchestrator: Any,
) -> None:
    orch = await make_orchestrator(server_config(), plugins=provider_plugins)
    srv = fake_provider_server
    srv.script(provider, fs.timeout(30))
    call = ProviderCall(
        model=orch.catalog.get(MODELS[provider]) or ModelInfo(MODELS[provider], provider),
        system="",
        messages=[ChatMessage(role="user", content="never answered")],
        timeout=60,
    )
    await orch.providers[provider].warm()  # the SDK import is not what is being cancelled
    began = time.monotonic()
    with anyio.move_on_after(0.3) as scope:
        await orch.providers[provider].complete(call)
    assert scope.cancelled_caught
    assert time.monotonic() - began < 1.5
    with anyio.fail_after(5):  # the server sees the client hang up
        while srv.disconnects == 0:
            await anyio.sleep(0.02)
    assert srv.disconnects == 1


async def test_calls_do_not_block_the_event_loop(
    fake_provider_server: FakeProviderServer,
    provider_keys: dict[str, str],
    provider_plugins: tuple[object, ...],
    server_config: Callable[..., Any],
    make_orchestrator: Any,
) -> None:
    orch = await make_orchestrator(server_config(), plugins=provider_plugins)
    fake_provider_server.set_latency(0.3)
    results: list[str] = []

    async def one(i: int) -> None:
        provider = PROVIDERS[i % 3]
        result = await orch.orchestrate(f"{TEXT} {i}", options={"model": MODELS[provider]})
        results.append(result.status)

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    began = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        async with anyio.create_task_group() as calls:
            for i in range(9):
                calls.start_soon(one, i)
        group.cancel_scope.cancel()
    elapsed = time.monotonic() - began
    assert results == ["completed"] * 9
    assert elapsed < 9 * 0.3 / 2  # the nine calls overlapped
    assert ticks >= elapsed / 0.01 / 3  # and the loop kept running meanwhile


@pytest.mark.parametrize(
    ("provider", "env", "official"),
    [
        ("openai", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
        ("anthropic", "ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
        ("gemini", "GOOGLE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/"),
    ],
)
async def test_base_url_comes_only_from_config(
    provider: str,
    env: str,
    official: str,
    fake_provider_server: FakeProviderServer,
    provider_keys: dict[str, str],
    provider_plugins: tuple[object, ...],
    make_orchestrator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(env, "http://127.0.0.1:9/from-the-environment")
    orch = await make_orchestrator(Config(), plugins=provider_plugins)
    client = await orch.providers[provider].get_client()  # built, never called: no network
    url = str(
        client._api_client._http_options.base_url if provider == "gemini" else client.base_url
    )
    assert url.rstrip("/") == official.rstrip("/")
    with pytest.raises(RequestError, match=r"options\.base_url: unknown option"):
        await orch.orchestrate(TEXT, options={"base_url": "http://127.0.0.1:9/v1"})
