"""Errors, and the one taxonomy of provider failures that the fallback stage acts on.

Every provider plugin maps its SDK's exceptions to a :class:`ProviderError` with an
:class:`ErrorKind`; what the executor does with each kind is fixed here, in
:data:`POLICIES`, so there is one table to read:

==================  ===========  ==========================  ===============
kind                retry same   fall back                   counts (breaker)
==================  ===========  ==========================  ===============
transient           yes          yes                         yes
rate_limited        if short     yes                         yes
quota_exhausted     no           yes                         yes (long)
auth                no           yes                         no (misconfig)
model_not_found     no           yes                         yes
bad_request         no           no                          no
context_overflow    no           larger-context models only  no
unavailable         no           yes                         no
cancelled           no           no                          no
==================  ===========  ==========================  ===============
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class OrchestratorError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(OrchestratorError):
    """The configuration is invalid; the message names the file and key path."""


class RequestError(OrchestratorError):
    """A request or its arguments are invalid; the message says which field and why."""


class PluginError(OrchestratorError):
    """A plugin failed; the message names the plugin and the hook."""

    def __init__(self, message: str, *, plugin: str | None = None, hook: str | None = None):
        super().__init__(message)
        self.plugin = plugin
        self.hook = hook


class NoImplementationError(OrchestratorError):
    """No installed plugin implements a stage the request needs."""


class BudgetExceededError(OrchestratorError):
    """The configured budget for the period is spent."""


class ErrorKind(enum.StrEnum):
    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    AUTH = "auth"
    MODEL_NOT_FOUND = "model_not_found"
    BAD_REQUEST = "bad_request"
    CONTEXT_OVERFLOW = "context_overflow"
    UNAVAILABLE = "unavailable"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Policy:
    retry: bool
    fallback: bool
    counts_against_breaker: bool
    larger_context_only: bool = False


POLICIES: dict[ErrorKind, Policy] = {
    ErrorKind.TRANSIENT: Policy(retry=True, fallback=True, counts_against_breaker=True),
    ErrorKind.RATE_LIMITED: Policy(retry=True, fallback=True, counts_against_breaker=True),
    ErrorKind.QUOTA_EXHAUSTED: Policy(retry=False, fallback=True, counts_against_breaker=True),
    ErrorKind.AUTH: Policy(retry=False, fallback=True, counts_against_breaker=False),
    ErrorKind.MODEL_NOT_FOUND: Policy(retry=False, fallback=True, counts_against_breaker=True),
    ErrorKind.BAD_REQUEST: Policy(retry=False, fallback=False, counts_against_breaker=False),
    ErrorKind.CONTEXT_OVERFLOW: Policy(
        retry=False, fallback=True, counts_against_breaker=False, larger_context_only=True
    ),
    ErrorKind.UNAVAILABLE: Policy(retry=False, fallback=True, counts_against_breaker=False),
    ErrorKind.CANCELLED: Policy(retry=False, fallback=False, counts_against_breaker=False),
}


class ProviderError(OrchestratorError):
    """A model call failed. ``kind`` decides retry, fallback and breaker accounting.

    The message must already be free of secrets; :func:`redact` helps.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(redact(message))
        self.kind = kind
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.retry_after = retry_after

    @property
    def policy(self) -> Policy:
        return POLICIES[self.kind]

    def describe(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        status = f" HTTP {self.status_code}" if self.status_code else ""
        return f"{self.kind.value}{status}{' from ' + where if where else ''}: {self}"


_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(
        r"(?i)((?:api[_-]?key|x-api-key|x-goog-api-key|key|token|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]{6,}"
    ),
    re.compile(r"\b(sk-(?:ant-|proj-)?)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\b(AIza)[A-Za-z0-9_\-]{20,}"),
    # Connection URLs: redis://user:pass@host and ?password=... (Redis, databases).
    re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^@\s/]+(?=@)"),
    re.compile(r"(?i)([?&](?:password|passwd|pass|auth)=)[^&\s#]+"),
]

_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (an API key read from the environment) for redaction."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def redact_known(text: str) -> str:
    """Remove only the secrets this process holds (its API keys) from ``text``.

    For a model's answer: the key-shaped patterns of :func:`redact` would also mangle an
    answer that shows an example key, so only the process's own keys are taken out.
    """
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    return text


def redact(text: str) -> str:
    """Remove known secrets and anything shaped like a key from ``text``."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[REDACTED]", text)
    return text
