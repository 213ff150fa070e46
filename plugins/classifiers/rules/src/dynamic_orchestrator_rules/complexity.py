"""Complexity by explainable features: scope, size, steps and the kind of work.

The score starts at a prior for the intent and moves with each feature; the reasons list
every feature that moved it. Levels: below 0.30 simple, below 0.53 moderate, else complex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SIMPLE_BELOW = 0.30
COMPLEX_FROM = 0.53

PRIOR = {"read": 0.22, "search": 0.22, "manage": 0.26, "write": 0.3, "analyze": 0.3}

# (pattern, delta, label)
FEATURES: list[tuple[str, float, str]] = [
    (
        r"\b(?:architecture|architect|design (?:a|the|our)|strategy|multi-region|multi-tenant|"
        r"distributed|zero downtime|no (?:service )?downtime|high availability|failover|"
        r"end[- ]to[- ]end|across (?:all|every|the|our|three|two|\d+)|entire|whole|"
        r"all (?:\d+ )?(?:services|repos|environments|modules|repository classes)|"
        r"every (?:service|repo|environment)|org-wide|platform|infrastructure|"
        r"migrate|migration of|move (?:our|the) \w+ (?:from|to)|roll out|"
        r"security audit|audit (?:the|our) (?:whole|entire)|scalab|bottlenecks?|"
        r"trade-?offs?|consistency|fan-out|sharding|replication|encryption|"
        r"conflict resolution|offline-first|plugin system|data access layer|"
        r"monorepo|microservices?|kubernetes clusters?|regions)\b",
        0.2,
        "system-wide scope",
    ),
    (
        r"\b(?:implement|design|build|rewrite|refactor|integrate|pipeline|workflow|"
        r"pagination|validation|tests? (?:for|covering)|test suite|endpoint|module|"
        r"review|profile|investigate|figure out|leak|race conditions?|latency|"
        r"memory|cpu|performance|deploy|release|configure|set up|schedule|alerts?|"
        r"permissions|access|credentials|summari[sz]e|overview|describe|walk me through|"
        r"step by step|each|every|all|flow|data flow|report|spec|command|docs|documentation|"
        r"multi-stage|helpers|cohort|several|including|resolve|conflicts|make sure|"
        r"call sites|code paths|in order|lifecycle|reducers|middleware|handles? errors|"
        r"edge cases|covering|idiomatic|overfitting|health checks|alerts?)\b",
        0.08,
        "feature-sized work",
    ),
    (
        r"\b(?:rename|typo|one-liner|single|quick|simple|small|just|only|show|print|"
        r"display|cat|tail|list the|what port|which version|restart|revert|tag|"
        r"install|find the|where is|where do|where does|docstring|comment|"
        r"is there already)\b",
        -0.1,
        "small, well-defined step",
    ),
]

STEP_MARKERS = re.compile(r",|;|\band\b|\bthen\b|\bplus\b|\bincluding\b|\b\d\)|\n-|\n\*|\n\d\.")
NUMBERS_AT_SCALE = re.compile(
    r"\b\d{2,}\s*(?:services|repos|modules|teams|regions|clusters|"
    r"contractors|classes|files|tables|endpoints)\b|\b\d+k\b|\b\d+ million\b"
)


@dataclass(frozen=True)
class ComplexityScore:
    level: str
    score: float
    reasons: list[str]


class RulesScorer:
    def __init__(self) -> None:
        self._features = [(re.compile(p), d, label) for p, d, label in FEATURES]

    def score(self, text: str, intent: str, context_chars: int = 0) -> ComplexityScore:
        lowered = text.lower()
        score = PRIOR.get(intent, 0.28)
        reasons = [f"{intent} prior {score:.2f}"]
        for pattern, delta, label in self._features:
            hits = pattern.findall(lowered)
            if not hits:
                continue
            count = min(len(hits), 3)
            change = delta * (1 + 0.5 * (count - 1))
            score += change
            shown = ", ".join(sorted({h.strip() for h in hits})[:3])
            reasons.append(f"{label}: {shown} ({change:+.2f})")
        words = len(lowered.split())
        if words > 25:
            change = min(0.2, 0.04 + (words - 25) * 0.006)
        elif words > 14:
            change = 0.04
        elif words <= 8:
            change = -0.08
        else:
            change = -0.02
        score += change
        reasons.append(f"{words} words ({change:+.2f})")
        steps = len(STEP_MARKERS.findall(lowered))
        if steps >= 2:
            change = min(0.15, 0.04 * steps)
            score += change
            reasons.append(f"{steps} parts or steps ({change:+.2f})")
        if NUMBERS_AT_SCALE.search(lowered):
            score += 0.1
            reasons.append("numbers at scale (+0.10)")
        if context_chars > 4000:
            score += 0.1
            reasons.append(f"large context, {context_chars} characters (+0.10)")
        score = max(0.0, min(1.0, score))
        level = (
            "simple" if score < SIMPLE_BELOW else "moderate" if score < COMPLEX_FROM else "complex"
        )
        return ComplexityScore(level, round(score, 4), reasons)
