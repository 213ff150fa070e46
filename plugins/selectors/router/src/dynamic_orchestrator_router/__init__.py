"""Learned cost-quality model selection for Dynamic Orchestrator.

A router trained on outcome files (which model succeeded on which prompt, at what cost)
predicts each model's probability of success for a prompt and picks the model worth its
cost (:mod:`.decide`). It is opt-in: with no ``plugins.settings.router.file`` configured
its ``select_model`` (a wrapper around the other selectors) leaves their choice alone. Commands:
``dynamic-orchestrator router train | predict | eval | calibrate``. With
``plugins.settings.router.outcomes`` set it also logs this project's own traffic in the
format ``train`` reads (:mod:`.outcome_log`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import Catalog
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.models import (
    Constraints,
    Request,
    RequestAnalysis,
    RequestRecord,
    Selection,
)

from .outcome_log import OutcomeLog
from .selector import Declined, preload, select_with_router
from .settings import SETTINGS, resolve_outcomes, settings_of

if TYPE_CHECKING:
    from dynamic_orchestrator.contract import Host

    from .model import Router

NAME = "router.outcomes"

__all__ = [
    "Router",
    "plugin_settings",
    "record",
    "register_commands",
    "select_model",
    "shutdown",
    "startup",
]


def __getattr__(name: str) -> Any:
    if name == "Router":  # numpy comes with it: imported on first use
        from .model import Router

        return Router
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Outcomes:
    """One orchestrator's outcome log, open while it runs, when
    ``plugins.router.outcomes`` is set."""

    log: OutcomeLog | None = None


def _outcomes(host: Host | None) -> _Outcomes:
    if host is None:  # a call with no orchestrator behind it logs nothing
        return _Outcomes()
    return host.plugin_state(NAME, _Outcomes)


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.router`` (or ``plugins.settings.router``): the router file and its knobs."""
    return SETTINGS


@hookimpl(wrapper=True)
def select_model(
    request: Request,
    analysis: RequestAnalysis,
    catalog: Catalog,
    constraints: Constraints,
    host: Host,
) -> Generator[None, Selection | None, Selection | None]:
    """The router's chain for this prompt, around the other selectors.

    Without a router file the other selectors' choice stands; when the router declines
    (no model fits, a bad file), theirs stands with the reason ``router not used: <why>``.
    """
    log = _outcomes(host).log
    if log is not None:
        log.remember(request)
    decided = select_with_router(request, analysis, catalog, constraints)
    chosen = yield
    if isinstance(decided, Selection):
        return decided
    if isinstance(decided, Declined) and chosen is not None:
        why = f"router not used: {decided.why}"
        return chosen.model_copy(update={"reasons": [why, *chosen.reasons]})
    return chosen


@hookimpl
def startup(orchestrator: Host) -> None:
    """Read the configured router file at start-up, so a bad one is reported at once, and
    open this orchestrator's outcome log if one is configured."""
    preload(orchestrator.config)
    path = resolve_outcomes(settings_of(orchestrator.config), orchestrator.config)
    state = _outcomes(orchestrator)
    if path is None or (state.log is not None and state.log.path == path):
        return
    if state.log is not None:
        state.log.close()
    state.log = OutcomeLog(path)
    state.log.start()


@hookimpl
def record(record: RequestRecord, host: Host) -> None:
    """Queue the request's outcome line, when the outcome log is on."""
    log = _outcomes(host).log
    if log is not None:
        log.add(record)


@hookimpl
def shutdown(orchestrator: Host) -> None:
    """Write the queued outcome lines and close the log."""
    state = _outcomes(orchestrator)
    if state.log is not None:
        state.log.close()
        state.log = None


@hookimpl
def record_verdict(request_id: str, verdict: bool | float, source: str, host: Host) -> bool:
    """Queue the verdict beside the request's outcome line, when the outcome log is on."""
    log = _outcomes(host).log
    if log is None:
        return False
    log.verdict(request_id, verdict, source=source)
    return True


@hookimpl
def register_commands(register: Callable[[Any], None]) -> None:
    """Add the ``router`` command group (train, predict, eval, calibrate)."""
    from .cli import router_group

    register(router_group)
