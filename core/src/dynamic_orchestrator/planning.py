"""Planning: the prompts for every model of the chain, made before anything runs.

The plan is the selection's chain plus one :class:`~dynamic_orchestrator.contract.Prompt`
per model (``generate_prompt`` may shape a prompt for the model that receives it). A
request that runs nowhere here becomes a delegated :class:`~dynamic_orchestrator.contract.Plan`
for the client to run with its own model.
"""

from __future__ import annotations

from .contract import (
    CLIENT_PROVIDER,
    Candidate,
    CatalogView,
    Config,
    ModelInfo,
    OrchestrationResult,
    Plan,
    Prompt,
    Usage,
)
from .decide import Decision
from .hooks import Hooks
from .tokens import estimate_tokens, estimate_tool_tokens

__all__ = ["chain_prompts", "delegated", "model_for", "tool_tokens", "with_user"]


def model_for(catalog: CatalogView, candidate: Candidate) -> ModelInfo:
    """The catalog entry of a candidate; a name the catalog does not know (a client model
    such as "haiku") is still called, under the candidate's provider."""
    return catalog.get(candidate.model) or ModelInfo(
        name=candidate.model, provider=candidate.provider
    )


def tool_tokens(prompt: Prompt | None) -> int:
    """Estimated tokens of the tool definitions a prompt carries."""
    return sum(estimate_tool_tokens(t) for t in prompt.tools) if prompt else 0


def chain_prompts(
    hooks: Hooks, config: Config, catalog: CatalogView, decision: Decision
) -> dict[str, Prompt]:
    """One prompt per model of the chain, by model name."""
    prompts: dict[str, Prompt] = {}
    for candidate in decision.selection.chain:
        if candidate.model in prompts:
            continue
        model = model_for(catalog, candidate)
        prompts[candidate.model] = hooks.generate_prompt(
            decision.request, decision.analysis, model, config
        )
    return prompts


def with_user(prompts: dict[str, Prompt], user: str) -> dict[str, Prompt]:
    """The prompts with ``user`` as every one's user message (a rewrite)."""
    return {name: p.model_copy(update={"user": user}) for name, p in prompts.items()}


def plan_of(decision: Decision, model: str, prompt: Prompt) -> Plan:
    """The plan for the client to run ``prompt`` on ``model`` (or a model of its own)."""
    return Plan(
        model=model,
        tier=decision.selection.tier,
        system=prompt.system,
        prompt=prompt.user,
        tools=list(prompt.tools),
        max_tokens=decision.request.options.max_tokens or prompt.max_tokens,
    )


def failed_plan(decision: Decision, prompts: dict[str, Prompt]) -> Plan | None:
    """The plan a failed execution hands back: the chain's first model and its prompt.

    The client can still run it itself (``status`` stays ``failed``, the failures are in
    ``attempts``); None when no prompt was made.
    """
    for candidate in decision.selection.chain:
        prompt = prompts.get(candidate.model)
        if prompt is not None:
            return plan_of(decision, candidate.model, prompt)
    return None


def delegated(
    hooks: Hooks, config: Config, catalog: CatalogView, decision: Decision
) -> tuple[OrchestrationResult, Prompt]:
    """The plan handed back for the client to run, and the prompt in it."""
    selection = decision.selection
    if selection.chain:
        model = model_for(catalog, selection.chain[0])
    else:
        name = selection.delegate_to or next(
            iter(config.claude_code_models.get(selection.tier, ())),
            config.effective_baseline_model,
        )
        model = catalog.get(name) or ModelInfo(name=name, provider=CLIENT_PROVIDER)
    req = decision.request
    prompt = hooks.generate_prompt(req, decision.analysis, model, config)
    plan = plan_of(decision, model.name, prompt)
    result = OrchestrationResult(
        status="delegated",
        plan=plan,
        analysis=decision.result,
        model=model.name,
        provider=CLIENT_PROVIDER,
        usage=Usage(
            input_tokens=estimate_tokens(prompt.system) + estimate_tokens(prompt.user),
            output_tokens=0,
            estimated=True,
        ),
        cost_usd=0.0,
        baseline_cost_usd=None,
        saved_usd=0.0,
        savings_basis="nothing ran here: the client runs the plan; no saving claimed",
        request_id=req.request_id,
    )
    return result, prompt
