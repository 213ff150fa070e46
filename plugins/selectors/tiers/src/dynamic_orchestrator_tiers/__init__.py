"""The default model selector: the tier named like the request's complexity, cheapest first.

The chain is: models the caller prefers (``preferred_models``), then the client's own
model when it can sample (``use_claude_code``; first when ``use_claude_code_first``),
then the tier's ``preferred`` and ``fallback`` models from ``execution``. Models that
cannot be called now (no key, no plugin), whose context window is too small, or whose
estimated cost breaks ``max_cost`` are left out, each with a reason. When nothing of the
tier fits ``max_cost``, cheaper tiers are tried and the downgrade is stated; when nothing
at all fits, the selection carries an error saying so. When no provider is usable the
chain is empty and names the model a delegated plan should use.
"""

from __future__ import annotations

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import CLIENT_PROVIDER, Catalog, ModelInfo
from dynamic_orchestrator.models import (
    Candidate,
    Constraints,
    Request,
    RequestAnalysis,
    Selection,
    Tier,
)

__all__ = ["select_by_tier", "select_model"]


def _fmt_usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.6f}"


def select_by_tier(
    analysis: RequestAnalysis, catalog: Catalog, constraints: Constraints
) -> Selection:
    """The tier selection, as a plain function (reusable by other selectors)."""
    config = catalog.config
    tier: Tier = analysis.complexity.level
    in_tokens = analysis.estimated_input_tokens
    out_tokens = analysis.estimated_output_tokens
    sample = constraints.client_can_sample
    reasons: list[str] = []
    skipped: list[str] = []

    def cost(model: ModelInfo) -> float | None:
        return model.estimate_cost(in_tokens, out_tokens)

    def candidate(name: str, why: str, tier_of: Tier | None) -> Candidate | None:
        model = catalog.get(name)
        reason = catalog.unusable_reason(name, client_can_sample=sample)
        if model is None or reason is not None or model.provider is None:
            skipped.append(f"{name} ({reason})")
            return None
        if model.context_window is not None and in_tokens > model.context_window:
            skipped.append(f"{name} (context window {model.context_window} < {in_tokens} tokens)")
            return None
        return Candidate(
            model=name,
            provider=model.provider,
            tier=tier_of,
            estimated_cost_usd=cost(model),
            context_window=model.context_window,
            reason=why,
        )

    def client_candidates(for_tier: Tier) -> list[Candidate]:
        client = catalog.providers.get(CLIENT_PROVIDER)
        if not config.use_claude_code or client is None or not sample:
            return []
        out = []
        for name in config.claude_code_models.get(for_tier, []):
            model = catalog.get(name) or ModelInfo(name=name, provider=CLIENT_PROVIDER)
            if client.unavailable_reason(model, client_can_sample=sample) is None:
                out.append(
                    Candidate(
                        model=name,
                        provider=CLIENT_PROVIDER,
                        tier=for_tier,
                        estimated_cost_usd=None,
                        context_window=model.context_window,
                        reason="the client's own model (MCP sampling); billed to the client",
                    )
                )
        return out

    def fits(c: Candidate) -> bool:
        if constraints.max_cost is None or c.provider == CLIENT_PROVIDER:
            return True
        return c.estimated_cost_usd is not None and c.estimated_cost_usd <= constraints.max_cost

    # A forced model: that model only.
    if constraints.model:
        forced = candidate(constraints.model, "forced by the request", None)
        if forced is None:
            why = skipped[-1] if skipped else constraints.model
            if not _anything_usable(catalog, sample):
                return Selection(
                    tier=tier,
                    chain=[],
                    delegate_to=constraints.model,
                    reasons=[f"forced model cannot run here: {why}; the client runs the plan"],
                )
            return Selection(tier=tier, chain=[], reasons=[], error=f"forced model unusable: {why}")
        if not fits(forced):
            return Selection(
                tier=tier,
                chain=[],
                error=f"forced model {forced.model} is estimated at "
                f"{_fmt_usd(forced.estimated_cost_usd)}, above max_cost "
                f"${constraints.max_cost:.6f}",
            )
        return Selection(tier=tier, chain=[forced], reasons=[f"model {forced.model} forced"])

    chain: list[Candidate] = []
    seen: set[tuple[str, str]] = set()

    def add(items: list[Candidate | None]) -> None:
        for item in items:
            if item is not None and (item.model, item.provider) not in seen:
                seen.add((item.model, item.provider))
                chain.append(item)

    add([candidate(n, "preferred by the request", None) for n in constraints.preferred_models])
    clients = client_candidates(tier)
    configured = config.execution[tier].models if tier in config.execution else []
    tier_models = [candidate(n, f"{tier} tier of 'execution'", tier) for n in configured]
    # Models a plugin registered for this tier that the config does not name come after.
    tier_models += [
        candidate(m.name, f"registered for the {tier} tier", tier)
        for m in catalog.tier_models(tier)
        if m.name not in configured
    ]
    if config.use_claude_code_first:
        add([*clients, *tier_models])
    else:
        add([*tier_models, *clients])

    if skipped:
        reasons.append("not usable now: " + ", ".join(skipped))
    if not chain:
        client_models = config.claude_code_models.get(tier, [])
        delegate = (
            client_models[0]
            if config.use_claude_code and client_models
            else configured[0]
            if configured
            else config.effective_baseline_model
        )
        reasons.append(
            f"no provider can run the {tier} tier here; a delegated plan names {delegate}"
        )
        return Selection(tier=tier, chain=[], delegate_to=delegate, reasons=reasons)

    within = [c for c in chain if fits(c)]
    if constraints.max_cost is not None and len(within) < len(chain):
        dropped = [f"{c.model} (~{_fmt_usd(c.estimated_cost_usd)})" for c in chain if not fits(c)]
        reasons.append(f"above max_cost ${constraints.max_cost:.6f}: " + ", ".join(dropped))
    if not within:
        # The tiers listed before this one in 'execution' are the cheaper ones.
        tiers = list(config.execution)
        lower = tiers[: tiers.index(tier)] if tier in tiers else []
        for lower_tier in reversed(lower):
            cheaper = [
                c
                for c in (
                    candidate(n, f"{lower_tier} tier, chosen to fit max_cost", lower_tier)
                    for n in config.execution[lower_tier].models
                )
                if c is not None and fits(c)
            ]
            if cheaper:
                reasons.append(f"downgraded from {tier} to {lower_tier} to fit max_cost")
                return Selection(tier=tier, chain=cheaper, reasons=reasons)
        priced = [c for c in chain if c.estimated_cost_usd is not None]
        cheapest = min(priced, key=lambda c: c.estimated_cost_usd or 0.0) if priced else None
        detail = (
            f"; the cheapest usable model, {cheapest.model}, is estimated at "
            f"{_fmt_usd(cheapest.estimated_cost_usd)}"
            if cheapest
            else ""
        )
        return Selection(
            tier=tier,
            chain=[],
            reasons=reasons,
            error=f"no usable model fits max_cost ${constraints.max_cost:.6f}{detail}",
        )
    primary = within[0]
    reasons.append(
        f"{primary.model} via {primary.provider}: {primary.reason} "
        f"(estimated {_fmt_usd(primary.estimated_cost_usd)})"
    )
    return Selection(tier=tier, chain=within, reasons=reasons)


def _anything_usable(catalog: Catalog, sample: bool) -> bool:
    return any(
        catalog.usable(name, client_can_sample=sample)
        for execution in catalog.config.execution.values()
        for name in execution.models
    )


@hookimpl(trylast=True)
def select_model(
    request: Request, analysis: RequestAnalysis, catalog: Catalog, constraints: Constraints
) -> Selection:
    """Pick the tier's models in order, honouring preferences, usability and max_cost."""
    return select_by_tier(analysis, catalog, constraints)
