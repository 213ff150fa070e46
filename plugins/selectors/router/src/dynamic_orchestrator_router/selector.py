"""The ``select_model`` stage with a trained router.

The router scores its own models (the names of its training data); each is mapped onto a
catalog model: ``plugins.settings.router.models`` first (``null`` leaves a model out), else
the name itself when the catalog or genai-prices knows it, else its bare lower-case name
(``mistralai/Mixtral-8x7B-Instruct-v0.1`` → ``mixtral-8x7b-instruct-v0.1``). Costs are the
catalog's estimates for this request's tokens, at today's list prices, so ``max_cost``
means what it means for every selector; a model the catalog cannot price uses the cost the
router learned from its data, and the reason says so.

The chain is the request's preferred models, then the router's order (see
:mod:`dynamic_orchestrator_router.decide`), leaving out models that are not usable now,
whose context window is too small or whose estimate exceeds ``max_cost``. The tier
selector decides instead when no router file is configured or a model is forced (the hook
returns None), and when the router file or settings are bad or none of the router's models
is usable within ``max_cost`` (the tier selector's chain is returned with a reason saying
why; without the tier plugin installed the hook declines).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dynamic_orchestrator.catalog import Catalog
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.log import get_logger
from dynamic_orchestrator.models import Candidate, Constraints, Request, RequestAnalysis, Selection

from .settings import (
    PREFIX,
    RouterFileError,
    RouterSettings,
    RouterSettingsError,
    resolve_file,
    settings_of,
)

if TYPE_CHECKING:  # numpy comes with these: imported once a router file is configured
    from .decide import Knobs
    from .model import Router

log = get_logger("router")

_lock = threading.Lock()
_routers: dict[Path, tuple[tuple[int, int], Router]] = {}


def load_router(path: Path) -> Router:
    """The router at ``path``, read once and again only when the file changes."""
    try:
        stat = path.stat()
    except OSError:
        raise RouterFileError(f"{path}: no such router file") from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    from .model import Router

    with _lock:
        cached = _routers.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    router = Router.load(path)
    with _lock:
        _routers[path] = (stamp, router)
    return router


def knobs_for(settings: RouterSettings, router: Router) -> Knobs:
    """The settings' knobs, else those stored in the router file, else the defaults."""
    from .decide import DEFAULT_TARGET, DEFAULT_WTP, Knobs

    stored = router.defaults
    return Knobs(
        mode=settings.mode or stored.get("mode", "utility"),
        target=settings.target
        if settings.target is not None
        else stored.get("target", DEFAULT_TARGET),
        willingness_to_pay=(
            settings.willingness_to_pay
            if settings.willingness_to_pay is not None
            else stored.get("willingness_to_pay", DEFAULT_WTP)
        ),
    )


def catalog_name(name: str, settings: RouterSettings, catalog: Catalog) -> tuple[str | None, str]:
    """The catalog model a router model stands for, or None and why not."""
    if name in settings.models:
        mapped = settings.models[name]
        if mapped is None:
            return None, f"left out by {PREFIX}.models"
        return mapped, f"mapped by {PREFIX}.models"
    if catalog.get(name) is not None:
        return name, "same name"
    bare = name.rsplit("/", 1)[-1].lower()
    if bare != name and catalog.get(bare) is not None:
        return bare, "bare name"
    return None, f"unknown to the catalog: map it in {PREFIX}.models"


@dataclass
class _Option:
    label: str
    candidate: Candidate
    p: float
    cost: float


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.6f}"


@dataclass(frozen=True)
class Declined:
    """The router did not decide, and why: the next selector decides, and its selection
    gets the reason ``router not used: <why>``."""

    why: str


def _tier(
    analysis: RequestAnalysis, catalog: Catalog, constraints: Constraints, why: str
) -> Declined:
    """Decline with a reason (the tier selector, run next, decides)."""
    log.info("router_declined", reason=why)
    return Declined(why)


def select_with_router(
    request: Request, analysis: RequestAnalysis, catalog: Catalog, constraints: Constraints
) -> Selection | Declined | None:
    """The router's selection; None when no router file is configured."""
    config = catalog.config
    try:
        settings = settings_of(config)
    except RouterSettingsError as exc:
        log.warning("router_settings_invalid", error=str(exc))
        return _tier(analysis, catalog, constraints, str(exc))
    path = resolve_file(settings, config)
    if path is None or constraints.model:
        return None  # nothing configured, or a forced model: the tier selector decides
    try:
        router = load_router(path)
    except RouterFileError as exc:
        log.warning("router_file_unusable", error=str(exc))
        return _tier(analysis, catalog, constraints, str(exc))
    from .decide import order

    knobs = knobs_for(settings, router)
    probability, learned_cost = router.predict(request.text)
    sample = constraints.client_can_sample
    in_tokens, out_tokens = analysis.estimated_input_tokens, analysis.estimated_output_tokens
    skipped: list[str] = []

    def usable(name: str) -> tuple[Candidate | None, float | None]:
        model = catalog.get(name)
        reason = catalog.unusable_reason(name, client_can_sample=sample)
        if model is None or reason is not None or model.provider is None:
            skipped.append(f"{name} ({reason})")
            return None, None
        if model.context_window is not None and in_tokens > model.context_window:
            skipped.append(f"{name} (context window {model.context_window} < {in_tokens} tokens)")
            return None, None
        candidate = Candidate(
            model=name,
            provider=model.provider,
            tier=model.tier,
            estimated_cost_usd=model.estimate_cost(in_tokens, out_tokens),
            context_window=model.context_window,
        )
        return candidate, candidate.estimated_cost_usd

    options: list[_Option] = []
    for j, router_name in enumerate(router.models):
        name, how = catalog_name(router_name, settings, catalog)
        if name is None:
            skipped.append(f"{router_name} ({how})")
            continue
        candidate, cost = usable(name)
        if candidate is None:
            continue
        basis = "list price"
        if cost is None:
            cost, basis = float(learned_cost[j]), "cost learned from the router's data"
        candidate = candidate.model_copy(
            update={
                "estimated_cost_usd": cost,
                "reason": f"router p={probability[j]:.3f}, {basis}",
            }
        )
        label = name if name == router_name else f"{name} (as {router_name})"
        options.append(_Option(label, candidate, float(probability[j]), cost))
    if not options:
        why = "none of its models is usable here"
        if skipped:
            why += ": " + ", ".join(skipped)
        return _tier(analysis, catalog, constraints, why)

    ranked = [options[j] for j in order([o.p for o in options], [o.cost for o in options], knobs)]
    chain: list[Candidate] = []
    seen: set[str] = set()
    for name in constraints.preferred_models:
        candidate, _ = usable(name)
        if candidate is not None and name not in seen:
            seen.add(name)
            chain.append(candidate.model_copy(update={"reason": "preferred by the request"}))
    for option in ranked:
        if option.candidate.model not in seen:
            seen.add(option.candidate.model)
            chain.append(option.candidate)

    reasons = [
        f"router {path.name}, {knobs.describe()}",
        "router scores: " + "; ".join(f"{o.label} p={o.p:.3f} ~{_usd(o.cost)}" for o in ranked),
    ]
    if skipped:
        reasons.append("left out: " + ", ".join(skipped))
    max_cost = constraints.max_cost
    if max_cost is not None:
        fits = [
            c.estimated_cost_usd is not None and c.estimated_cost_usd <= max_cost for c in chain
        ]
        if not all(fits):
            dropped = [
                f"{c.model} (~{_usd(c.estimated_cost_usd)})"
                for c, ok in zip(chain, fits, strict=True)
                if not ok
            ]
            reasons.append(f"above max_cost ${max_cost:.6f}: " + ", ".join(dropped))
        chain = [c for c, ok in zip(chain, fits, strict=True) if ok]
        if not chain:
            return _tier(
                analysis, catalog, constraints, f"none of its models fits max_cost ${max_cost:.6f}"
            )
    primary = chain[0]
    reasons.append(
        f"{primary.model} via {primary.provider}: {primary.reason} "
        f"(estimated {_usd(primary.estimated_cost_usd)})"
    )
    return Selection(tier=analysis.complexity.level, chain=chain, reasons=reasons)


def preload(config: Config) -> Router | None:
    """Read the configured router file ahead of the first request; errors raise."""
    path = resolve_file(settings_of(config), config)
    return None if path is None else load_router(path)
