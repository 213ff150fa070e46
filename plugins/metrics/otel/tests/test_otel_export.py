"""Traces received by a local OTLP/HTTP receiver, decoded with ``opentelemetry-proto``.

Real parts throughout: the OpenAI and Anthropic SDKs talk to the fake provider server over
HTTP, the breaker plugin guards the calls, and the OTLP exporter posts protobuf to a
receiver on 127.0.0.1 that keeps every body. Four requests (completed, fallen back,
failed, delegated) and one refused by an open breaker are checked span by span: names,
parents, GenAI attributes and ours; the canary key is in no body.
"""

from __future__ import annotations

import gzip
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dynamic_orchestrator_anthropic
import dynamic_orchestrator_breaker
import dynamic_orchestrator_openai
import dynamic_orchestrator_otel
import pytest
from dynamic_orchestrator.config import parse_config
from dynamic_orchestrator.models import RequestRecord
from dynamic_orchestrator_otel.exporter import NICENESS
from dynamic_orchestrator_otel.rows import from_row, pack, read_row, to_row, unpack
from dynamic_orchestrator_otel.sink import MAX_RESTARTS, TraceSink
from dynamic_orchestrator_testing import fake_server as fs
from dynamic_orchestrator_testing.fake_server import FakeProviderServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

CANARY = "CNRYotel5x8k2m4p"
P = "dynamic_orchestrator."


class Receiver:
    """An OTLP/HTTP traces endpoint that keeps what it receives."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.unavailable = 0  # posts to answer 503 before accepting
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                if receiver.unavailable:
                    receiver.unavailable -= 1
                    self.send_response(503)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.bodies.append(body)
                receiver.paths.append(self.path)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self) -> list[Any]:
        out = []
        for body in self.bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                assert service["service.name"] == "dynamic-orchestrator"
                for scope_spans in resource_spans.scope_spans:
                    assert scope_spans.scope.name == "dynamic_orchestrator_otel"
                    out.extend(scope_spans.spans)
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def attrs(span: Any) -> dict[str, Any]:
    return {a.key: value(a.value) for a in span.attributes}


class Trace:
    """The spans of one request, by name, with their parents checked."""

    def __init__(self, spans: list[Any]) -> None:
        (self.root,) = [s for s in spans if not s.parent_span_id]
        self.spans = spans
        by_id = {s.span_id: s for s in spans}
        for span in spans:
            if span.parent_span_id:
                parent = by_id[span.parent_span_id]  # every parent is in the same trace
                assert parent.start_time_unix_nano <= span.start_time_unix_nano + 1_000
                assert span.end_time_unix_nano <= parent.end_time_unix_nano + 1_000_000
        self.by_id = by_id

    def children(self, span: Any) -> list[Any]:
        return [s for s in self.spans if s.parent_span_id == span.span_id]

    def named(self, name: str) -> Any:
        (span,) = [s for s in self.spans if s.name == name]
        return span

    def attempts(self) -> list[Any]:
        return self.children(self.named("execute"))


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    rx = Receiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    try:
        yield rx
    finally:
        rx.close()


def config(srv: FakeProviderServer) -> Any:
    chain = {"preferred": "gpt-4o-mini", "fallback": ["claude-haiku-4-5"]}
    return parse_config(
        {
            "use_claude_code": False,
            "providers": {
                "openai": {"base_url": srv.openai_base_url, "timeout": 5},
                "anthropic": {"base_url": srv.anthropic_base_url, "timeout": 5},
            },
            "retry": {"attempts": 2, "initial_wait": 0, "max_wait": 0},
            "execution": {tier: chain for tier in ("simple", "moderate", "complex")},
            "metrics": {"persist": False},
            "cache": {"enabled": False},
        }
    )


PLUGINS = (
    dynamic_orchestrator_openai,
    dynamic_orchestrator_anthropic,
    dynamic_orchestrator_breaker,
    dynamic_orchestrator_otel,
)


async def test_completed_fallen_back_failed_and_refused_requests_are_traced(
    make_orchestrator: Any,
    fake_provider_server: FakeProviderServer,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", f"sk-{CANARY}-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", f"sk-ant-{CANARY}-anthropic")
    srv = fake_provider_server
    orch = await make_orchestrator(config(srv), plugins=PLUGINS)
    text = "Show the contents of config.yaml"
    completed = await orch.orchestrate(text)
    srv.script("openai", fs.server_error(), fs.server_error())
    fell_back = await orch.orchestrate(text)
    srv.script("openai", fs.unauthorized())
    srv.script("anthropic", fs.bad_request("no such parameter"))
    failed = await orch.orchestrate(text)
    refused = await orch.orchestrate(text)  # openai's breaker is open after the 401
    await orch.close()
    assert [r.status for r in (completed, fell_back, failed, refused)] == [
        "completed",
        "completed",
        "failed",
        "completed",
    ]
    assert any(CANARY in r.headers.get("authorization", "") for r in srv.requests)

    assert set(receiver.paths) == {"/v1/traces"}
    assert receiver.bodies and not any(CANARY.encode() in body for body in receiver.bodies)
    spans = receiver.spans()
    traces = {}
    for result in (completed, fell_back, failed, refused):
        trace_id = bytes.fromhex(result.request_id)  # the trace id is the request id
        traces[result.request_id] = Trace([s for s in spans if s.trace_id == trace_id])
    assert sum(len(t.spans) for t in traces.values()) == len(spans)

    # Completed: the request, its stages, one attempt under execute.
    t = traces[completed.request_id]
    root = attrs(t.root)
    assert t.root.name == "invoke_agent dynamic-orchestrator"
    assert [s.name for s in t.children(t.root)] == [
        "classify",
        "score_complexity",
        "select_model",
        "generate_prompt",
        "execute",
    ]
    assert root["gen_ai.operation.name"] == "invoke_agent"
    assert root["gen_ai.request.model"] == "gpt-4o-mini"
    assert root["gen_ai.response.model"] == completed.model
    assert root["gen_ai.provider.name"] == "openai"
    assert root["gen_ai.usage.input_tokens"] == completed.usage.input_tokens > 0
    assert root["gen_ai.usage.output_tokens"] == completed.usage.output_tokens > 0
    assert root[P + "intent"] == completed.analysis.intent
    assert root[P + "complexity"] == completed.analysis.complexity
    assert root[P + "tier"] == completed.analysis.tier
    assert root[P + "cost_usd"] == pytest.approx(completed.cost_usd)
    assert root[P + "saved_usd"] == pytest.approx(completed.saved_usd)
    assert root[P + "saving.basis"] == completed.savings_basis
    assert root[P + "saving.claimed"] is True
    assert root[P + "cascade.escalations"] == 0
    assert t.root.status.code == t.root.status.STATUS_CODE_OK
    duration = (t.root.end_time_unix_nano - t.root.start_time_unix_nano) / 1e6
    assert duration == pytest.approx(completed.duration_ms, abs=0.01)
    (attempt,) = t.attempts()
    a = attrs(attempt)
    assert attempt.name == "chat gpt-4o-mini" and attempt.kind == attempt.SPAN_KIND_CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["gen_ai.response.model"] == completed.model
    assert a["gen_ai.usage.output_tokens"] == completed.usage.output_tokens
    assert a[P + "breaker.decision"] == "allowed"
    # No prompt or answer text without the opt-in.
    assert not [k for k in root if k.startswith(("gen_ai.input", "gen_ai.output"))]
    assert text.encode() not in b"".join(receiver.bodies)

    # Fallen back: two errors on gpt-4o-mini, then claude-haiku-4-5 answers.
    t = traces[fell_back.request_id]
    root = attrs(t.root)
    assert [s.name for s in t.attempts()] == [
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        "chat claude-haiku-4-5",
    ]
    first, _, last = (attrs(s) for s in t.attempts())
    assert first["error.type"] == "transient" and "gen_ai.response.model" not in first
    assert t.attempts()[0].status.code == t.root.status.STATUS_CODE_ERROR
    assert last["gen_ai.provider.name"] == "anthropic"
    assert last["gen_ai.response.model"] == fell_back.model
    assert root[P + "cascade.escalations"] == 1
    assert root["gen_ai.response.model"] == fell_back.model
    starts = [s.start_time_unix_nano for s in t.attempts()]
    assert starts == sorted(starts)

    # Failed: 401 on openai (its breaker opens), then a bad request on anthropic.
    t = traces[failed.request_id]
    root = attrs(t.root)
    assert t.root.status.code == t.root.status.STATUS_CODE_ERROR
    assert root[P + "status"] == "failed" and root["error.type"] == "bad_request"
    assert "gen_ai.response.model" not in root
    assert [attrs(s)["error.type"] for s in t.attempts()] == ["auth", "bad_request"]

    # Refused: the open breaker skips openai; the span says so and why.
    t = traces[refused.request_id]
    skipped, answered = (attrs(s) for s in t.attempts())
    assert skipped[P + "breaker.decision"] == "refused"
    assert skipped[P + "breaker.reason"].startswith("circuit open")
    assert answered[P + "breaker.decision"] == "allowed"
    assert attrs(t.root)[P + "breaker.refusals"] == 1


async def test_a_delegated_request_is_traced_without_attempts(
    make_orchestrator: Any, fake_provider_server: FakeProviderServer, receiver: Receiver
) -> None:
    orch = await make_orchestrator(config(fake_provider_server), plugins=PLUGINS)
    delegated = await orch.orchestrate("Create a REST API for user management")
    await orch.close()
    assert delegated.status == "delegated"
    (trace,) = [Trace(receiver.spans())]
    root = attrs(trace.root)
    assert root[P + "status"] == "delegated"
    assert root["gen_ai.request.model"] == delegated.model
    assert root[P + "saving.claimed"] is False and root[P + "saved_usd"] == 0.0
    assert "gen_ai.usage.input_tokens" not in root
    assert [s.name for s in trace.children(trace.root)][-1] == "generate_prompt"
    assert not [s for s in trace.spans if s.name.startswith("chat ")]


async def test_message_content_only_with_the_opt_in(
    make_orchestrator: Any,
    fake_provider_server: FakeProviderServer,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", f"sk-{CANARY}-openai")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    fake_provider_server.script("openai", fs.reply("The file lists three keys."))
    orch = await make_orchestrator(config(fake_provider_server), plugins=PLUGINS)
    result = await orch.orchestrate("Show the contents of config.yaml")
    await orch.close()
    assert result.status == "completed"
    root = attrs(Trace(receiver.spans()).root)
    assert "Show the contents of config.yaml" in root["gen_ai.input.messages"]
    assert "The file lists three keys." in root["gen_ai.output.messages"]
    assert root["gen_ai.system_instructions"]
    assert not any(CANARY.encode() in body for body in receiver.bodies)


async def test_without_an_endpoint_nothing_is_attached(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    orch = await make_orchestrator(plugins=(dynamic_orchestrator_otel,))
    assert dynamic_orchestrator_otel.state(orch).sink is None
    assert (await orch.orchestrate("Show the contents of config.yaml")).status == "delegated"


async def test_the_exporter_variables_are_honoured_and_a_503_is_retried(
    make_orchestrator: Any,
    fake_provider_server: FakeProviderServer,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/collector/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,x-note=two%20words")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    monkeypatch.setenv("OPENAI_API_KEY", f"sk-{CANARY}-openai")
    receiver.unavailable = 1
    orch = await make_orchestrator(config(fake_provider_server), plugins=PLUGINS)
    result = await orch.orchestrate("Show the contents of config.yaml")
    await orch.close()  # what is queued is posted before close returns
    assert result.status == "completed"
    assert len(receiver.headers) == 2  # the 503, then the retry
    assert receiver.paths == ["/collector/traces"]
    sent = receiver.headers[-1]
    assert sent["x-tenant"] == "acme" and sent["x-note"] == "two words"
    assert sent["content-encoding"] == "gzip"
    assert sent["content-type"] == "application/x-protobuf"
    (trace,) = [Trace(receiver.spans())]
    assert trace.root.name == "invoke_agent dynamic-orchestrator"
    assert attrs(trace.root)[P + "request_id"] == result.request_id


# --- the exporter process ---------------------------------------------------------------


def sink_of(orch: Any) -> TraceSink:
    sink = dynamic_orchestrator_otel.state(orch).sink
    assert sink is not None
    return sink


def record(i: int) -> RequestRecord:
    return RequestRecord(
        timestamp=1_700_000_000.0 + i,
        request_id=f"{i + 1:032x}",
        status="delegated",
        model="claude-sonnet-4-5",
        duration_ms=1.5,
        stages=[("classify", 0.0, 0.5), ("generate_prompt", 0.5, 1.0)],
    )


async def test_every_request_queued_before_close_is_posted(
    make_orchestrator: Any,
    fake_provider_server: FakeProviderServer,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")  # only close sends anything
    monkeypatch.setenv("OPENAI_API_KEY", f"sk-{CANARY}-openai")
    orch = await make_orchestrator(config(fake_provider_server), plugins=PLUGINS)
    sink = sink_of(orch)
    results = [await orch.orchestrate(f"Show the contents of file{i}.yaml") for i in range(30)]
    while sink.pid is None:  # the exporter starts in the background
        time.sleep(0.01)
    pid = sink.pid
    assert not receiver.bodies
    await orch.close()
    traces = {s.trace_id.hex() for s in receiver.spans()}
    assert traces == {r.request_id for r in results}
    assert sink.lost == sink.dropped == sink.failed_spans == 0
    assert sink.exported_spans == len(receiver.spans())
    with pytest.raises(ProcessLookupError):  # the exporter has exited and been reaped
        os.kill(pid, 0)
    assert not any(CANARY.encode() in body for body in receiver.bodies)


async def test_the_exporter_owns_neither_stdin_nor_stdout_and_yields_the_cpu(
    make_orchestrator: Any, receiver: Receiver
) -> None:
    orch = await make_orchestrator(plugins=PLUGINS)
    sink = sink_of(orch)
    sink.add(record(0))
    assert sink.flush(30.0)
    assert sink.pid is not None
    fds = {fd: os.readlink(f"/proc/{sink.pid}/fd/{fd}") for fd in (0, 1)}
    nice = int(Path(f"/proc/{sink.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    await orch.close()
    assert fds == {0: "/dev/null", 1: "/dev/null"}
    assert nice == min(19, os.nice(0) + NICENESS)  # serving comes before exporting
    assert len(receiver.spans()) == 3


def test_a_killed_exporter_is_restarted_and_the_next_batch_reaches_it(
    receiver: Receiver,
) -> None:
    sink = TraceSink(schedule_delay_s=0.05)
    sink.start()
    sink.add(record(0))
    assert sink.flush(30.0)
    first = sink.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    while Path(f"/proc/{first}/stat").read_text().split()[2] != "Z":  # dead, not yet reaped
        time.sleep(0.01)
    for i in range(1, 4):
        sink.add(record(i))
    assert sink.flush(30.0)
    sink.close()
    assert sink.restarts == 1 and sink.pid is None
    # The batch the dead exporter could not read went to the new one.
    assert sink.lost == 0 and len({s.trace_id for s in receiver.spans()}) == 4
    assert sink.exported_spans == len(receiver.spans())


def test_rows_cost_nothing_in_fidelity() -> None:
    original = record(7).model_copy(update={"services": ["git"], "reasons": ["cheap"]})
    packed = pack(to_row(original, {"gen_ai.input.messages": "[]"}))
    assert isinstance(packed, bytes)  # nothing the garbage collector tracks waits in the queue
    row = unpack(packed)
    assert from_row(row) == original and row[2] == {"gen_ai.input.messages": "[]"}
    read = read_row(row)  # what the exporter builds spans from
    assert {f: getattr(read, f) for f in RequestRecord.model_fields if f != "attempt_log"} == {
        f: getattr(original, f) for f in RequestRecord.model_fields if f != "attempt_log"
    }
    assert [a._asdict() for a in read.attempt_log] == [dict(a) for a in original.attempt_log]


def test_a_row_marshal_refuses_still_travels() -> None:
    class Name(str):
        pass

    original = record(8).model_copy(update={"model": Name("gpt-4o-mini")})
    row = to_row(original)
    assert pack(row) is row  # kept as it is; the sender pickles it with its batch
    assert from_row(unpack(pack(row))) == original


def test_an_exporter_that_cannot_run_is_counted_not_silent(
    receiver: Receiver,
) -> None:
    sink = TraceSink(schedule_delay_s=0.05, command=(sys.executable, "-c", "raise SystemExit(3)"))
    sink.start()
    for i in range(3):
        sink.add(record(i))
    assert sink.flush(60.0)
    sink.close()
    assert sink.lost == 3 and sink.exported_spans == 0 and not receiver.bodies
    assert sink.restarts == MAX_RESTARTS  # each death logged (trace_exporter_died)


async def test_the_stdio_server_traces_and_keeps_its_stdout(
    tmp_path: Path, receiver: Receiver
) -> None:
    """stdout is the MCP stream: the exporter writes nothing to it, and the trace arrives."""
    from mcp import Client, StdioServerParameters

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), LOG_LEVEL="WARNING")
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "dynamic_orchestrator", "serve"],
        env=env,
        cwd=str(tmp_path),
    )
    async with Client(server) as client:
        run = await client.call_tool("orchestrate", {"request": "Create a REST API for users"})
        again = await client.call_tool("get_metrics", {"period": "1m"})
    assert run.structured_content is not None and not again.is_error
    assert run.structured_content["status"] == "delegated"
    (trace,) = [Trace(receiver.spans())]  # posted when the server shut down
    assert attrs(trace.root)[P + "request_id"] == run.structured_content["request_id"]
