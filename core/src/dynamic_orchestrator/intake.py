"""Accepting a request: raw arguments validated into a :class:`Request` with a new id."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .contract import Constraints, Options, Request, RequestError

__all__ = ["client_can_sample", "constraints_for", "make_request", "new_request_id"]


class _RequestIds:
    """Unique request ids, cheaply: 128 random bits per id from a generator seeded once
    from the operating system (``uuid.uuid4`` reads ``os.urandom`` for every id, which
    costs more than a whole routing decision on some machines). Ids need to be unique
    across processes (they meet in the shared metrics store), not unguessable."""

    def __init__(self) -> None:
        self._random = random.Random()  # seeded from os.urandom
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return f"{self._random.getrandbits(128):032x}"


_request_ids = _RequestIds()


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return _request_ids.next()


def _field_errors(exc: ValidationError, prefix: str) -> str:
    parts = []
    for item in exc.errors():
        loc = ".".join(str(p) for p in item["loc"])
        where = f"{prefix}.{loc}" if loc else prefix
        message = "unknown option" if item["type"] == "extra_forbidden" else item["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def make_request(request: Any, context: Any, options: Any, *, max_chars: int) -> Request:
    """Validate raw arguments; a :class:`RequestError` says which field is wrong."""
    if not isinstance(request, str):
        raise RequestError(f"request: expected a string, got {type(request).__name__}")
    text = request.strip()
    if not text:
        raise RequestError("request: must not be empty")
    if len(text) > max_chars:
        raise RequestError(f"request: {len(text)} characters, more than the limit of {max_chars}")
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        raise RequestError(f"context: expected an object, got {type(context).__name__}")
    if options is None:
        options = {}
    if isinstance(options, Options):
        parsed_options = options
    elif isinstance(options, Mapping):
        try:
            parsed_options = Options.model_validate(dict(options))
        except ValidationError as exc:
            raise RequestError(_field_errors(exc, "options")) from None
    else:
        raise RequestError(f"options: expected an object, got {type(options).__name__}")
    try:
        return Request(
            text=text,
            context=dict(context),
            options=parsed_options,
            request_id=new_request_id(),
        )
    except ValidationError as exc:
        raise RequestError(_field_errors(exc, "")) from None


def client_can_sample(client: Any) -> bool:
    """Whether the MCP client connection can run a call on the client's own model."""
    if client is None:
        return False
    can_sample = getattr(client, "can_sample", None)
    if callable(can_sample):
        return bool(can_sample())
    return bool(can_sample)


def constraints_for(request: Request, can_sample: bool) -> Constraints:
    """The caller's limits on model choice, from the request's options."""
    options = request.options
    return Constraints(
        max_cost=options.max_cost,
        preferred_models=list(options.preferred_models),
        model=options.model,
        max_tokens=options.max_tokens,
        client_can_sample=can_sample,
    )
