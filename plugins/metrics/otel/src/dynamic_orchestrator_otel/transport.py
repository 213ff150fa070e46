"""OTLP over HTTP: post encoded trace requests where the ``OTEL_EXPORTER_OTLP_*`` variables say.

Read as the OpenTelemetry specification (and the SDK's OTLP/HTTP exporter) reads them,
the traces-specific variable first, then the general one:

- ``..._TRACES_ENDPOINT`` as given, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``;
- ``..._HEADERS`` (``k=v,k2=v2``, URL-encoded values), ``..._TIMEOUT`` (seconds, default
  10), ``..._COMPRESSION`` (``gzip``, ``deflate`` or ``none``);
- ``..._CERTIFICATE`` (CA file), ``..._CLIENT_CERTIFICATE`` and ``..._CLIENT_KEY`` (mTLS).

A post that meets 429, 502, 503, 504 or a connection error is retried with exponential
backoff (tenacity) within the timeout; any other failure is reported at once.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from dynamic_orchestrator.log import get_logger
from opentelemetry.util.re import parse_env_headers
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

DEFAULT_ENDPOINT = "http://localhost:4318"
TRACES_PATH = "v1/traces"
DEFAULT_TIMEOUT_S = 10.0
RETRYABLE = frozenset({429, 502, 503, 504})
ATTEMPTS = 4

log = get_logger("metrics.otel")


def _env(env: Mapping[str, str], name: str) -> str:
    """``OTEL_EXPORTER_OTLP_TRACES_<name>``, else ``OTEL_EXPORTER_OTLP_<name>``, else ''."""
    return (
        env.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}", "").strip()
        or env.get(f"OTEL_EXPORTER_OTLP_{name}", "").strip()
    )


@dataclass(frozen=True)
class Target:
    """Where and how traces are posted."""

    endpoint: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    compression: str = "none"
    verify: bool | str = True
    cert: str | tuple[str, str] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Target:
        env = os.environ if env is None else env
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        if not endpoint:
            base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
            endpoint = f"{base.removesuffix('/')}/{TRACES_PATH}"
        try:
            timeout = float(_env(env, "TIMEOUT") or DEFAULT_TIMEOUT_S)
        except ValueError:
            timeout = DEFAULT_TIMEOUT_S
        compression = (_env(env, "COMPRESSION") or "none").lower()
        if compression not in ("gzip", "deflate", "none"):
            log.warning("otlp_compression_unsupported", compression=compression)
            compression = "none"
        client_cert, client_key = _env(env, "CLIENT_CERTIFICATE"), _env(env, "CLIENT_KEY")
        headers = parse_env_headers(_env(env, "HEADERS"), liberal=True)
        return cls(
            endpoint=endpoint,
            headers={k.lower(): v for k, v in headers.items()},
            timeout_s=timeout if timeout > 0 else DEFAULT_TIMEOUT_S,
            compression=compression,
            verify=_env(env, "CERTIFICATE") or True,
            cert=(client_cert, client_key) if client_cert and client_key else client_cert or None,
        )


class Transport:
    """Posts ``ExportTraceServiceRequest`` bodies to one :class:`Target`, on one session.

    What requests reads from the environment for a post (proxies and ``NO_PROXY``, a CA
    bundle named by ``REQUESTS_CA_BUNDLE``, ``.netrc`` credentials) is read once, here,
    for the one endpoint, and the session then told not to read it again: on every post
    it scanned the whole environment three times, most of a post's CPU in requests.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.session = requests.Session()
        self.session.headers.update(
            {"content-type": "application/x-protobuf", "user-agent": "dynamic-orchestrator-otel"}
        )
        self.session.headers.update(target.headers)
        if target.compression != "none":
            self.session.headers["content-encoding"] = target.compression
        settings = self.session.merge_environment_settings(
            target.endpoint, {}, None, target.verify, target.cert
        )
        self.proxies: dict[str, str] = settings["proxies"]
        self.verify: bool | str = settings["verify"]
        self.session.auth = requests.utils.get_netrc_auth(target.endpoint)
        self.session.trust_env = False

    def _compress(self, body: bytes) -> bytes:
        if self.target.compression == "gzip":
            return gzip.compress(body)
        if self.target.compression == "deflate":
            return zlib.compress(body)
        return body

    def _post_once(self, body: bytes) -> requests.Response:
        target = self.target
        return self.session.post(
            target.endpoint,
            data=body,
            timeout=target.timeout_s,
            proxies=self.proxies,
            verify=self.verify,
            cert=target.cert,
        )

    def post(self, body: bytes) -> bool:
        """Post one request body; True when the endpoint accepted it."""
        data = self._compress(body)
        retrying = Retrying(
            retry=retry_if_exception_type(requests.ConnectionError)
            | retry_if_result(lambda r: r.status_code in RETRYABLE),
            stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(self.target.timeout_s),
            wait=wait_exponential(multiplier=0.5, max=4),
            retry_error_callback=lambda state: (
                state.outcome.result()
                if state.outcome is not None and not state.outcome.failed
                else None
            ),
        )
        try:
            response: Any = retrying(self._post_once, data)
        except requests.RequestException as exc:  # not retried, e.g. a bad certificate
            log.warning("otlp_post_failed", endpoint=self.target.endpoint, error=repr(exc))
            return False
        if response is None or not 200 <= response.status_code < 300:
            status = None if response is None else response.status_code
            log.warning("otlp_post_refused", endpoint=self.target.endpoint, status=status)
            return False
        return True

    def close(self) -> None:
        self.session.close()
