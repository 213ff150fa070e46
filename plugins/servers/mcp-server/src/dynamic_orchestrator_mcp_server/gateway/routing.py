"""The routing decision for one gateway call: what the turn is, and which models may serve it.

The model the client asked for is the ceiling and the baseline: every candidate must be
estimated at no more than it at the turn's own token counts (passed to ``select_model`` as
``max_cost``), and it ends the chain as the last fallback. What the turn is comes from the
request itself (:func:`read_signals`): the user's newest words with Claude Code's
``<system-reminder>`` and command wrappers stripped, whether it carries tool results, its
size, explicit thinking (Claude Code asks adaptive thinking on every turn, so that alone
says nothing), server web search, and Claude Code's background calls (its small model's
name, or a tool-less call with a small ``max_tokens``). The signals give a scenario
(claude-code-router's names: ``default``, ``background``, ``think``, ``longContext``,
``webSearch``, plus ``toolResults``); ``gateway.scenarios`` maps it to a tier, to ``auto``
(the ``classify`` and ``score_complexity`` hooks decide, as for ``orchestrate``) or to
``requested``. The decision and its reasons go to the log and the record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.models import (
    Candidate,
    ComplexityResult,
    Constraints,
    IntentResult,
    Options,
    Request,
    RequestAnalysis,
    Tier,
)
from dynamic_orchestrator.streaming import can_stream
from dynamic_orchestrator.tokens import estimate_output_tokens

from ..settings import settings_of

if TYPE_CHECKING:
    from dynamic_orchestrator.orchestrator import Orchestrator

    from ..settings import GatewayConfig

__all__ = ["Decision", "Signals", "decide", "newest_words", "read_signals", "strip_wrappers"]

_WRAPPERS = re.compile(
    r"<(system-reminder|command-name|command-message|command-args|local-command-stdout"
    r"|local-command-stderr|user-prompt-submit-hook)>.*?</\1>",
    re.DOTALL,
)
_BACKGROUND_MAX_TOKENS = 512
_TEXT_LIMIT = 20_000


def strip_wrappers(text: str) -> str:
    """Text without Claude Code's ``<system-reminder>`` and command wrappers."""
    return _WRAPPERS.sub("", text).strip() if "<" in text else text.strip()


def _user_texts(content: Any) -> tuple[list[str], bool]:
    if isinstance(content, str):
        return [content], False
    texts: list[str] = []
    results = False
    for block in content or []:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            results = True
    return texts, results


def newest_words(messages: list[Any]) -> str:
    """The user's newest own words: the last user text that is not only wrappers."""
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        texts, _ = _user_texts(message.get("content"))
        words = "\n".join(t for t in (strip_wrappers(x) for x in texts) if t)
        if words:
            return words
    return ""


@dataclass(frozen=True)
class Signals:
    """What the turn is, read from the request."""

    words: str
    tool_results: bool
    input_tokens: int
    thinking: bool
    adaptive_thinking: bool
    background: bool
    web_search: bool
    max_tokens: int


def _size(body: Mapping[str, Any], raw_bytes: int) -> int:
    """Input tokens, estimated: the body's bytes / 4, images and documents counted apart."""
    media = 0
    count = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, Mapping) and block.get("type") in ("image", "document"):
                data = (block.get("source") or {}).get("data")
                if isinstance(data, str):
                    media += len(data)
                    count += 1
    return max(1, (raw_bytes - media) // 4 + count * 1600)


def read_signals(
    body: Mapping[str, Any], requested: str, config: GatewayConfig, raw_bytes: int
) -> Signals:
    """The turn's signals."""
    messages = body.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], Mapping) else {}
    _, results = _user_texts(last.get("content")) if last.get("role") == "user" else ([], False)
    thinking: Mapping[str, Any] = body.get("thinking") or {}
    if not isinstance(thinking, Mapping):
        thinking = {}
    tools = body.get("tools") or []
    max_tokens = int(body.get("max_tokens") or 0)
    name = requested.lower()
    background = any(marker in name for marker in config.background_models) or (
        not tools and 0 < max_tokens <= _BACKGROUND_MAX_TOKENS
    )
    return Signals(
        words=newest_words(messages),
        tool_results=results,
        input_tokens=_size(body, raw_bytes),
        thinking=thinking.get("type") == "enabled",
        adaptive_thinking=thinking.get("type") == "adaptive",
        background=background,
        web_search=any(
            isinstance(t, Mapping) and str(t.get("type", "")).startswith("web_search")
            for t in tools
        ),
        max_tokens=max_tokens,
    )


def scenario(signals: Signals, config: GatewayConfig) -> tuple[str, str]:
    """The scenario (claude-code-router's order: long context first) and why."""
    if signals.input_tokens > config.long_context_tokens:
        return "longContext", f"~{signals.input_tokens} input tokens > {config.long_context_tokens}"
    if signals.background:
        return "background", "a background call (small model name or a small tool-less call)"
    if signals.web_search:
        return "webSearch", "the request offers server web search"
    if signals.thinking:
        return "think", "extended thinking asked with a budget"
    if signals.tool_results:
        return "toolResults", "the turn carries tool results"
    note = (
        "; adaptive thinking is on every Claude Code turn, not a signal"
        if signals.adaptive_thinking
        else ""
    )
    return "default", "an ordinary turn" + note


@dataclass
class Decision:
    """The models that may serve a call, in order, and why."""

    requested: str
    baseline: ModelInfo | None
    chain: list[Candidate]
    scenario: str
    tier: Tier | None
    reasons: list[str] = field(default_factory=list)
    analysis: RequestAnalysis | None = None
    request: Request | None = None
    signals: Signals | None = None


def _candidate(orch: Orchestrator, name: str, why: str, client_key: bool) -> Candidate | None:
    model = orch.catalog.get(name)
    if model is None or model.provider is None:
        return None
    provider = orch.providers.get(model.provider)
    if provider is None or not can_stream(provider):
        return None
    reason = orch.catalog.unusable_reason(name)
    settings = orch.config.providers.get(model.provider)
    keyed_by_client = client_key and settings is not None and settings.client_key == "passthrough"
    if reason is not None and not (keyed_by_client and "is not set" in reason):
        return None
    return Candidate(
        model=name,
        provider=model.provider,
        tier=model.tier,
        context_window=model.context_window,
        reason=why,
    )


def decide(
    orch: Orchestrator,
    body: Mapping[str, Any],
    requested: str,
    *,
    raw_bytes: int,
    request_id: str,
    client_key: bool = False,
) -> Decision:
    """Decide which models may serve this call, through the orchestrator's own hooks."""
    config = settings_of(orch.config).gateway
    baseline = orch.catalog.get(requested)
    signals = read_signals(body, requested, config, raw_bytes)
    asked = _candidate(orch, requested, "the model the client asked for", client_key)
    last = [asked] if asked else []
    text = (signals.words or "(tool results only)")[:_TEXT_LIMIT]
    out_cap = signals.max_tokens or None
    req = Request(
        text=text,
        context={"gateway_request": request_id},  # unique: no cached answer for a live turn
        options=Options(max_tokens=out_cap),
        request_id=request_id,
    )
    hooks = orch.hooks
    intent: IntentResult = hooks.classify(req)
    complexity: ComplexityResult = hooks.score_complexity(req, intent)
    name, why = scenario(signals, config)
    target = config.scenarios.get(name, "auto")  # type: ignore[call-overload]
    reasons = [f"scenario {name}: {why}"]
    if target not in ("auto", "requested"):
        complexity = complexity.model_copy(
            update={"level": target, "reasons": [f"gateway.scenarios.{name} is '{target}'"]}
        )
    out_tokens = estimate_output_tokens(hooks.intents.get(intent.intent), complexity.level, out_cap)
    analysis = RequestAnalysis(
        intent=intent,
        complexity=complexity,
        estimated_input_tokens=signals.input_tokens,
        estimated_output_tokens=out_tokens,
        baseline_input_tokens=signals.input_tokens,
    )

    def as_asked(why: str) -> Decision:
        return Decision(
            requested, baseline, last, name, None, [*reasons, why], analysis, req, signals
        )

    if not config.route:
        return as_asked("routing is off (gateway.route is false)")
    if requested in config.passthrough:
        return as_asked("pinned by gateway.passthrough")
    if target == "requested":
        return as_asked(f"gateway.scenarios.{name} is 'requested'")
    if baseline is None or not baseline.priced:
        return as_asked(f"{requested} has no known price: no ceiling to route under")
    ceiling = baseline.estimate_cost(signals.input_tokens, out_tokens)
    constraints = Constraints(
        max_cost=None if ceiling is None else ceiling * (1 + 1e-9), max_tokens=out_cap
    )
    selection = hooks.select_model(req, analysis, orch.catalog, constraints)
    reasons += [
        f"intent {intent.intent}: " + "; ".join(intent.reasons),
        f"complexity {complexity.level}: " + "; ".join(complexity.reasons),
        f"ceiling {requested} (~${ceiling:.6f} at these tokens, an estimate)" if ceiling else "",
        *selection.reasons,
    ]
    chain: list[Candidate] = []
    for item in selection.chain:
        streamable = _candidate(orch, item.model, item.reason, client_key)
        if streamable is not None:
            chain.append(item)
    chain += [c for c in last if all(c.model != item.model for item in chain)]
    return Decision(
        requested,
        baseline,
        chain,
        name,
        selection.tier,
        [r for r in reasons if r],
        analysis=analysis,
        request=req,
        signals=signals,
    )
