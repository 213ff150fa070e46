"""Verifying cascade for Dynamic Orchestrator.

Opt-in with ``plugins.cascade.enabled: true``. Its ``execute`` runs first
(``tryfirst``): the cheapest model of the selected chain answers and a verifier judges it
(``verifier``: ``agreement`` with the second cheapest model's answer, the default; a
trained ``scorer``; a ``self_check`` by the cheap model (see :mod:`.verifiers`); or any
verifier an installed plugin adds through the cascade's ``register_verifiers`` hook, see
:mod:`.hookspecs`); when
it is accepted the cheap answer is kept, else the selector's first choice answers. Every
call is an entry of ``attempts`` with its ``reason`` and ``cost_usd``; the cost of the
calls whose answer was not kept is ``extra_cost_usd``, so the request's cost is the sum of
what ran. A call whose estimate does not fit what is left of ``max_cost`` is not started.
The cascade returns one finished answer, so nothing reaches a client before the accepted
answer is chosen. The hook declines (the usual execution runs) when the setting
is off, a model is forced, the chain has fewer than three priced models, or the gateway
runs the stage (its providers open a stream each and answer no text to verify)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import ModelInfo, measured_cost
from dynamic_orchestrator.contract import Config, ConfigError, PluginSettings
from dynamic_orchestrator.execution import ExecutionContext, build_call, call_model
from dynamic_orchestrator.models import Attempt, Candidate, Completion, Execution
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .cascade import Outcome, plan, run_cascade
from .hookspecs import VerifierFactory, VerifierRequest
from .registry import collect, unknown
from .verifiers import Agreement, Scorer, SelfCheck, Verifier

if TYPE_CHECKING:
    from dynamic_orchestrator import Orchestrator

__all__ = [
    "Agreement",
    "CascadeSettings",
    "Outcome",
    "Scorer",
    "ScorerSettings",
    "SelfCheck",
    "Verifier",
    "VerifierFactory",
    "VerifierRequest",
    "execute",
    "plan",
    "plugin_settings",
    "register_verifiers",
    "run_cascade",
    "startup",
    "verifier_from",
]


class ScorerSettings(BaseModel):
    """The trained scorer's model, as ``router eval --cascade`` fits it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: tuple[float, ...] = Field(
        default=(), description="One weight per answer feature (see dynamic_orchestrator.answers)."
    )
    intercept: float = Field(default=0.0, description="The logistic regression's intercept.")
    threshold: float = Field(
        default=0.7, ge=0.0, le=1.0, description="Accept when the scored probability reaches it."
    )


class CascadeSettings(BaseModel):
    """The verifying cascade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=False, description="Run the cascade (off: a cascade calls more than one model)."
    )
    verifier: str = Field(
        default="agreement",
        min_length=1,
        description=(
            "What judges the cheap answer: agreement, scorer, self_check, or a verifier "
            "an installed plugin registers (an unknown name is refused at start-up)."
        ),
    )
    code: bool = Field(
        default=False,
        description="Compare code answers by running them (a guard, not a sandbox: opt-in).",
    )
    scorer: ScorerSettings = Field(
        default_factory=ScorerSettings, description="Only for verifier: scorer."
    )


@hookimpl
def plugin_settings() -> PluginSettings:
    """``plugins.cascade`` (or ``plugins.settings.cascade``): whether and how it runs."""
    return PluginSettings("cascade", CascadeSettings)


def _settings_of(config: Config) -> CascadeSettings:
    try:
        return config.plugin_settings("cascade", CascadeSettings)
    except ValidationError:  # a configuration no host checked: off, as before
        return CascadeSettings()


def _enabled(context: ExecutionContext) -> bool:
    return _settings_of(context.config).enabled


def _agreement(request: VerifierRequest) -> Verifier:
    return Agreement(code=_settings_of(request.config).code)


def _scorer(request: VerifierRequest) -> Verifier:
    settings = _settings_of(request.config)
    return Scorer(
        weights=settings.scorer.weights,
        intercept=settings.scorer.intercept,
        threshold=settings.scorer.threshold,
        code=settings.code,
    )


def _self_check(request: VerifierRequest) -> Verifier:
    return SelfCheck(request=request.text)


BUILTIN: dict[str, VerifierFactory] = {
    "agreement": _agreement,
    "scorer": _scorer,
    "self_check": _self_check,
}
"""The verifiers the cascade ships, registered through its own hook like any other."""


@hookimpl(trylast=True, optionalhook=True)
def register_verifiers(register: Callable[[str, VerifierFactory], None]) -> None:
    """The built-in verifiers: agreement, scorer, self_check."""
    for name, factory in BUILTIN.items():
        register(name, factory)


class _Verifiers(dict[str, VerifierFactory]):
    """An orchestrator's registered verifiers (its ``plugin_state("cascade")``)."""


@hookimpl
def startup(orchestrator: Orchestrator) -> None:
    """Gather the registered verifiers; refuse a configured name nothing registered."""
    found = collect(orchestrator.pm)
    verifiers = orchestrator.plugin_state("cascade", _Verifiers)
    verifiers.clear()
    verifiers.update(found)
    settings = _settings_of(orchestrator.config)
    if settings.verifier not in verifiers:
        raise ConfigError(unknown(settings.verifier, verifiers))


def verifier_from(
    settings: CascadeSettings,
    request: VerifierRequest,
    verifiers: dict[str, VerifierFactory] | None = None,
) -> Verifier:
    """The verifier ``settings.verifier`` names, among ``verifiers`` (the built-ins when
    None).

    :raises ConfigError: no verifier of that name is registered.
    """
    known = BUILTIN if verifiers is None else verifiers
    factory = known.get(settings.verifier)
    if factory is None:
        raise ConfigError(unknown(settings.verifier, known))
    return factory(request)


def _registered(context: ExecutionContext) -> dict[str, VerifierFactory]:
    if context.host is None:
        return BUILTIN
    return context.host.plugin_state("cascade", _Verifiers) or BUILTIN


async def _execute(
    context: ExecutionContext, cheap: list[Candidate], strong: Candidate
) -> Execution:
    async def call(candidate: Candidate, user: str | None) -> Completion:
        model = context.catalog.get(candidate.model) or ModelInfo(
            name=candidate.model, provider=candidate.provider
        )
        await context.report(f"cascade: calling {candidate.model}", 0.6)
        prompt = context.prompt_for(model)
        if user is not None:
            prompt = prompt.model_copy(update={"user": user, "tools": []})
        call_ = build_call(context, candidate, model, prompt)
        completion = await call_model(context, candidate, call_)
        if completion.cost_usd is None:  # priced now, so every step's cost is known
            priced = context.catalog.get(completion.model) or model
            cost = measured_cost(priced, completion.input_tokens, completion.output_tokens)
            completion = completion.model_copy(update={"cost_usd": cost})
        return completion

    try:
        verifier = verifier_from(
            _settings_of(context.config),
            VerifierRequest(text=context.request.text, config=context.config),
            _registered(context),
        )
    except ConfigError as exc:  # also said at start-up; no model is called
        return Execution(completion=None, attempts=[], error=f"cascade: {exc}")
    start = len(context.attempts)
    outcome = await run_cascade(
        cheap, strong, call, max_cost=context.request.options.max_cost, verifier=verifier
    )
    # call_model appended one attempt per started call, in order: add reason and cost.
    started = [s for s in outcome.steps if s.started]
    attempts = list(context.attempts[:start])
    for attempt, step in zip(context.attempts[start:], started, strict=False):
        attempts.append(
            attempt.model_copy(update={"reason": step.reason, "cost_usd": step.cost_usd})
        )
    attempts += [_skipped(s.candidate, s.reason) for s in outcome.steps if not s.started]
    kept = outcome.accepted
    extra = sum(s.cost_usd for s in outcome.steps if s.completion is not kept)
    return Execution(
        completion=kept,
        attempts=attempts,
        error=None if kept is not None else f"cascade: no answer ({outcome.decision})",
        extra_cost_usd=extra,
    )


def _skipped(candidate: Candidate, reason: str) -> Attempt:
    return Attempt(
        model=candidate.model,
        provider=candidate.provider,
        outcome="skipped",
        reason=reason,
        cost_usd=0.0,
    )


@hookimpl(tryfirst=True)
def execute(context: ExecutionContext) -> Awaitable[Execution] | None:
    """Run the cascade when enabled and the chain allows one; None (decline) otherwise."""
    if not _enabled(context) or context.request.options.model:
        return None
    if context.plugin_state.get("gateway", {}).get("opens_streams"):
        return None  # the gateway's providers open streams: no whole answers to verify
    planned = plan(context.selection.chain)
    if planned is None:
        return None
    cheap, strong = planned
    return _execute(context, cheap, strong)
