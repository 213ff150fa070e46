"""Learned cost-quality model selection for Dynamic Orchestrator.

A router trained on outcome files (which model succeeded on which prompt, at what cost)
predicts each model's probability of success for a prompt and picks the model worth its
cost (:mod:`.decide`). It is opt-in: with no ``plugins.settings.router.file`` configured
its ``select_model`` returns None and the default tier selector decides. Commands:
``dynamic-orchestrator router train | predict | eval | calibrate``. With
``plugins.settings.router.outcomes`` set it also logs this project's own traffic in the
format ``train`` reads (:mod:`.outcome_log`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import Catalog
from dynamic_orchestrator.models import (
    Constraints,
    Request,
    RequestAnalysis,
    RequestRecord,
    Selection,
)

from .model import Router
from .outcome_log import OutcomeLog
from .selector import preload, select_with_router
from .settings import resolve_outcomes, settings_of

__all__ = [
    "Router",
    "feedback",
    "record",
    "register_commands",
    "select_model",
    "shutdown",
    "startup",
]

_outcome_log: OutcomeLog | None = None
"""The process's outcome log, when ``plugins.settings.router.outcomes`` is set."""


@hookimpl
def select_model(
    request: Request, analysis: RequestAnalysis, catalog: Catalog, constraints: Constraints
) -> Selection | None:
    """The router's chain for this prompt; None (tier selector decides) without a router file."""
    if _outcome_log is not None:
        _outcome_log.remember(request)
    return select_with_router(request, analysis, catalog, constraints)


@hookimpl
def startup(orchestrator: Any) -> None:
    """Read the configured router file at start-up, so a bad one is reported at once, and
    open the outcome log if one is configured (process-wide)."""
    global _outcome_log
    preload(orchestrator.config)
    path = resolve_outcomes(settings_of(orchestrator.config), orchestrator.config)
    if path is None or (_outcome_log is not None and _outcome_log.path == path):
        return
    if _outcome_log is not None:
        _outcome_log.close()
    _outcome_log = OutcomeLog(path)
    _outcome_log.start()


@hookimpl
def record(record: RequestRecord) -> None:
    """Queue the request's outcome line, when the outcome log is on."""
    if _outcome_log is not None:
        _outcome_log.add(record)


@hookimpl
def shutdown(orchestrator: Any) -> None:
    """Write the queued outcome lines and close the log."""
    global _outcome_log
    if _outcome_log is not None:
        _outcome_log.close()
        _outcome_log = None


def feedback(request_id: str, verdict: bool | float) -> bool:
    """Record the client's verdict on an earlier request (thumbs up/down, or a score in
    [0, 1]) in this process's outcome log; False when no outcome log is configured."""
    if _outcome_log is None:
        return False
    _outcome_log.verdict(request_id, verdict, source="feedback")
    return True


@hookimpl
def register_commands(register: Callable[[Any], None]) -> None:
    """Add the ``router`` command group (train, predict, eval, calibrate)."""
    from .cli import router_group

    register(router_group)
