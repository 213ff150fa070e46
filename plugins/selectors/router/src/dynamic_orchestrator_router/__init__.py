"""Learned cost-quality model selection for Dynamic Orchestrator.

A router trained on outcome files (which model succeeded on which prompt, at what cost)
predicts each model's probability of success for a prompt and picks the model worth its
cost (:mod:`.decide`). It is opt-in: with no ``plugins.settings.router.file`` configured
its ``select_model`` returns None and the default tier selector decides. Commands:
``dynamic-orchestrator router train | predict | eval | calibrate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import Catalog
from dynamic_orchestrator.models import Constraints, Request, RequestAnalysis, Selection

from .model import Router
from .selector import preload, select_with_router

__all__ = ["Router", "register_commands", "select_model", "startup"]


@hookimpl
def select_model(
    request: Request, analysis: RequestAnalysis, catalog: Catalog, constraints: Constraints
) -> Selection | None:
    """The router's chain for this prompt; None (tier selector decides) without a router file."""
    return select_with_router(request, analysis, catalog, constraints)


@hookimpl
def startup(orchestrator: Any) -> None:
    """Read the configured router file at start-up, so a bad one is reported at once."""
    preload(orchestrator.config)


@hookimpl
def register_commands(register: Callable[[Any], None]) -> None:
    """Add the ``router`` command group (train, predict, eval, calibrate)."""
    from .cli import router_group

    register(router_group)
