"""The fake provider server against the official SDKs, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import PROVIDERS, FakeProviderServer, Provider

try:  # the official SDKs come with the provider plugins; without them there is nothing to test
    import anthropic
    import httpx2
    import openai
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types as gtypes
except ImportError as missing:  # pragma: no cover
    pytest.skip(f"provider SDK not installed: {missing}", allow_module_level=True)

OPENAI_KEY = "sk-test-openai-0123456789"
ANTHROPIC_KEY = "sk-ant-test-0123456789"
GEMINI_KEY = "AIza-test-gemini-0123456789"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _no_internet() -> Iterator[None]:
    """Refuse any TCP connection that does not go to a loopback address."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = socket.gethostbyname(address[0]) if self.family == socket.AF_INET else address[0]
            if not ipaddress.ip_address(host).is_loopback:
                raise OSError(f"a test tried to reach the network: {address[0]}")
        original(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded)
        yield


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


@pytest.fixture
def srv(server: FakeProviderServer) -> FakeProviderServer:
    server.reset()
    return server


def openai_client(srv: FakeProviderServer, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.openai_base_url, api_key=OPENAI_KEY, max_retries=0, **kw)


def anthropic_client(srv: FakeProviderServer, **kw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=srv.anthropic_base_url, api_key=ANTHROPIC_KEY, max_retries=0, **kw
    )


def gemini_client(srv: FakeProviderServer) -> genai.Client:
    # retry_options=None already means one attempt; attempts=1 says so explicitly.
    options = gtypes.HttpOptions(
        base_url=srv.gemini_base_url, retry_options=gtypes.HttpRetryOptions(attempts=1)
    )
    return genai.Client(api_key=GEMINI_KEY, vertexai=False, http_options=options)


@dataclass
class Sdk:
    """One client per SDK, all pointed at the module's server (clients are slow to build)."""

    oa: openai.OpenAI
    an: anthropic.Anthropic
    ge: genai.Client  # keep a reference: a collected genai.Client closes its transport

    def ask(self, provider: Provider, text: str, model: str | None = None) -> str:
        """One plain request with the provider's SDK; returns the reply text."""
        if provider == "openai":
            r = self.oa.chat.completions.create(
                model=model or "gpt-test", messages=[{"role": "user", "content": text}]
            )
            return r.choices[0].message.content or ""
        if provider == "anthropic":
            m = self.an.messages.create(
                model=model or "claude-test",
                max_tokens=64,
                messages=[{"role": "user", "content": text}],
            )
            block = m.content[0]
            assert block.type == "text"
            return block.text
        g = self.ge.models.generate_content(model=model or "gemini-test", contents=text)
        return g.text or ""

    def fail(self, provider: Provider) -> BaseException:
        """The exception a plain request raises."""
        with pytest.raises(Exception) as info:
            self.ask(provider, "hello")
        return info.value


@pytest.fixture(scope="module")
def sdk(server: FakeProviderServer) -> Sdk:
    return Sdk(openai_client(server), anthropic_client(server), gemini_client(server))


# --------------------------------------------------------------------------- lifecycle
# --------------------------------------------------------------------------- lifecycle


def test_sync_context_manager_starts_and_stops_quickly() -> None:
    with FakeProviderServer() as srv:
        host, port = srv.url.removeprefix("http://").split(":")
        socket.create_connection((host, int(port)), timeout=1).close()
        assert srv.openai_base_url == srv.url + "/v1"
        assert srv.anthropic_base_url == srv.gemini_base_url == srv.url
        srv.script("openai", fs.timeout(30))  # a pending delay must not hold up stop()
        client = openai_client(srv, timeout=0.1)
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        began = time.monotonic()
    assert time.monotonic() - began < 2.0
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()


def test_async_context_manager() -> None:
    async def main() -> str:
        async with FakeProviderServer() as srv:
            client = openai.AsyncOpenAI(
                base_url=srv.openai_base_url, api_key=OPENAI_KEY, max_retries=0
            )
            r = await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "async"}]
            )
            await client.close()
            return r.choices[0].message.content or ""

    assert asyncio.run(main()) == "echo: async"


# --------------------------------------------------------------------------- success


def test_openai_success_usage_and_model(srv: FakeProviderServer, sdk: Sdk) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello world"},
    ]
    r = sdk.oa.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert r.object == "chat.completion"
    assert r.model == "gpt-4o-mini"
    assert r.choices[0].message.content == "echo: hello world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.prompt_tokens == len("Be brief.hello world") // 4
    assert r.usage.completion_tokens == len("echo: hello world") // 4
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    (req,) = srv.requests
    assert (req.provider, req.path, req.model) == ("openai", "/v1/chat/completions", "gpt-4o-mini")
    assert req.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert req.body["messages"][1]["content"] == "hello world"


def test_anthropic_success_usage_and_model(srv: FakeProviderServer, sdk: Sdk) -> None:
    m = sdk.an.messages.create(
        model="claude-sonnet-test",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": "hello world"}],
    )
    assert m.type == "message" and m.role == "assistant"
    assert m.model == "claude-sonnet-test"
    assert m.stop_reason == "end_turn"
    assert m.content[0].type == "text" and m.content[0].text == "echo: hello world"
    assert m.usage.input_tokens == len("Be brief.hello world") // 4
    assert m.usage.output_tokens == len("echo: hello world") // 4
    (req,) = srv.requests
    assert (req.provider, req.path, req.model) == (
        "anthropic",
        "/v1/messages",
        "claude-sonnet-test",
    )
    # anthropic 2.x sends the API key as a bearer token, not as x-api-key.
    assert req.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"


def test_gemini_success_usage_and_model(srv: FakeProviderServer, sdk: Sdk) -> None:
    g = sdk.ge.models.generate_content(
        model="gemini-2.5-flash",
        contents="hello world",
        config=gtypes.GenerateContentConfig(system_instruction="Be brief."),
    )
    assert g.text == "echo: hello world"
    assert g.model_version == "gemini-2.5-flash"
    assert g.candidates and g.candidates[0].finish_reason == gtypes.FinishReason.STOP
    usage = g.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == len("Be brief.hello world") // 4
    assert usage.candidates_token_count == len("echo: hello world") // 4
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    (req,) = srv.requests
    # google-genai 3.x defaults to the v1 API with an API key (older releases used v1beta).
    assert req.path == "/v1/models/gemini-2.5-flash:generateContent"
    assert (req.provider, req.model) == ("gemini", "gemini-2.5-flash")
    assert req.headers["x-goog-api-key"] == GEMINI_KEY


def test_gemini_v1beta_path_is_served(srv: FakeProviderServer, sdk: Sdk) -> None:
    beta = gtypes.HttpOptions(api_version="v1beta")
    g = sdk.ge.models.generate_content(
        model="models/g", contents="beta", config=gtypes.GenerateContentConfig(http_options=beta)
    )
    assert g.text == "echo: beta"
    assert (srv.requests[0].path, srv.requests[0].model) == (
        "/v1beta/models/g:generateContent",
        "g",
    )


def test_echo_is_truncated(sdk: Sdk) -> None:
    reply = sdk.ask("anthropic", "x" * 500)
    assert len(reply) == fs.REPLY_LIMIT and reply.startswith("echo: xxx")


# --------------------------------------------------------------------------- tool calls


def test_openai_tool_round_trip(sdk: Sdk) -> None:
    tools: list[Any] = [
        {
            "type": "function",
            "function": {"name": "add", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    messages: list[Any] = [{"role": "user", "content": 'sum it [call:add {"a": 1, "b": 2}]'}]
    r = sdk.oa.chat.completions.create(model="gpt-test", messages=messages, tools=tools)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "add" and call.function.arguments == '{"a": 1, "b": 2}'
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "3"},
    ]
    r2 = sdk.oa.chat.completions.create(model="gpt-test", messages=messages, tools=tools)
    assert r2.choices[0].message.content == "tool result: 3"
    assert r2.choices[0].finish_reason == "stop"
    # Without tools in the request, a marker is just text.
    assert sdk.ask("openai", "[call:add]") == "echo: [call:add]"


def test_anthropic_tool_round_trip(sdk: Sdk) -> None:
    tools: list[Any] = [{"name": "lookup", "input_schema": {"type": "object"}}]
    messages: list[Any] = [{"role": "user", "content": 'find [call:lookup {"q": "cats"}]'}]
    m = sdk.an.messages.create(model="claude-test", max_tokens=64, messages=messages, tools=tools)
    assert m.stop_reason == "tool_use"
    block = m.content[0]
    assert block.type == "tool_use"
    assert block.name == "lookup" and block.input == {"q": "cats"}
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "3 cats"}],
        },
    ]
    m2 = sdk.an.messages.create(model="claude-test", max_tokens=64, messages=messages, tools=tools)
    assert m2.stop_reason == "end_turn"
    assert m2.content[0].type == "text" and m2.content[0].text == "tool result: 3 cats"


def test_gemini_tool_round_trip(sdk: Sdk) -> None:
    decl = gtypes.FunctionDeclaration(
        name="get_weather",
        parameters=gtypes.Schema(
            type=gtypes.Type.OBJECT, properties={"city": gtypes.Schema(type=gtypes.Type.STRING)}
        ),
    )
    config = gtypes.GenerateContentConfig(tools=[gtypes.Tool(function_declarations=[decl])])
    prompt = gtypes.Part(text='weather? [call:get_weather {"city": "Oslo"}]')
    contents: list[Any] = [gtypes.Content(role="user", parts=[prompt])]
    g = sdk.ge.models.generate_content(model="gemini-test", contents=contents, config=config)
    assert g.function_calls is not None
    (call,) = g.function_calls
    assert call.name == "get_weather" and call.args == {"city": "Oslo"}
    assert g.candidates and g.candidates[0].content is not None
    result = gtypes.Part.from_function_response(name="get_weather", response={"result": "sunny"})
    contents += [g.candidates[0].content, gtypes.Content(role="user", parts=[result])]
    g2 = sdk.ge.models.generate_content(model="gemini-test", contents=contents, config=config)
    assert g2.text == "tool result: sunny"
    assert not g2.function_calls


def test_parallel_tool_calls_and_scripted_tool_call(srv: FakeProviderServer, sdk: Sdk) -> None:
    m = sdk.an.messages.create(
        model="c",
        max_tokens=64,
        tools=[{"name": "a", "input_schema": {"type": "object"}}],
        messages=[{"role": "user", "content": '[call:a] and [call:b {"x": [1]}]'}],
    )
    assert [(b.type, getattr(b, "name", None)) for b in m.content] == [
        ("tool_use", "a"),
        ("tool_use", "b"),
    ]
    srv.script("anthropic", fs.tool_call("forced", {"k": "v"}))
    m2 = sdk.an.messages.create(
        model="c", max_tokens=64, messages=[{"role": "user", "content": "no marker"}]
    )
    assert m2.content[0].type == "tool_use" and m2.content[0].input == {"k": "v"}


# --------------------------------------------------------------------------- faults


FAULTS: list[tuple[Provider, Callable[[], fs.Fault], type[BaseException], int]] = [
    ("openai", lambda: fs.rate_limit(retry_after=2), openai.RateLimitError, 429),
    ("openai", fs.quota_exhausted, openai.RateLimitError, 429),
    ("openai", fs.server_error, openai.InternalServerError, 500),
    ("openai", fs.overloaded, openai.InternalServerError, 503),
    ("openai", fs.unauthorized, openai.AuthenticationError, 401),
    ("openai", fs.not_found, openai.NotFoundError, 404),
    ("openai", lambda: fs.bad_request("bad temperature"), openai.BadRequestError, 400),
    ("openai", fs.context_length, openai.BadRequestError, 400),
    ("anthropic", lambda: fs.rate_limit(retry_after=2), anthropic.RateLimitError, 429),
    ("anthropic", fs.quota_exhausted, anthropic.BadRequestError, 400),
    ("anthropic", fs.server_error, anthropic.InternalServerError, 500),
    ("anthropic", lambda: fs.server_error(503), anthropic.ServiceUnavailableError, 503),
    ("anthropic", fs.overloaded, anthropic.OverloadedError, 529),
    ("anthropic", fs.unauthorized, anthropic.AuthenticationError, 401),
    ("anthropic", fs.not_found, anthropic.NotFoundError, 404),
    ("anthropic", lambda: fs.bad_request("bad temperature"), anthropic.BadRequestError, 400),
    ("anthropic", fs.context_length, anthropic.BadRequestError, 400),
    ("gemini", lambda: fs.rate_limit(retry_after=2), genai_errors.ClientError, 429),
    ("gemini", fs.quota_exhausted, genai_errors.ClientError, 429),
    ("gemini", fs.server_error, genai_errors.ServerError, 500),
    ("gemini", fs.overloaded, genai_errors.ServerError, 503),
    ("gemini", fs.unauthorized, genai_errors.ClientError, 401),
    ("gemini", fs.not_found, genai_errors.ClientError, 404),
    ("gemini", lambda: fs.bad_request("bad temperature"), genai_errors.ClientError, 400),
    ("gemini", fs.context_length, genai_errors.ClientError, 400),
]


@pytest.mark.parametrize(
    ("provider", "make", "exc_type", "status"),
    FAULTS,
    ids=[f"{p}-{e.__name__}-{s}-{i}" for i, (p, _, e, s) in enumerate(FAULTS)],
)
def test_fault_maps_to_sdk_exception(
    srv: FakeProviderServer,
    sdk: Sdk,
    provider: Provider,
    make: Callable[[], fs.Fault],
    exc_type: type[BaseException],
    status: int,
) -> None:
    srv.script(provider, make())
    err = sdk.fail(provider)
    assert type(err) is exc_type
    code = err.code if isinstance(err, genai_errors.APIError) else getattr(err, "status_code", None)
    assert code == status
    assert len(srv.requests) == 1  # the SDK did not retry
    assert sdk.ask(provider, "after") == "echo: after"  # the queue is drained


def test_openai_fault_bodies(srv: FakeProviderServer, sdk: Sdk) -> None:
    srv.script("openai", fs.rate_limit(retry_after=2), fs.quota_exhausted(), fs.context_length())
    rl = sdk.fail("openai")
    assert isinstance(rl, openai.RateLimitError)
    assert rl.response.headers["retry-after"] == "2" and rl.code == "rate_limit_exceeded"
    quota = sdk.fail("openai")
    assert isinstance(quota, openai.RateLimitError) and quota.code == "insufficient_quota"
    assert "retry-after" not in quota.response.headers
    ctx = sdk.fail("openai")
    assert isinstance(ctx, openai.BadRequestError) and ctx.code == "context_length_exceeded"


def test_anthropic_fault_bodies(srv: FakeProviderServer, sdk: Sdk) -> None:
    srv.script("anthropic", fs.rate_limit(retry_after=0.5), fs.quota_exhausted())
    srv.script("anthropic", fs.context_length(tokens=250_000, limit=200_000), fs.overloaded())
    rl = sdk.fail("anthropic")
    assert isinstance(rl, anthropic.RateLimitError)
    assert rl.response.headers["retry-after"] == "0.5" and rl.type == "rate_limit_error"
    credit = sdk.fail("anthropic")
    assert isinstance(credit, anthropic.BadRequestError) and credit.type == "invalid_request_error"
    assert "credit balance is too low" in (credit.api_message or "")
    ctx = sdk.fail("anthropic")
    assert isinstance(ctx, anthropic.BadRequestError)
    assert ctx.api_message == "prompt is too long: 250000 tokens > 200000 maximum"
    over = sdk.fail("anthropic")
    assert isinstance(over, anthropic.OverloadedError) and over.type == "overloaded_error"
    assert isinstance(over, anthropic.InternalServerError)


def test_gemini_fault_bodies(srv: FakeProviderServer, sdk: Sdk) -> None:
    srv.script("gemini", fs.rate_limit(retry_after=3), fs.context_length(tokens=9, limit=5))
    rl = sdk.fail("gemini")
    assert isinstance(rl, genai_errors.ClientError) and rl.status == "RESOURCE_EXHAUSTED"
    assert rl.response.headers["retry-after"] == "3"
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}
    assert retry_info in rl.details["error"]["details"]
    ctx = sdk.fail("gemini")
    assert isinstance(ctx, genai_errors.ClientError) and ctx.status == "INVALID_ARGUMENT"
    assert (
        ctx.message == "The input token count (9) exceeds the maximum number of tokens allowed (5)."
    )


def test_sdk_retry_honours_retry_after(srv: FakeProviderServer, sdk: Sdk) -> None:
    # The one deliberate retry: the SDK waits Retry-After, then gets the default reply.
    srv.script("openai", fs.rate_limit(retry_after=0.1))
    r = sdk.oa.with_options(max_retries=1).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "again"}]
    )
    assert r.choices[0].message.content == "echo: again"
    assert len(srv.requests) == 2


def test_timeout_fault_trips_each_sdk_timeout(srv: FakeProviderServer, sdk: Sdk) -> None:
    for provider in ("openai", "anthropic", "gemini"):
        srv.script(provider, fs.timeout(3))
    with pytest.raises(openai.APITimeoutError):
        sdk.oa.with_options(timeout=0.15).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "slow"}]
        )
    with pytest.raises(anthropic.APITimeoutError):
        sdk.an.with_options(timeout=0.15).messages.create(
            model="m", max_tokens=8, messages=[{"role": "user", "content": "slow"}]
        )
    # google-genai surfaces the transport's exception; HttpOptions.timeout is milliseconds.
    fast = gtypes.GenerateContentConfig(http_options=gtypes.HttpOptions(timeout=150))
    with pytest.raises(httpx2.TimeoutException):
        sdk.ge.models.generate_content(model="m", contents="slow", config=fast)


def test_timeout_shorter_than_client_timeout_still_answers(
    srv: FakeProviderServer, sdk: Sdk
) -> None:
    srv.script("gemini", fs.timeout(0.1))
    began = time.monotonic()
    assert sdk.ask("gemini", "late") == "echo: late"
    assert time.monotonic() - began >= 0.1


def test_script_per_model_and_reply_usage(srv: FakeProviderServer, sdk: Sdk) -> None:
    srv.script("openai", fs.server_error(), model="gpt-a")
    srv.script("openai", fs.reply("scripted", input_tokens=11, output_tokens=22))
    assert sdk.ask("openai", "b1", model="gpt-b") == "scripted"  # the provider-wide queue
    assert sdk.ask("openai", "b2", model="gpt-b") == "echo: b2"
    assert srv.pending("openai", "gpt-a") == 1
    with pytest.raises(openai.InternalServerError):
        sdk.ask("openai", "a1", model="gpt-a")
    assert sdk.ask("openai", "a2", model="gpt-a") == "echo: a2"
    srv.script("anthropic", fs.reply("r", input_tokens=11, output_tokens=22))
    m = sdk.an.messages.create(model="c", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert (m.usage.input_tokens, m.usage.output_tokens) == (11, 22)
    with pytest.raises(ValueError):
        srv.script("mistral", fs.reply("x"))  # type: ignore[arg-type]


def test_concurrent_requests_are_all_answered(srv: FakeProviderServer, sdk: Sdk) -> None:
    srv.set_latency(0.2)

    async def main() -> list[str]:
        oa = openai.AsyncOpenAI(base_url=srv.openai_base_url, api_key=OPENAI_KEY, max_retries=0)
        an = anthropic.AsyncAnthropic(
            base_url=srv.anthropic_base_url, api_key=ANTHROPIC_KEY, max_retries=0
        )

        async def one(i: int) -> str:
            text = f"n{i}"
            if i % 3 == 0:
                r = await oa.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": text}]
                )
                return r.choices[0].message.content or ""
            if i % 3 == 1:
                m = await an.messages.create(
                    model="m", max_tokens=8, messages=[{"role": "user", "content": text}]
                )
                return m.content[0].text if m.content[0].type == "text" else ""
            g = await sdk.ge.aio.models.generate_content(model="m", contents=text)
            return g.text or ""

        try:
            return await asyncio.gather(*(one(i) for i in range(20)))
        finally:
            await oa.close()
            await an.close()

    began = time.monotonic()
    replies = asyncio.run(main())
    assert replies == [f"echo: n{i}" for i in range(20)]
    assert time.monotonic() - began < 20 * 0.2 / 2  # served in parallel
    assert len(srv.requests) == 20


# --------------------------------------------------------------------------- streaming


def test_openai_streaming(sdk: Sdk) -> None:
    stream = sdk.oa.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "a fairly long streamed sentence"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: a fairly long streamed sentence"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(text) // 4


def test_anthropic_streaming_with_tool_use(srv: FakeProviderServer, sdk: Sdk) -> None:
    with sdk.an.messages.stream(
        model="claude-test",
        max_tokens=64,
        tools=[{"name": "t", "input_schema": {"type": "object"}}],
        messages=[{"role": "user", "content": '[call:t {"n": 5}]'}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[0].type == "tool_use" and final.content[0].input == {"n": 5}
    with sdk.an.messages.stream(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "stream me"}]
    ) as stream:
        assert "".join(stream.text_stream) == "echo: stream me"
    srv.script("anthropic", fs.overloaded())  # a fault answers a stream with the plain error
    with (
        pytest.raises(anthropic.OverloadedError),
        sdk.an.messages.stream(
            model="c", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        stream.get_final_message()


def test_gemini_streaming(srv: FakeProviderServer, sdk: Sdk) -> None:
    chunks = list(
        sdk.ge.models.generate_content_stream(
            model="gemini-test", contents="a fairly long streamed sentence"
        )
    )
    assert "".join(c.text or "" for c in chunks) == "echo: a fairly long streamed sentence"
    assert chunks[-1].usage_metadata is not None
    assert srv.requests[0].path == "/v1/models/gemini-test:streamGenerateContent"
    assert srv.requests[0].query == {"alt": "sse"}


# --------------------------------------------------------------------------- secrets


def test_credentials_are_never_echoed(srv: FakeProviderServer, sdk: Sdk) -> None:
    assert OPENAI_KEY not in sdk.ask("openai", f"my key is {OPENAI_KEY}")
    assert sdk.ask("anthropic", f"key {ANTHROPIC_KEY}") == "echo: key ***"
    assert GEMINI_KEY not in sdk.ask("gemini", f"key {GEMINI_KEY}")
    for provider in PROVIDERS:
        srv.script(provider, fs.unauthorized())
        response = getattr(sdk.fail(provider), "response", None)
        assert response is not None
        assert all(key not in response.text for key in (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY))
    # They are recorded for assertions, but masked when a request is printed.
    assert srv.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert all(k not in repr(srv.requests) for k in (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY))
    # A key in streamed text is masked before the text is cut into deltas.
    stream = sdk.oa.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"key {OPENAI_KEY}"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: key ***"


def test_malformed_requests_get_provider_errors(srv: FakeProviderServer) -> None:
    with httpx2.Client(base_url=srv.url) as http:
        r = http.post("/v1/chat/completions", content=b"not json")
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        r = http.post("/v1/messages", json={"model": "c", "messages": [{"content": 5}]})
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        r = http.post("/v1/models/g:countTokens", json={})
        assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    assert [q.provider for q in srv.requests] == ["openai", "anthropic", "gemini"]
