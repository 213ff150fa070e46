"""The default live metrics sink: this process's 1m/5m/1h/1d windows behind ``get_metrics``.

At ``startup`` the plugin attaches one :class:`MemorySink` to the orchestrator's plugin
manager (orchestrators sharing a manager share it; each manager has its own), so two
orchestrators never mix their figures. The sink answers ``metrics_summary`` with
``persistent=False``; the persistent store is another plugin's. How the windows stay
bounded and how accurate the percentiles are: :mod:`dynamic_orchestrator_memory.windows`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.models import MetricsSummary, RequestRecord

from .windows import BUCKETS, RELATIVE_ACCURACY, MemorySink, RollingWindow

if TYPE_CHECKING:
    from dynamic_orchestrator import Orchestrator

__all__ = [
    "BUCKETS",
    "RELATIVE_ACCURACY",
    "MemorySink",
    "MemorySinkPlugin",
    "RollingWindow",
    "shutdown",
    "startup",
]

ATTACHED_NAME = "dynamic_orchestrator_memory.sink"


class MemorySinkPlugin:
    """The hooks of one attached :class:`MemorySink`."""

    def __init__(self, sink: MemorySink | None = None) -> None:
        self.sink = sink or MemorySink()

    @hookimpl(trylast=True)
    def record(self, record: RequestRecord) -> None:
        """Count a finished request in every window (microseconds, under a lock)."""
        self.sink.add(record)

    @hookimpl(trylast=True)
    def metrics_summary(self, period: str, persistent: bool) -> MetricsSummary | None:
        """This process's live window of ``period``; None for the persistent store."""
        if persistent:
            return None
        return self.sink.summary(period)


@hookimpl(trylast=True)
def startup(orchestrator: Orchestrator) -> None:
    """Attach this manager's sink (shared by orchestrators on the same manager)."""
    orchestrator.pm.attach(ATTACHED_NAME, MemorySinkPlugin, owner=orchestrator)


@hookimpl(trylast=True)
def shutdown(orchestrator: Orchestrator) -> None:
    """Detach the sink when the last orchestrator on the manager closes."""
    orchestrator.pm.detach(ATTACHED_NAME, owner=orchestrator)
