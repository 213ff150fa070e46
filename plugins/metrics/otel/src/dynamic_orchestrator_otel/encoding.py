"""OTLP trace protobuf, written straight to bytes.

An ``ExportTraceServiceRequest`` is a few nested length-prefixed messages, and the spans
this plugin sends have a fixed shape, so they are encoded here directly rather than
through the SDK's span objects and encoder: in one measurement on a loaded 2-CPU machine,
building ``ReadableSpan`` objects and running ``encode_spans`` took about 300 us of CPU per
request (seven spans), building the ``opentelemetry-proto`` messages in Python about
150 us, and writing the bytes here under 50 us. That CPU is taken by a worker thread, but
it holds the GIL the event loop needs. The field numbers are read from the
``opentelemetry-proto`` descriptors, so the layout is the library's; the tests decode
every export with it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5

# The conventions' span kinds and status codes, as the proto numbers them.
INTERNAL = Span.SPAN_KIND_INTERNAL
CLIENT = Span.SPAN_KIND_CLIENT
STATUS_OK = Status.STATUS_CODE_OK
STATUS_ERROR = Status.STATUS_CODE_ERROR
# The parent's is-remote bit is known (it is never remote), as the SDK's encoder says.
FLAGS = 0x100

_double = struct.Struct("<d").pack
_fixed64 = struct.Struct("<Q").pack
_fixed32 = struct.Struct("<I").pack


_SMALL = [bytes((i,)) for i in range(128)]


def varint(value: int) -> bytes:
    """A base-128 varint; negative values as 64-bit two's complement, as int64 is."""
    if 0 <= value < 0x80:
        return _SMALL[value]
    if 0 <= value < 0x4000:
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(message: Any, field: str, wire_type: int) -> bytes:
    """The key of ``field`` of a message class, its number taken from the descriptor."""
    number: int = message.DESCRIPTOR.fields_by_name[field].number
    return varint(number << 3 | wire_type)


def delimited(key: bytes, payload: bytes) -> bytes:
    return key + varint(len(payload)) + payload


_REQUEST_RESOURCE_SPANS = tag(ExportTraceServiceRequest, "resource_spans", LENGTH)
_RESOURCE_SPANS_RESOURCE = tag(ResourceSpans, "resource", LENGTH)
_RESOURCE_SPANS_SCOPE_SPANS = tag(ResourceSpans, "scope_spans", LENGTH)
_RESOURCE_ATTRIBUTES = tag(Resource, "attributes", LENGTH)
_SCOPE_SPANS_SCOPE = tag(ScopeSpans, "scope", LENGTH)
_SCOPE_SPANS_SPANS = tag(ScopeSpans, "spans", LENGTH)
_SCOPE_NAME = tag(InstrumentationScope, "name", LENGTH)
_SCOPE_VERSION = tag(InstrumentationScope, "version", LENGTH)
_KEY = tag(KeyValue, "key", LENGTH)
_VALUE = tag(KeyValue, "value", LENGTH)
_STRING = tag(AnyValue, "string_value", LENGTH)
_BOOL = tag(AnyValue, "bool_value", VARINT)
_INT = tag(AnyValue, "int_value", VARINT)
_DOUBLE = tag(AnyValue, "double_value", FIXED64)
_ARRAY = tag(AnyValue, "array_value", LENGTH)
_ARRAY_VALUES = tag(ArrayValue, "values", LENGTH)
_TRACE_ID = tag(Span, "trace_id", LENGTH) + b"\x10"
_SPAN_ID = tag(Span, "span_id", LENGTH) + b"\x08"
_PARENT_ID = tag(Span, "parent_span_id", LENGTH) + b"\x08"
_NAME = tag(Span, "name", LENGTH)
_KIND = tag(Span, "kind", VARINT)
_START = tag(Span, "start_time_unix_nano", FIXED64)
_END = tag(Span, "end_time_unix_nano", FIXED64)
# A span's start (its key written before), the end's key and the end: one pack.
_TIMES = struct.Struct(f"<Q{len(_END)}sQ")
_times = _TIMES.pack
# What the children of one parent share: their trace id, parent id and the key of their
# own id (see Encoder.child).
_CHILD_SHARED = len(_TRACE_ID) + 16 + len(_PARENT_ID) + 8 + len(_SPAN_ID)
# A child span's own id, then its start and end, each with its key.
_CHILD_TAIL = struct.Struct(f"<8s{len(_START)}sQ{len(_END)}sQ")
_child_tail, _CHILD_TAIL_SIZE = _CHILD_TAIL.pack, _CHILD_TAIL.size
_ATTRIBUTE = tag(Span, "attributes", LENGTH)
_STATUS = tag(Span, "status", LENGTH)
_FLAGS = tag(Span, "flags", FIXED32) + _fixed32(FLAGS)
_STATUS_CODE = tag(Status, "code", VARINT)
_STATUS_MESSAGE = tag(Status, "message", LENGTH)
# A string attribute's framing inside its key-value, after the key: the value's key and
# length, the string's key and length; below _SHORT_TEXT bytes of key and value together,
# every length fits one byte.
_TEXT_FRAMING = len(_VALUE) + 1 + len(_STRING) + 1
_SHORT_TEXT = 0x80 - _TEXT_FRAMING
_TRUE = _BOOL + b"\x01"
_FALSE = _BOOL + b"\x00"


def any_value(value: Any) -> bytes:
    """An ``AnyValue``'s fields: str, bool, int, float or a sequence of them."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if isinstance(value, str):
        return delimited(_STRING, value.encode())
    if isinstance(value, int):
        return _INT + varint(value)
    if isinstance(value, float):
        return _DOUBLE + _double(value)
    if isinstance(value, Sequence):
        return delimited(_ARRAY, b"".join(delimited(_ARRAY_VALUES, any_value(v)) for v in value))
    return delimited(_STRING, str(value).encode())


def key_value(key: str, value: Any) -> bytes:
    """A ``KeyValue`` message's fields."""
    return delimited(_KEY, key.encode()) + delimited(_VALUE, any_value(value))


def status(code: int, message: str | None = None) -> bytes:
    """A span's ``status`` field, ready to append to a span."""
    body = _STATUS_CODE + varint(code)
    if message:
        body = delimited(_STATUS_MESSAGE, message.encode()) + body
    return delimited(_STATUS, body)


class Encoder:
    """Encodes spans of one resource and scope; repeated attributes are encoded once."""

    CACHE_LIMIT = 4096

    def __init__(
        self, resource: Mapping[str, Any], scope_name: str, scope_version: str = ""
    ) -> None:
        attributes = b"".join(
            delimited(_RESOURCE_ATTRIBUTES, key_value(k, v)) for k, v in resource.items()
        )
        scope = delimited(_SCOPE_NAME, scope_name.encode())
        if scope_version:
            scope += delimited(_SCOPE_VERSION, scope_version.encode())
        self._resource = delimited(_RESOURCE_SPANS_RESOURCE, attributes)
        self._scope = delimited(_SCOPE_SPANS_SCOPE, scope)
        self._attributes: dict[tuple[str, type, Any], bytes] = {}
        self._doubles: dict[str, bytes] = {}
        self._names: dict[tuple[str, int], bytes] = {}
        self._stages: dict[str, bytes] = {}

    def attribute(self, key: str, value: Any) -> bytes:
        """A span's ``attributes`` field.

        Strings, flags and integers are kept once encoded (most repeat: intents, models,
        token counts); a float has its key's bytes kept and only its eight bytes written.
        """
        kind = type(value)
        if kind is float:
            head = self._doubles.get(key)
            if head is None:
                head = self.double_head(key)
            return head + _double(value)
        if kind is not str and kind is not bool and kind is not int:
            return delimited(_ATTRIBUTE, key_value(key, value))
        cached = self._attributes.get((key, kind, value))
        if cached is None:
            if len(self._attributes) >= self.CACHE_LIMIT:
                self._attributes.clear()
            cached = delimited(_ATTRIBUTE, key_value(key, value))
            self._attributes[key, kind, value] = cached
        return cached

    def double_head(self, key: str) -> bytes:
        """A float attribute's ``attributes`` field up to its value's eight bytes."""
        head = self._doubles.get(key)
        if head is None:
            head = delimited(_KEY, key.encode()) + _VALUE + b"\x09" + _DOUBLE
            head = self._doubles[key] = _ATTRIBUTE + varint(len(head) + 8) + head
        return head

    @staticmethod
    def text_head(key: str) -> bytes:
        """The key part of a string attribute, for :meth:`text`."""
        return delimited(_KEY, key.encode())

    @staticmethod
    def text(head: bytes, value: str) -> bytes:
        """A string attribute whose value seldom repeats (an id): written, not kept;
        ``head`` from :meth:`text_head`. Short ones (ids) have one-byte lengths."""
        data = value.encode()
        size = len(data)
        if len(head) + size < _SHORT_TEXT:
            return b"".join(
                (_ATTRIBUTE, _SMALL[len(head) + size + _TEXT_FRAMING], head,
                 _VALUE, _SMALL[size + len(_STRING) + 1], _STRING, _SMALL[size], data)
            )  # fmt: skip
        return delimited(_ATTRIBUTE, head + delimited(_VALUE, delimited(_STRING, data)))

    def attributes(self, items: Iterable[tuple[str, Any]]) -> bytes:
        """Attributes as a span carries them; a None value is left out."""
        attribute, doubles = self.attribute, self._doubles
        out: list[bytes] = []
        for key, value in items:
            if type(value) is float and key in doubles:  # most are: one lookup, one pack
                out += (doubles[key], _double(value))
            elif value is not None:
                out.append(attribute(key, value))
        return b"".join(out)

    def span(
        self,
        trace_id: bytes,
        span_id: bytes,
        parent_id: bytes | None,
        name: str,
        kind: int,
        start: int,
        end: int,
        attributes: Iterable[bytes] = (),
        span_status: bytes = b"",
    ) -> list[bytes]:
        """One ``Span``, as parts that, joined, are a field of :meth:`request`'s scope;
        ``attributes`` encoded (by :meth:`attribute`, :meth:`attributes`, a :class:`Fields`
        or a :class:`Doubles`), in as many parts as come, ``span_status`` by :func:`status`.
        Nothing is joined here: the request's join copies each part once."""
        head = self._names.get((name, kind))
        if head is None:
            if len(self._names) >= self.CACHE_LIMIT:
                self._names.clear()
            head = delimited(_NAME, name.encode()) + _KIND + varint(kind) + _START
            head = self._names[name, kind] = head
        parts = [_TRACE_ID, trace_id, _SPAN_ID, span_id]
        if parent_id is not None:
            parts += (_PARENT_ID, parent_id)
        parts += (head, _times(start, _END, end))
        parts += attributes
        parts += (span_status, _FLAGS)
        parts.insert(0, _SCOPE_SPANS_SPANS + varint(sum(map(len, parts))))
        return parts

    # A child span (a stage, a provider attempt) is written as three parts, since protobuf
    # fields may come in any order: its constant part first (framing, name, kind, flags,
    # attributes and status: the same from request to request, so kept), then what the
    # children of one parent share (their trace and parent ids), then its own id and
    # times, one pack. Nothing is joined per span: the request's join copies each part once.

    @staticmethod
    def shared(trace_id: bytes, parent_id: bytes) -> bytes:
        """What the children of ``parent_id`` share, for :meth:`child`."""
        return _TRACE_ID + trace_id + _PARENT_ID + parent_id + _SPAN_ID

    @staticmethod
    def child_head(name: str, kind: int, fields: bytes = b"") -> bytes:
        """A child span's constant part, for :meth:`child`: its framing, name, kind and
        flags, then ``fields`` (attributes, a :func:`status`), encoded."""
        fields = delimited(_NAME, name.encode()) + _KIND + varint(kind) + _FLAGS + fields
        size = len(fields) + _CHILD_SHARED + _CHILD_TAIL_SIZE
        return _SCOPE_SPANS_SPANS + varint(size) + fields

    @staticmethod
    def child(
        head: bytes, shared: bytes, span_id: bytes, start: int, end: int
    ) -> tuple[bytes, ...]:
        """A child span as parts: its :meth:`child_head`, its parent's :meth:`shared`, its
        id and times."""
        return head, shared, _child_tail(span_id, _START, start, _END, end)

    def stage_spans(
        self,
        shared: bytes,
        span_ids: bytes,
        start: int,
        stages: Iterable[tuple[str, float, float]],
    ) -> list[bytes]:
        """Internal spans with no attribute and no status (a request's stages), children
        of the parent ``shared`` names (:meth:`shared`): ``(name, start in ms after start,
        duration in ms)`` each, their ids taken in turn from ``span_ids`` (eight bytes
        each); as parts that, joined, are the spans one after the other."""
        heads, tail, start_key, end_key = self._stages, _child_tail, _START, _END
        out: list[bytes] = []
        at = 0
        for name, offset_ms, duration_ms in stages:
            began = start + int(offset_ms * 1e6)
            ended = began + int(duration_ms * 1e6)
            out += (
                heads.get(name) or self._stage_head(name),
                shared,
                tail(span_ids[at : at + 8], start_key, began, end_key, max(began, ended)),
            )
            at += 8
        return out

    def _stage_head(self, name: str) -> bytes:
        """A stage span's constant part (:meth:`child_head`), kept by name."""
        if len(self._stages) >= self.CACHE_LIMIT:
            self._stages.clear()
        head = self._stages[name] = self.child_head(name, INTERNAL)
        return head

    def request(self, spans: Sequence[bytes]) -> bytes:
        """An ``ExportTraceServiceRequest`` holding ``spans`` (parts from :meth:`span`,
        :meth:`child`, :meth:`stage_spans`) under this resource and scope. The messages
        around the spans are sized first, so the spans are copied once, by one join."""
        size = len(self._scope) + sum(map(len, spans))
        scope_spans = _RESOURCE_SPANS_SCOPE_SPANS + varint(size) + self._scope
        outer = len(self._resource) + len(scope_spans) - len(self._scope) + size
        head = _REQUEST_RESOURCE_SPANS + varint(outer) + self._resource + scope_spans
        return b"".join(chain((head,), spans))


class Fields:
    """Attributes of fixed keys whose values repeat from request to request (models,
    intents, outcomes): encoded once per set of values, then copied.

    Each position holds values of one type (a record field's), so a set of values is its
    own cache key; a None value leaves its attribute out.
    """

    def __init__(self, encoder: Encoder, keys: Sequence[str]) -> None:
        self.encoder = encoder
        self.keys = tuple(keys)
        self._seen: dict[tuple[Any, ...], bytes] = {}

    def encode(self, values: tuple[Any, ...]) -> bytes:
        """The attributes ``keys`` with ``values``, encoded."""
        encoded = self._seen.get(values)
        if encoded is None:
            if len(self._seen) >= Encoder.CACHE_LIMIT:
                self._seen.clear()
            encoded = self.encoder.attributes(zip(self.keys, values, strict=True))
            self._seen[values] = encoded
        return encoded


class Doubles:
    """Attributes of fixed keys whose values are floats that differ with every request
    (durations, costs, scores): each key's bytes are written once, and a set of values
    that are all floats is one ``struct`` pack (keys and values interleaved by ``zip``
    and ``chain``, in C). A None among them (an unknown score) takes the general path,
    which leaves its attribute out.
    """

    def __init__(self, encoder: Encoder, keys: Sequence[str]) -> None:
        self.encoder = encoder
        self.keys = tuple(keys)
        self._heads = tuple(encoder.double_head(key) for key in self.keys)
        self._pack = struct.Struct("<" + "".join(f"{len(h)}sd" for h in self._heads)).pack

    def encode(self, values: tuple[float | None, ...]) -> bytes:
        """The attributes ``keys`` with ``values``, encoded."""
        try:
            return self._pack(*chain.from_iterable(zip(self._heads, values, strict=True)))
        except struct.error:  # a None: written one by one, without it
            return self.encoder.attributes(zip(self.keys, values, strict=True))
