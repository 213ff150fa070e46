"""{{ cookiecutter.description }}

A metrics sink: each finished request (hook ``record``) is appended to a JSON-lines file,
and the persistent summary behind ``dynamic-orchestrator metrics`` (hook
``metrics_summary`` with ``persistent=True``) is read from it. Settings, checked by
:class:`Settings` (hook ``plugin_settings``) when the configuration loads::

    plugins:
      {{ cookiecutter.entry_point }}:
        path: /var/lib/dynamic-orchestrator/requests.jsonl   # default: user data directory

Each orchestrator has its own :class:`JsonLinesSink` (the file and a lock), its plugin
state from the host (``host.plugin_state``), made from its settings on first use; the
hooks receive the host. Installed, this sink answers the persistent summary in place of
the default SQLite store, because an installed plugin runs before the defaults (they are
``trylast``).
Every figure of the summary is computed by the host's ``summarize``, as for every sink.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.models import PERIOD_SECONDS, MetricsSummary, RequestRecord
from dynamic_orchestrator.summary import QUANTILES, Totals, summarize
from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from dynamic_orchestrator.contract import Host

__all__ = [
    "NAME",
    "JsonLinesSink",
    "Settings",
    "metrics_summary",
    "plugin_settings",
    "record",
    "settings_path",
    "sink_of",
]

NAME = "{{ cookiecutter.entry_point }}"


class Settings(BaseModel):
    """The JSON-lines sink."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = Field(default=None, description="The file; default: user data dir.")


def settings_path(config: Config) -> Path:
    """The file the ``path`` setting names, else one in the user data directory."""
    path = config.plugin_settings(NAME, Settings).path
    if path is None:
        return platformdirs.user_data_path("dynamic-orchestrator") / f"{NAME}.jsonl"
    return Path(path).expanduser()


class JsonLinesSink:
    """Appends records to a JSON-lines file and summarises a period from it."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, record: RequestRecord) -> None:
        """Append one line: a buffered local write, no network, so it returns quickly."""
        line = record.model_dump_json() + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(line)

    def metrics_summary(self, period: str, persistent: bool) -> MetricsSummary | None:
        """The period's records from the file; None for the live windows (another sink's)."""
        if not persistent:
            return None
        now = self.clock()
        since = now - PERIOD_SECONDS[period]
        totals = Totals()
        durations: list[float] = []
        unreadable = 0
        for record in self.records():
            if record is None:
                unreadable += 1
            elif since < record.timestamp <= now:
                totals.add(record)
                durations.append(record.duration_ms)
        durations.sort()
        extra: dict[str, Any] = {"store": str(self.path)}
        notes = []
        if unreadable:
            extra["unreadable_lines"] = unreadable
            notes.append(f"{unreadable} unreadable line(s) in {self.path} were skipped")
        p50, p95, p99 = (_percentile(durations, q) for q in QUANTILES)
        return summarize(period, totals, (p50, p95, p99), notes=notes, extra=extra)

    def records(self) -> Iterator[RequestRecord | None]:
        """Every record in the file, oldest first; None for a line that does not parse."""
        if not self.path.exists():
            return
        with self._lock, self.path.open(encoding="utf-8") as file:
            lines = file.readlines()
        for line in lines:
            if line.strip():
                try:
                    yield RequestRecord.model_validate_json(line)
                except ValidationError:
                    yield None


def _percentile(sorted_values: list[float], q: float) -> float:
    """The sorted values' element ``floor(q * (n - 1))`` (the host's definition); 0 if none."""
    if not sorted_values:
        return 0.0
    return sorted_values[math.floor(q * (len(sorted_values) - 1))]


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.{{ cookiecutter.entry_point }}``, checked by :class:`Settings`."""
    return PluginSettings(NAME, Settings)


def sink_of(host: Host) -> JsonLinesSink:
    """This orchestrator's sink, made from its settings on first use."""
    return host.plugin_state(NAME, lambda: JsonLinesSink(settings_path(host.config)))


@hookimpl
def record(record: RequestRecord, host: Host | None) -> None:
    """Append a finished request to the orchestrator's file."""
    if host is not None:
        sink_of(host).record(record)


@hookimpl
def metrics_summary(period: str, persistent: bool, host: Host | None) -> MetricsSummary | None:
    """The period's records from the orchestrator's file; None for the live windows."""
    return None if host is None else sink_of(host).metrics_summary(period, persistent)
