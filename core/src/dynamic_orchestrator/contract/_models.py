"""The data that flows through a request, as pydantic v2 models.

Request → (IntentResult, ComplexityResult, ServiceRoute) → RequestAnalysis → Selection
→ Prompt → Completion / Execution → OrchestrationResult and RequestRecord.

``AnalysisResult``, ``OrchestrationResult`` and ``MetricsSummary`` are the structured
results of the MCP tools: ``model_dump(mode="json")`` is exactly what a client receives.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Intent = str
"""An intent's name: one of the host's vocabulary, which plugins extend
(``register_intents``); :data:`INTENTS` are the design's five, always there."""
INTENTS: tuple[Intent, ...] = ("read", "write", "search", "analyze", "manage")
"""The default intents."""
Complexity = Literal["simple", "moderate", "complex"]
COMPLEXITY_LEVELS: tuple[Complexity, ...] = ("simple", "moderate", "complex")
"""What ``score_complexity`` answers, easiest first."""
Tier = str
"""A tier's name: a key of the configuration's ``execution`` section. A tier is a group of
models, not a complexity level; the default selector serves the tier named like the
request's complexity, and the configuration (or a plugin's ``ModelInfo.tiers``) may add
tiers of its own."""
TIERS: tuple[Tier, ...] = ("simple", "moderate", "complex")
"""The default tiers, cheapest first."""
Period = Literal["1m", "5m", "1h", "1d"]
PERIOD_SECONDS: dict[str, int] = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
Status = Literal["completed", "delegated", "failed"]


BUILD_ON_FIRST_USE = ConfigDict(defer_build=True)
"""Every model's validator and serializer are built when first used, not at import: a
command or request builds only the models it touches."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", **BUILD_ON_FIRST_USE)


# --- input -------------------------------------------------------------------------


class Options(_Frozen):
    """What a caller may ask of one ``orchestrate`` call."""

    preferred_models: list[str] = Field(
        default_factory=list, description="Models to try first when usable and within max_cost."
    )
    max_cost: float | None = Field(
        default=None,
        ge=0,
        le=100_000,
        allow_inf_nan=False,
        description="Hard ceiling in USD for this request's estimated cost (finite, "
        "at most 100000).",
    )
    model: str | None = Field(default=None, min_length=1, description="Force this model.")
    execute: bool = Field(
        default=True, description="False returns the plan without running any model."
    )
    max_tokens: int | None = Field(
        default=None, gt=0, le=1_000_000, description="Cap on output tokens."
    )


class Request(_Frozen):
    """One validated request."""

    text: str = Field(min_length=1)
    context: dict[str, JsonValue] = Field(default_factory=dict)
    options: Options = Field(default_factory=Options)
    request_id: str = ""


# --- analysis stages -------------------------------------------------------------------


class IntentResult(_Frozen):
    """What ``classify`` returns: an intent the host knows (see ``register_intents``)."""

    intent: Intent = Field(min_length=1)
    confidence: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)


class ComplexityResult(_Frozen):
    """What ``score_complexity`` returns."""

    level: Complexity
    score: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)


class ToolSpec(_Frozen):
    """A tool that may be sent to a model (from a downstream MCP service)."""

    name: str
    description: str = ""
    input_schema: dict[str, JsonValue] = Field(default_factory=dict)
    service: str | None = None


class ServiceRoute(_Frozen):
    """What ``route_services`` returns: the services and tools a request needs."""

    services: list[str] = Field(default_factory=list)
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_tokens_sent: int = 0
    tool_tokens_available: int = 0
    reasons: list[str] = Field(default_factory=list)


class RequestAnalysis(_Frozen):
    """Everything known about a request before a model is chosen."""

    intent: IntentResult
    complexity: ComplexityResult
    route: ServiceRoute = Field(default_factory=ServiceRoute)
    estimated_input_tokens: int = Field(ge=0)
    estimated_output_tokens: int = Field(ge=0)
    baseline_input_tokens: int = Field(
        ge=0, description="Input tokens of the unoptimized request: full text, context, tools."
    )


class Constraints(_Frozen):
    """The caller's limits on model choice."""

    max_cost: float | None = None
    preferred_models: list[str] = Field(default_factory=list)
    model: str | None = None
    max_tokens: int | None = None
    client_can_sample: bool = False


class Candidate(_Frozen):
    """One model in a selected chain."""

    model: str
    provider: str
    tier: Tier | None = None
    estimated_cost_usd: float | None = Field(
        default=None, description="Estimate from list prices; None when the price is unknown."
    )
    context_window: int | None = None
    reason: str = ""


class Selection(_Frozen):
    """What ``select_model`` returns: the primary model then its fallbacks."""

    tier: Tier
    chain: list[Candidate]
    delegate_to: str | None = Field(
        default=None, description="Model tier hint for a delegated plan when the chain is empty."
    )
    reasons: list[str] = Field(default_factory=list)
    error: str | None = Field(
        default=None, description="Why no model fits the constraints, when that is the case."
    )


class ChatMessage(_Frozen):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_call_id: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)


class Prompt(_Frozen):
    """What ``generate_prompt`` returns: the messages actually sent."""

    system: str
    user: str
    tools: list[ToolSpec] = Field(default_factory=list)
    max_tokens: int | None = None
    notes: list[str] = Field(default_factory=list, description="What was dropped or trimmed.")


# --- execution -----------------------------------------------------------------------


class ToolCall(_Frozen):
    id: str
    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)


class Completion(_Frozen):
    """One provider's answer, in one common shape."""

    text: str | None
    model: str = Field(description="The model that actually answered, as the provider said.")
    provider: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    usage_estimated: bool = Field(
        default=False, description="True when the provider reported no usage and we estimated."
    )
    cost_usd: float | None = Field(
        default=None, description="Measured from reported usage and list prices, or as reported."
    )
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None


AttemptOutcome = Literal["ok", "error", "skipped", "cancelled"]


class Attempt(_Frozen):
    model: str
    provider: str
    outcome: AttemptOutcome
    error: str | None = None
    error_kind: str | None = None
    duration_ms: float = 0.0
    started_at: float | None = Field(
        default=None,
        exclude=True,
        description="Unix time the call started, for traces; not part of the tool result.",
    )
    reason: str | None = Field(
        default=None, description="Why this model was tried (a cascade's escalation reason)."
    )
    cost_usd: float | None = Field(default=None, description="What this call cost, when known.")


class Execution(_Frozen):
    """What the ``execute`` stage returns."""

    completion: Completion | None
    attempts: list[Attempt] = Field(default_factory=list)
    cached: bool = False
    error: str | None = None
    extra_cost_usd: float = Field(
        default=0.0, description="Cost spent outside the final completion (failed partial calls)."
    )


# --- results (the MCP tools' structured content) --------------------------------------


class AnalysisResult(BaseModel):
    """The structured result of ``analyze_request``. Every cost is an estimate."""

    model_config = ConfigDict(extra="forbid", **BUILD_ON_FIRST_USE)

    intent: Intent
    intent_confidence: float
    complexity: Complexity
    complexity_score: float
    tier: Tier
    recommended_model: str | None
    recommended_provider: str | None = None
    fallback_models: list[str]
    estimated_input_tokens: int
    estimated_output_tokens: int
    estimated_cost_usd: float | None = Field(
        description="Estimate for the recommended model from list prices."
    )
    baseline_model: str
    baseline_cost_usd: float | None = Field(
        description="Estimate for the unoptimized request on the baseline model."
    )
    services: list[str]
    tools: list[str] = Field(default_factory=list)
    reasons: list[str]


class Plan(BaseModel):
    """A delegated plan: what the client should run with its own model."""

    model_config = ConfigDict(extra="forbid", **BUILD_ON_FIRST_USE)

    model: str | None
    tier: Tier
    system: str
    prompt: str
    tools: list[ToolSpec] = Field(default_factory=list)
    max_tokens: int | None = None


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid", **BUILD_ON_FIRST_USE)

    input_tokens: int
    output_tokens: int
    estimated: bool


class OrchestrationResult(BaseModel):
    """The structured result of ``orchestrate``."""

    model_config = ConfigDict(extra="forbid", **BUILD_ON_FIRST_USE)

    status: Status
    output: str | None = None
    plan: Plan | None = None
    analysis: AnalysisResult | None = None
    model: str | None = None
    provider: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    usage: Usage = Field(
        default_factory=lambda: Usage(input_tokens=0, output_tokens=0, estimated=True)
    )
    cost_usd: float | None = Field(
        default=0.0, description="Spent through this server's providers; None when unknown."
    )
    baseline_cost_usd: float | None = None
    saved_usd: float | None = Field(
        default=0.0, description="baseline_cost_usd - cost_usd when both are known; else 0."
    )
    savings_basis: str = Field(
        default="", description="How saved_usd was obtained: which figures are measured."
    )
    error: str | None = None
    duration_ms: float = 0.0
    cached: bool = False
    request_id: str


class RequestRecord(_Frozen):
    """One finished request, as every metrics sink receives it. Holds no request text."""

    timestamp: float
    request_id: str
    status: Status
    intent: Intent | None = None
    complexity: Complexity | None = None
    model: str | None = None
    provider: str | None = None
    duration_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    usage_estimated: bool = True
    cost_usd: float | None = 0.0
    baseline_model: str | None = None
    baseline_input_tokens: int = 0
    baseline_cost_usd: float | None = None
    tokens_saved: int = 0
    saved_usd: float = 0.0
    saving_claimed: bool = Field(
        default=False,
        description="True when saved_usd is a claimed saving: the request completed here and "
        "both its cost and the baseline cost are known (see dynamic_orchestrator.savings).",
    )
    cached: bool = False
    services: list[str] = Field(default_factory=list)
    tool_tokens_sent: int = 0
    tool_tokens_available: int = 0
    attempts: int = 0
    error_kind: str | None = None
    reasons: list[str] = Field(
        default_factory=list,
        description="Why the model was chosen (the routing decision's reasons), in order.",
    )
    # Trace detail, for sinks that draw one request (tracing, the dashboard's failures).
    tier: Tier | None = None
    intent_confidence: float | None = None
    complexity_score: float | None = None
    savings_basis: str = ""
    error: str | None = Field(default=None, description="Why a failed request failed (redacted).")
    attempt_log: list[Attempt] = Field(
        default_factory=list, description="Every provider attempt, in order."
    )
    stages: list[tuple[str, float, float]] = Field(
        default_factory=list,
        description="(stage, start in ms after the request began, duration in ms), in order.",
    )


class BasisTotals(BaseModel):
    """Totals of the completed requests whose usage has one basis (measured or estimated)."""

    model_config = ConfigDict(extra="forbid", **BUILD_ON_FIRST_USE)

    requests: int = 0
    tokens: int = Field(default=0, description="Input plus output tokens.")
    tokens_saved: int = Field(default=0, description="Against the baseline (an estimate).")
    cost_usd: float = 0.0
    saved_usd: float = Field(default=0.0, description="Baseline cost (an estimate) minus cost.")


class MetricsSummary(BaseModel):
    """The structured result of ``get_metrics``: the requests finished in the period.

    Each field's description defines it; every sink computes them with
    :func:`dynamic_orchestrator.summary.summarize`. What a saving is:
    :mod:`dynamic_orchestrator.savings`.
    """

    model_config = ConfigDict(extra="forbid", **BUILD_ON_FIRST_USE)

    period: Period
    total_requests: int = 0
    successful_requests: int = Field(
        default=0, description="Requests that did not fail: completed or delegated."
    )
    failed_requests: int = 0
    delegated_requests: int = Field(
        default=0, description="Successful requests handed back as a plan (nothing ran here)."
    )
    success_rate: float = Field(default=0.0, description="successful / total.")
    avg_duration_ms: float = Field(default=0.0, description="Mean duration per request.")
    p50_duration_ms: float = Field(
        default=0.0,
        description="The sorted durations' element floor(q * (n - 1)), q = 0.5; a sink may "
        "approximate it within a stated relative error (extra.percentile_relative_accuracy).",
    )
    p95_duration_ms: float = Field(default=0.0, description="As p50, with q = 0.95.")
    p99_duration_ms: float = Field(default=0.0, description="As p50, with q = 0.99.")
    total_tokens: int = Field(default=0, description="Input plus output tokens spent here.")
    avg_tokens: float = Field(default=0.0, description="total_tokens / total_requests.")
    total_tokens_saved: int = Field(
        default=0, description="measured.tokens_saved + estimated.tokens_saved (signed)."
    )
    total_cost_usd: float = Field(default=0.0, description="Sum of the known costs.")
    avg_cost_usd: float = Field(
        default=0.0, description="total_cost_usd / the requests whose cost is known."
    )
    total_saved_usd: float = Field(
        default=0.0, description="measured.saved_usd + estimated.saved_usd."
    )
    requests_per_minute: float = Field(
        default=0.0, description="total_requests / the period's length in minutes."
    )
    intent_distribution: dict[str, int] = Field(default_factory=dict, description="By intent.")
    model_distribution: dict[str, int] = Field(
        default_factory=dict,
        description="By the model that answered (for a delegated request: the planned one).",
    )
    service_usage: dict[str, int] = Field(
        default_factory=dict, description="Requests routed to each downstream service."
    )
    cache_hit_rate: float = Field(default=0.0, description="Cache hits / completed requests.")
    circuit_breakers: dict[str, str] = Field(default_factory=dict)
    measured: BasisTotals = Field(
        default_factory=BasisTotals,
        description="Completed requests whose usage the provider reported: tokens and cost "
        "measured; savings against the estimated baseline.",
    )
    estimated: BasisTotals = Field(
        default_factory=BasisTotals,
        description="Completed requests whose usage was estimated here: every figure an estimate.",
    )
    unclaimed_requests: int = Field(
        default=0,
        description="Requests claiming no dollar saving: failed, delegated, run on the "
        "client's model, or with a cost or baseline price unknown.",
    )
    unpriced_requests: int = Field(default=0, description="Requests whose cost is unknown here.")
    baseline_model: str | None = None
    notes: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


ChatMessage.model_rebuild()
