"""Records as rows: what crosses from the serving process to the exporter process.

A :class:`~dynamic_orchestrator.models.RequestRecord` is a pydantic model; pickling one
costs about as much as the request's routing. Its field values in a tuple (attempts as
tuples too) pickle in well under a microsecond each, so the record hook turns the record
into a row and a batch of rows is pickled once. The field names travel with each batch,
so both sides read them from the same model and never rely on an order by convention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from dynamic_orchestrator.models import Attempt, RequestRecord

RECORD_FIELDS = tuple(RequestRecord.model_fields)
ATTEMPT_FIELDS = tuple(Attempt.model_fields)
_ATTEMPT_LOG = RECORD_FIELDS.index("attempt_log")
_record_values = itemgetter(*RECORD_FIELDS)
_attempt_values = itemgetter(*ATTEMPT_FIELDS)

# One row: the record's field values, then the opted-in content attributes (or None).
Row = tuple[list[Any], Mapping[str, Any] | None]


def to_row(record: RequestRecord, content: Mapping[str, Any] | None = None) -> Row:
    """The record's values in :data:`RECORD_FIELDS` order, its attempts as tuples."""
    values = list(_record_values(record.__dict__))
    values[_ATTEMPT_LOG] = [_attempt_values(a.__dict__) for a in record.attempt_log]
    return values, content


def from_row(
    values: Sequence[Any],
    record_fields: Sequence[str] = RECORD_FIELDS,
    attempt_fields: Sequence[str] = ATTEMPT_FIELDS,
) -> RequestRecord:
    """The record a row was made from (not validated again: it was when it was made)."""
    fields = dict(zip(record_fields, values, strict=True))
    fields["attempt_log"] = [
        Attempt.model_construct(**dict(zip(attempt_fields, a, strict=True)))
        for a in fields.get("attempt_log", ())
    ]
    return RequestRecord.model_construct(**fields)
