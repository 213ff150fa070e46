"""The exporter process: encodes spans and posts them, away from the serving interpreter.

Started by :class:`dynamic_orchestrator_otel.sink.TraceSink` as
``python -m dynamic_orchestrator_otel.exporter IN OUT``, with stdin and stdout on
``/dev/null`` (a stdio MCP server owns both) and stderr shared for its log lines. It
reads batches of rows (:mod:`dynamic_orchestrator_otel.rows`) from pipe ``IN``, builds
each record's spans (:mod:`dynamic_orchestrator_otel.spans`), posts them where the
``OTEL_EXPORTER_OTLP_*`` variables of its environment say
(:mod:`dynamic_orchestrator_otel.transport`), and answers each batch on pipe ``OUT`` with
what became of it and its own CPU time so far (it says ``ready`` first, once started). It
exits when told to, or when the serving process is gone (its pipe ends); it has its own
session, so a terminal's Ctrl-C reaches the serving process, which then flushes it, and
not this one. It runs at a lower priority (:data:`NICENESS`): on a machine whose CPUs are
all busy, serving requests comes before exporting their spans (a queue that fills up
meanwhile drops rows and counts them).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from multiprocessing.connection import Connection
from typing import Any

from .encoding import Encoder
from .rows import reader, unpack
from .spans import AGENT_NAME, SpanBuilder, span_count
from .transport import Target, Transport

SCOPE_NAME = "dynamic_orchestrator_otel"
# Records per OTLP request at most: a whole batch of the sink's (its BATCH). A post cost the
# exporter 1.6-2 ms of CPU on a loaded 2-CPU machine whether it held 256 records or 512
# (HTTP on requests, a connection when the receiver closed the last one, the kernel's
# copy), so fewer, larger posts: 512 records of the overhead benchmark are about 1.1 MB of
# protobuf, well below a collector's usual limit on a request's size (20 MiB).
POST_BATCH = 512
NICENESS = 10  # added to the exporter's nice value: the serving process comes first

# One batch, as the serving process sends it: field names of a record and of an attempt,
# whether a breaker guards the calls, the rows (packed, see :func:`.rows.pack`). ``None``
# asks the exporter to stop.
Batch = tuple[tuple[str, ...], tuple[str, ...], bool, list[Any]]
# The answer to one batch: records taken, spans accepted, spans refused, CPU seconds so far.
Ack = tuple[int, int, int, float]


def _version() -> str:
    try:
        return metadata.version("dynamic-orchestrator-otel")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


def make_builder() -> SpanBuilder:
    """Spans for the resource the ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES`` say."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, SDK facts
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: AGENT_NAME}))
    return SpanBuilder(Encoder(resource.attributes, SCOPE_NAME, _version()))


class Exporter:
    """Encodes and posts batches of rows."""

    def __init__(self, builder: SpanBuilder, transport: Transport) -> None:
        self.builder = builder
        self.transport = transport

    def export(self, batch: Batch) -> tuple[int, int]:
        """Spans posted and accepted, spans not accepted."""
        record_fields, attempt_fields, breakers, rows = batch
        exported = failed = 0
        for first in range(0, len(rows), POST_BATCH):
            spans: list[bytes] = []
            count = 0
            try:
                build = self.builder.build
                read = reader(tuple(record_fields), tuple(attempt_fields))
                for packed in rows[first : first + POST_BATCH]:
                    row = unpack(packed)
                    record = read(row)
                    spans += build(record, breakers=breakers, content=row[2])
                    count += span_count(record)
                accepted = self.transport.post(self.builder.encoder.request(spans))
            except Exception as exc:  # a bad record or endpoint never stops the exporter
                from dynamic_orchestrator.log import get_logger

                get_logger("metrics.otel").warning("trace_export_failed", error=repr(exc))
                accepted = False
            if accepted:
                exported += count
            else:
                failed += count
        return exported, failed


def serve(inbox: Connection, outbox: Connection, exporter: Exporter) -> None:
    """Answer batches until told to stop or the serving process goes."""
    try:
        while True:
            try:
                message: Batch | None = pickle.loads(inbox.recv_bytes())
            except EOFError:
                return
            if message is None:
                return
            exported, failed = exporter.export(message)
            ack: Ack = (len(message[3]), exported, failed, time.process_time())
            outbox.send_bytes(pickle.dumps(ack))
    finally:
        exporter.transport.close()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m dynamic_orchestrator_otel.exporter IN OUT`` (pipe file descriptors)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the serving process says when to stop
    with contextlib.suppress(OSError):  # not allowed here: run at the same priority
        os.nice(NICENESS)
    in_fd, out_fd = (int(arg) for arg in (sys.argv[1:] if argv is None else argv))
    inbox = Connection(in_fd, writable=False)
    outbox = Connection(out_fd, readable=False)
    exporter = Exporter(make_builder(), Transport(Target.from_env()))
    outbox.send_bytes(b"ready")
    serve(inbox, outbox, exporter)


if __name__ == "__main__":
    main()
