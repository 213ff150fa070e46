"""Routing a request to the services and tools it needs, with the reasons.

1. **Capability**: a service whose ``capabilities`` include the request's intent is
   eligible as is; one that lists no capabilities is eligible for every intent; any other
   service's tools are scored down by ``capability_mismatch_weight`` (0 leaves them out).
   A soft filter on purpose: the intent is itself a guess, and a request like "commit
   my changes" needs git whatever its intent was classified as.
2. **Relevance**: every known tool is scored against the request text with BM25
   (:mod:`.ranking`); the tools sent are at most ``top_k``, each scoring at least
   ``min_score`` and at least ``relative_score`` of the best tool's score.
3. Routed services are those of the tools sent. Two sent tools with the same name are
   sent under qualified names (``service__tool``) so a model can tell them apart.

Only tools already listed can be ranked (this hook is synchronous); a service that is still
connecting is named in the reasons.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from dynamic_orchestrator.models import IntentResult, Request, ServiceRoute, ToolSpec
from dynamic_orchestrator.services import Service
from dynamic_orchestrator.tokens import estimate_tool_tokens

from .names import qualified_name
from .ranking import RankedTool, ToolDocument, ToolIndex, schema_parameters
from .settings import Settings

__all__ = ["route"]

_Fingerprint = tuple[tuple[str, str, str], ...]
_INDEXES: OrderedDict[_Fingerprint, tuple[ToolIndex, dict[str, int]]] = OrderedDict()
_INDEX_CACHE_SIZE = 16


def _key(service: str, tool: str) -> str:
    return f"{service}\x00{tool}"


def _index(tools: Sequence[ToolSpec]) -> tuple[ToolIndex, dict[str, int]]:
    """The BM25 index and token counts of these tools, cached by their definitions."""
    fingerprint = tuple(
        (t.service or "", t.name, t.description + repr(sorted(t.input_schema.items())))
        for t in tools
    )
    cached = _INDEXES.get(fingerprint)
    if cached is not None:
        _INDEXES.move_to_end(fingerprint)
        return cached
    documents = [
        ToolDocument(
            key=_key(t.service or "", t.name),
            name=t.name,
            description=t.description,
            parameters=schema_parameters(t.input_schema),
            service=t.service or "",
        )
        for t in tools
    ]
    tokens = {_key(t.service or "", t.name): estimate_tool_tokens(t) for t in tools}
    entry = (ToolIndex(documents), tokens)
    _INDEXES[fingerprint] = entry
    if len(_INDEXES) > _INDEX_CACHE_SIZE:
        _INDEXES.popitem(last=False)
    return entry


def _terms(ranked: RankedTool, limit: int = 3) -> str:
    return ", ".join(f"{term} {score:.2f}" for term, score in ranked.matched[:limit])


def route(
    request: Request, intent: IntentResult, services: Sequence[Service], settings: Settings
) -> ServiceRoute:
    """The services and tools ``request`` needs, among ``services``."""
    reasons: list[str] = []
    weights: dict[str, float] = {}
    tools: list[ToolSpec] = []
    excluded_tokens = 0
    waiting: list[str] = []
    capability_notes: list[str] = []
    for service in services:
        caps = [c.lower() for c in service.capabilities]
        if not caps:
            weight, note = 1.0, "no capabilities listed: any intent"
        elif intent.intent in caps:
            weight, note = 1.0, f"capability '{intent.intent}'"
        else:
            weight = settings.capability_mismatch_weight
            note = f"no capability '{intent.intent}' (score x{weight:g})"
        weights[service.name] = weight
        known = service.known_tools()
        if not known:
            waiting.append(service.name)
            continue
        if weight <= 0:
            capability_notes.append(f"{service.name}: {note}, left out")
            excluded_tokens += sum(estimate_tool_tokens(t) for t in known)
            continue
        capability_notes.append(f"{service.name}: {note}")
        tools.extend(
            t if t.service else t.model_copy(update={"service": service.name}) for t in known
        )

    by_key = {_key(t.service or "", t.name): t for t in tools}
    index, token_counts = _index(tools)
    available = sum(token_counts.values()) + excluded_tokens
    ranked = [
        RankedTool(r.key, r.score * weights.get(by_key[r.key].service or "", 1.0), r.matched)
        for r in index.rank(request.text)
    ]
    ranked.sort(key=lambda r: (-r.score, r.key))
    best = ranked[0].score if ranked else 0.0
    floor = max(settings.min_score, settings.relative_score * best)
    chosen = [r for r in ranked if r.score >= floor][: settings.top_k]

    sent: list[ToolSpec] = [by_key[r.key] for r in chosen]
    names = [t.name for t in sent]
    sent = [
        t.model_copy(update={"name": qualified_name(t.service or "", t.name)})
        if names.count(t.name) > 1
        else t
        for t in sent
    ]
    routed = list(dict.fromkeys(t.service or "" for t in sent))
    tokens_sent = sum(token_counts[r.key] for r in chosen)

    if capability_notes:
        reasons.append("services by capability: " + "; ".join(capability_notes))
    if waiting:
        reasons.append("tools not listed yet (connecting): " + ", ".join(waiting))
    if chosen:
        listed = "; ".join(
            f"{t.name} ({t.service}) {r.score:.2f} [{_terms(r)}]"
            for t, r in zip(sent, chosen, strict=True)
        )
        reasons.append(
            f"tools: {len(chosen)} of {len(tools)} sent, {tokens_sent} of {available} "
            f"definition tokens (estimated), by BM25 relevance: {listed}"
        )
    elif tools:
        why = (
            f"best score {best:.2f} is under min_score {settings.min_score:g}"
            if ranked
            else "no term of the request matches any tool"
        )
        reasons.append(f"tools: none of {len(tools)} sent: {why}")
    return ServiceRoute(
        services=routed,
        tools=sent,
        tool_tokens_sent=tokens_sent,
        tool_tokens_available=available,
        reasons=reasons,
    )
