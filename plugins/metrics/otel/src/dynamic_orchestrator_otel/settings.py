"""What the standard OpenTelemetry environment variables say about this sink.

The sink exports only when an OTLP endpoint is named (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_ENDPOINT``), so installing the plugin never sends anything by
itself; ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it off. Headers,
timeout, compression and certificates are read from the other ``OTEL_EXPORTER_OTLP_*``
variables by :mod:`dynamic_orchestrator_otel.transport`. Message content is added to spans only with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (the GenAI conventions'
switch).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
SCHEDULE_DELAY = "OTEL_BSP_SCHEDULE_DELAY"
MAX_QUEUE_SIZE = "OTEL_BSP_MAX_QUEUE_SIZE"


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class Settings:
    """The sink's settings, from the environment."""

    enabled: bool
    why_not: str | None
    capture_content: bool
    schedule_delay_s: float
    max_queue_size: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        why_not: str | None = None
        if _true(env.get("OTEL_SDK_DISABLED")):
            why_not = "OTEL_SDK_DISABLED is true"
        elif env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
            why_not = "OTEL_TRACES_EXPORTER is none"
        elif not any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES):
            why_not = "no OTLP endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT"
        return cls(
            enabled=why_not is None,
            why_not=why_not,
            capture_content=_true(env.get(CAPTURE_CONTENT)),
            schedule_delay_s=_number(env, SCHEDULE_DELAY, 5000.0) / 1000,
            max_queue_size=int(_number(env, MAX_QUEUE_SIZE, 2048.0)),
        )
