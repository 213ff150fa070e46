"""Records as rows: what crosses from the serving process to the exporter process.

A :class:`~dynamic_orchestrator.models.RequestRecord` is a pydantic model; pickling one
costs about as much as the request's routing. Its field values in a tuple (attempts as
tuples too) are what the exporter needs, and the record hook packs that tuple into bytes
at once (:func:`pack`, :mod:`marshal`, a few microseconds). The queue then holds bytes
only: nothing the garbage collector tracks outlives the request (rows of live objects,
queued for seconds, were promoted to the oldest generation and brought on full
collections), and the sender thread has nothing left to serialise. The field names
travel with each batch, so both sides read them from the same model and never rely on an
order by convention.
"""

from __future__ import annotations

import functools
import marshal
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

from dynamic_orchestrator.models import Attempt, RequestRecord

ATTEMPTS = "attempt_log"
RECORD_FIELDS = tuple(name for name in RequestRecord.model_fields if name != ATTEMPTS)
ATTEMPT_FIELDS = tuple(Attempt.model_fields)
MARSHAL_VERSION = 2  # no back-references: the fastest to write for rows this small
_record_values = itemgetter(*RECORD_FIELDS)
_attempt_values = itemgetter(*ATTEMPT_FIELDS)

# One row: the record's values in RECORD_FIELDS order, its attempts' values in
# ATTEMPT_FIELDS order, then the opted-in content attributes (or None).
Row = tuple[tuple[Any, ...], list[tuple[Any, ...]], Mapping[str, Any] | None]
# A row as queued and sent: packed, or the row itself when marshal cannot write it.
Packed = bytes | Row


def to_row(record: RequestRecord, content: Mapping[str, Any] | None = None) -> Row:
    """The record's values in :data:`RECORD_FIELDS` order, its attempts as tuples."""
    attempts = [_attempt_values(a.__dict__) for a in record.attempt_log]
    return _record_values(record.__dict__), attempts, content


def pack(row: Row) -> Packed:
    """The row as bytes; the row itself in the rare case marshal refuses a value (a str
    subclass, say), which the sender then pickles with its batch."""
    try:
        return marshal.dumps(cast("Any", row), MARSHAL_VERSION)
    except ValueError:
        return row


def unpack(packed: Packed) -> Row:
    """The row :func:`pack` was given (in the exporter process, same interpreter)."""
    if isinstance(packed, bytes):
        row: Row = marshal.loads(packed)
        return row
    return packed


@functools.cache
def reader(
    record_fields: tuple[str, ...] = RECORD_FIELDS, attempt_fields: tuple[str, ...] = ATTEMPT_FIELDS
) -> Callable[[Row], RequestRecord]:
    """What reads rows of these fields (made once per pair): see :func:`read_row`."""
    # Named tuples, read by index through C descriptors, no dict per row; made by
    # ``tuple.__new__`` straight from the row's tuples (the class's own ``__new__`` is
    # Python, some 70 bytecodes a row for 30 fields). The field names travel with the
    # rows, so a row has a value for each.
    record = functools.partial(tuple.__new__, namedtuple("RecordView", (*record_fields, ATTEMPTS)))
    attempt = functools.partial(tuple.__new__, namedtuple("AttemptView", attempt_fields))

    def read(row: Row) -> RequestRecord:
        values, attempts, _ = row
        return cast("RequestRecord", record((*values, list(map(attempt, attempts)))))

    return read


def read_row(
    row: Row,
    record_fields: Sequence[str] = RECORD_FIELDS,
    attempt_fields: Sequence[str] = ATTEMPT_FIELDS,
) -> RequestRecord:
    """The record a row was made from, for reading only: its values as attributes of a
    named tuple (no dict per row), its attempts too, without building pydantic models
    (``model_construct`` was a quarter of the exporter's CPU). Every field is in the row,
    so every attribute is there."""
    return reader(tuple(record_fields), tuple(attempt_fields))(row)


def from_row(
    row: Row,
    record_fields: Sequence[str] = RECORD_FIELDS,
    attempt_fields: Sequence[str] = ATTEMPT_FIELDS,
) -> RequestRecord:
    """The record a row was made from (not validated again: it was when it was made)."""
    values, attempts, _ = row
    fields = dict(zip(record_fields, values, strict=True))
    fields[ATTEMPTS] = [
        Attempt.model_construct(**dict(zip(attempt_fields, a, strict=True))) for a in attempts
    ]
    return RequestRecord.model_construct(**fields)
