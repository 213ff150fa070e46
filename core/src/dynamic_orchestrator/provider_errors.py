"""Provider failures mapped to the one error taxonomy, for every provider plugin.

A provider plugin pulls the HTTP status, the provider's own error message and code, the
response headers and any structured details out of its SDK's exception, and hands them to
:func:`http_error`; timeouts and connection failures go to :func:`transport_error`. The
mapping itself lives here, once, so every provider answers the fallback stage the same way
(:data:`~dynamic_orchestrator.errors.POLICIES` says what each kind then does):

=======================================================  ====================
what the provider said                                    kind
=======================================================  ====================
402; quota or billing exhausted (OpenAI                   quota_exhausted
``insufficient_quota``, Anthropic "credit balance",
Gemini per-day quota)
429 otherwise                                             rate_limited
401, 403                                                  auth
404                                                       model_not_found
400/413/422 saying the prompt is over the context window  context_overflow
other 4xx                                                 bad_request
408, 409, 425, 5xx, 529, timeouts, connection errors      transient
=======================================================  ====================

``Retry-After`` (seconds or an HTTP date), ``retry-after-ms`` and Google's
``google.rpc.RetryInfo`` become :attr:`ProviderError.retry_after`; the host's retry layer
honours it up to ``retry.max_retry_after`` and otherwise falls back at once.

Written here rather than taken from a library: each SDK raises its own exception types and
none maps them to a cross-provider taxonomy with these fallback semantics.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import ErrorKind, ProviderError, redact

__all__ = [
    "classify_status",
    "http_error",
    "parse_retry_after",
    "retry_delay_from_details",
    "transport_error",
]

QUOTA_CODES = frozenset(
    {"insufficient_quota", "billing_not_active", "billing_hard_limit_reached", "quota_exceeded"}
)
RATE_LIMIT_CODES = frozenset({"rate_limit_exceeded", "rate_limit_error", "tokens"})

_QUOTA_TEXT = re.compile(
    r"credit balance|insufficient[_ ]quota|billing (?:hard )?limit|purchase credits"
    r"|payment required|out of credits",
    re.IGNORECASE,
)
_CONTEXT_TEXT = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long"
    r"|too many (?:input )?tokens|input token count .* exceeds|exceeds the maximum number of tokens"
    r"|reduce the length of the (?:messages|prompt)|input is too long",
    re.IGNORECASE,
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")

_TRANSIENT_STATUS = frozenset({408, 409, 425, 529})


def _quota_violations(details: Iterable[Any] | None) -> list[str]:
    """The quota ids of ``google.rpc.QuotaFailure`` details (Gemini and other Google APIs)."""
    ids: list[str] = []
    for item in details or ():
        if not isinstance(item, Mapping) or not str(item.get("@type", "")).endswith(
            "google.rpc.QuotaFailure"
        ):
            continue
        for violation in item.get("violations") or ():
            if isinstance(violation, Mapping):
                ids.append(str(violation.get("quotaId") or violation.get("quotaMetric") or ""))
    return ids


def classify_status(
    status: int | None,
    message: str = "",
    *,
    code: str | None = None,
    details: Iterable[Any] | None = None,
) -> ErrorKind:
    """The error kind for an HTTP error answer.

    :param status: the HTTP status code (None when there was no answer).
    :param message: the provider's own error message.
    :param code: the provider's error code or type (``insufficient_quota``, ...).
    :param details: structured ``google.rpc`` details, when the provider sends them.
    """
    details = list(details or ())
    if status == 402 or (code is not None and code in QUOTA_CODES):
        return ErrorKind.QUOTA_EXHAUSTED
    violations = _quota_violations(details)
    if status == 429 and violations:
        # Google answers 429 for both; a per-day quota does not come back in seconds.
        daily = any("perday" in v.lower() or "daily" in v.lower() for v in violations)
        return ErrorKind.QUOTA_EXHAUSTED if daily else ErrorKind.RATE_LIMITED
    if status == 429 and (code in RATE_LIMIT_CODES or retry_delay_from_details(details)):
        return ErrorKind.RATE_LIMITED
    if status in (400, 403, 429) and _QUOTA_TEXT.search(message):
        return ErrorKind.QUOTA_EXHAUSTED
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 404:
        return ErrorKind.MODEL_NOT_FOUND
    if status is None or status >= 500 or status in _TRANSIENT_STATUS:
        return ErrorKind.TRANSIENT
    if status in (400, 413, 422) and (
        code == "context_length_exceeded" or _CONTEXT_TEXT.search(message)
    ):
        return ErrorKind.CONTEXT_OVERFLOW
    return ErrorKind.BAD_REQUEST


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
            if value >= 0:
                return value
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
        return seconds if seconds >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay_from_details(details: Iterable[Any] | None) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "3s"``)."""
    for item in details or ():
        if isinstance(item, Mapping) and str(item.get("@type", "")).endswith(
            "google.rpc.RetryInfo"
        ):
            match = _DURATION.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def http_error(
    status: int | None,
    message: str,
    *,
    provider: str,
    model: str | None = None,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
    details: Iterable[Any] | None = None,
) -> ProviderError:
    """A :class:`ProviderError` for an HTTP error answer, with its kind and retry delay."""
    details = list(details or ())
    kind = classify_status(status, message, code=code, details=details)
    retry_after = parse_retry_after(headers)
    if retry_after is None:
        retry_after = retry_delay_from_details(details)
    text = " ".join(redact(message or "").split()) or f"HTTP {status} without a message"
    if len(text) > 500:
        text = text[:497] + "..."
    return ProviderError(
        kind,
        text,
        provider=provider,
        model=model,
        status_code=status,
        retry_after=retry_after if kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT) else None,
    )


def transport_error(
    exc: BaseException, *, provider: str, model: str | None = None
) -> ProviderError:
    """A transient :class:`ProviderError` for a timeout or a failed connection."""
    name = type(exc).__name__
    what = "timed out" if "timeout" in name.lower() else "connection failed"
    detail = redact(str(exc)).strip()
    return ProviderError(
        ErrorKind.TRANSIENT,
        f"{what} ({name}{': ' + detail[:200] if detail else ''})",
        provider=provider,
        model=model,
    )
