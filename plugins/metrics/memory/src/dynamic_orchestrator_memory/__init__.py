"""The default live metrics sink: this process's 1m/5m/1h/1d windows behind ``get_metrics``.

Each orchestrator has its own :class:`MemorySink`, its plugin state
(``host.plugin_state``), so two orchestrators never mix their figures, even on one plugin
manager. The sink answers ``metrics_summary`` with
``persistent=False``; the persistent store is another plugin's. How the windows stay
bounded and how accurate the percentiles are: :mod:`dynamic_orchestrator_memory.windows`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.models import MetricsSummary, RequestRecord

from .windows import BUCKETS, RELATIVE_ACCURACY, MemorySink, RollingWindow

if TYPE_CHECKING:
    from dynamic_orchestrator.contract import Host

__all__ = [
    "BUCKETS",
    "RELATIVE_ACCURACY",
    "MemorySink",
    "RollingWindow",
    "metrics_summary",
    "record",
    "sink_of",
]

NAME = "memory"
"""This plugin's name: its state (``host.plugin_state``)."""


def sink_of(host: Host) -> MemorySink:
    """The host's sink, made on first use."""
    return host.plugin_state(NAME, MemorySink)


@hookimpl(trylast=True)
def record(record: RequestRecord, host: Host | None) -> None:
    """Count a finished request in every window (microseconds, under a lock)."""
    if host is not None:
        sink_of(host).add(record)


@hookimpl(trylast=True)
def metrics_summary(period: str, persistent: bool, host: Host | None) -> MetricsSummary | None:
    """This orchestrator's live window of ``period``; None for the persistent store."""
    if persistent or host is None:
        return None
    return sink_of(host).summary(period)
