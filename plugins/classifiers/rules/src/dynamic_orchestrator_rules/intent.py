"""Intent by explainable rules: weighted cues, the leading verb, and the verb's object.

Each intent has a list of cues (regular expressions with a weight). The verb that opens
the request, once politeness and preambles are stripped, weighs most; verbs whose intent
depends on their object ("create a branch" is manage, "create a .gitignore" is write)
look at the words that follow. The scores become a confidence by softmax, and the cues
that fired become the reasons.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

INTENTS = ("read", "write", "search", "analyze", "manage")

# (pattern, weight, label shown in reasons). Patterns match lowercased text.
CUES: dict[str, list[tuple[str, float]]] = {
    "read": [
        (
            r"\bwhat does\b.{0,60}?\b(?:do|return|take|contain|mean|expose|create|print|output)s?\b",
            2.0,
        ),
        (
            r"\bwhat \w+ does (?:it|this|that|the \w+) (?:create|expose|define|use|return|take|export)\b",
            2.0,
        ),
        (r"\bwhat (?:arguments|parameters|fields|columns|ports?|options) does\b", 2.0),
        (r"\bwhat(?:'s| is) in\b|\bwhats in\b", 2.5),
        (r"\b(?:show|display|print|cat|tail|head|open|view)\b", 1.5),
        (
            r"\b(?:describe|summari[sz]e|overview|walk me through|explain what|explanation of how)\b",
            2.0,
        ),
        (r"\bexplain\b", 1.0),
        (
            r"\bhow (?:is|are|does|do) (?:the |our |this |a |an )?[\w`.-]+(?: [\w`.-]+){0,3} (?:work|populated|structured|handled|defined|configured)\b",
            1.5,
        ),
        (r"\bwhat happens\b", 1.5),
        (r"^(?:what|whats|what's|what is|what are)\b", 1.0),
        (
            r"\b(?:default value|return type|signature|environment variables|fields?|schema of|type of|description of|values? of)\b",
            1.5,
        ),
        (r"\bhow (?:does|do|is|are)\b.{0,60}\bwork(?:s|ing)?\b", 2.0),
        (
            r"\btell me what\b|\bgive me (?:an? |the )?(?:\w+ )?(?:overview|description|summary|explanation)\b",
            2.0,
        ),
        (r"\bwhich (?:python|node|go|java|ruby) version\b|\bwhat (?:http )?status\b", 1.5),
        (
            r"\bcontents? of\b|\bcolumn definitions\b|\bcurrent value\b|\blast \d+ (?:lines|commits)\b",
            1.5,
        ),
        (r"\bjust describe\b|\bdon't suggest changes\b|\bno changes\b", 2.0),
        (r"\bread (?:through|the)\b", 1.0),
        (r"\btrace\b.*\bdescribe\b", 1.5),
    ],
    "write": [
        (r"\b(?:write|implement|create|add|build|generate|produce|draft|code up)\b", 1.2),
        (
            r"\b(?:refactor|rewrite|rename|convert|translate|port|split|extract|replace|change|modify|update|fix|correct|patch)\b",
            1.2,
        ),
        (r"\b(?:turn|make) (?:this|the|it|that)\b", 1.5),
        (r"\b(?:update|fix|change|correct|swap|replace) (?:it|this|that|them)\b|\bswap\b", 1.5),
        (r"\bneed an? (?:\w+ )?[\w/.-]+\.(?:py|js|ts|go|rs|java|md|json|ya?ml|toml|sh)\b", 1.5),
        (
            r"\b(?:unit tests?|test suite|tests for|docstring|one-liner|script that|function that|class that|commit message|dockerfile|openapi|\.gitignore|migration file|readme heading|typo)\b",
            1.2,
        ),
        (
            r"\bwe want an?\b|\bi need an? (?:\w+ )?(?:script|function|one-liner|command|endpoint|hook|component|dockerfile)\b",
            1.5,
        ),
        (
            r"\b(?:we|i) need (?:an?|some) (?!list\b|inventory\b|overview\b|explanation\b|description\b|summary\b)",
            1.5,
        ),
        (r"\bplease\s*$|\bfor this .* please\b", 0.5),
        (
            r"\bwithout changing (?:its|the) behaviou?r\b|\bkeeping the (?:same|public|existing)\b",
            1.5,
        ),
    ],
    "search": [
        (
            r"\b(?:find|search|grep|locate|hunt down|dig up)\b|\blook ?up (?:the|a|an|which|where|how)\b",
            2.0,
        ),
        (r"\bwhere (?:is|are|do|does|did|in|can)\b", 2.5),
        (
            r"\bwhich (?:files?|tests?|test files?|packages|modules|services|endpoints|api endpoints|repos|functions|components)\b",
            2.0,
        ),
        (
            r"\b(?:is there|are there) (?:already |any )?(?:a |an )?(?:helper|example|library|libraries|crate|package|function|util)\b",
            2.5,
        ),
        (r"\bdo we have (?:any|a|an)\b", 2.0),
        (
            r"\blooking for\b|\bwhat's out there\b|\binventory of\b|\ball call sites\b|\bevery place\b|\bevery call\b",
            2.0,
        ),
        (r"\b(?:list|flag) (?:every|all)\b|\ba list of every\b|\bfull list\b", 1.5),
        (r"\bcandidates\b|\bexamples?\b.*\b(?:docs|github)\b", 1.0),
        (r"\bwhere does this (?:message|error|log)\b|\bcome from\b", 1.5),
        (
            r"\bwhich (?:\w+ ){0,3}(?:defines?|owns?|creates?|contains?|mentions?|references?|uses?|calls?|imports?|declares?|depends? on|still|bypass|read|hit)\b",
            2.0,
        ),
        (r"\bwhich of (?:our|the|these)\b", 1.5),
        (r"^any \w+|\bany \w+ (?:that|which) (?:mention|use|reference|call|import)", 1.5),
        (
            r"\b(?:somewhere|anywhere|track (?:them|it|down)|what can you find|alternatives to)\b",
            2.0,
        ),
        (r"\b(?:is|are) there (?:a|an|any)\b", 1.0),
        (
            r"\bmissing the\b|\bthat (?:lack|lacks|don't set|do not set)\b|\bstill (?:uses?|talks?|pointing|used)\b",
            1.0,
        ),
    ],
    "analyze": [
        (r"\bwhy\b", 2.5),
        (
            r"\b(?:analy[sz]e|review|assess|evaluate|audit|compare|profile|investigate|diagnose|estimate|benchmark|critique)\b",
            2.0,
        ),
        (
            r"\b(?:figure out|root cause|what's causing|what is causing|what's going on|what went wrong|likely cause|trade-?offs?|pros and cons|bottlenecks?|weigh)\b",
            2.5,
        ),
        (
            r"\b(?:should we|should i|would .* help|is it worth|which (?:is|one is) (?:faster|better|cheaper)|which fits|better fit|vs\.?|versus)\b",
            2.0,
        ),
        (
            r"\b(?:is (?:this|it|that) (?:safe|vulnerable|correct|thread-safe|ok)|could this|can this|does (?:the|this) .* risk|edge cases?|overfitting|time complexity|scalability|how well|how much (?:disk|memory|time)|how many)\b",
            2.0,
        ),
        (r"\b(?:is there a (?:linear|faster|better) (?:approach|way))\b", 2.5),
        (
            r"\b(?:slow|leak|leaks|spikes?|latency|oom|crash(?:es|ing)?|panic|fails?|failing|broken|corrupted|timeouts?|502|500|lag|hangs?|regression)\b",
            0.8,
        ),
        (r"\b(?:identify|consider|recommend|limits)\b", 1.0),
        (r"\bwhat are the\b", 0.8),
    ],
    "manage": [
        (
            r"\b(?:deploy|redeploy|release|roll ?back|rollback|roll out|restart|reboot|scale|provision|rotate|schedule|install|uninstall|upgrade|downgrade|merge|rebase|revert|cherry-pick|tag|push|stop|start|kill|onboard|offboard|back ?up|snapshot|grant|revoke)\b",
            2.0,
        ),
        (
            r"\b(?:run|execute) (?:the |all |a )?(?:tests?|test suite|migrations?|smoke tests|job|jobs|script|pipeline|linters?|benchmarks?)\b",
            2.0,
        ),
        (r"\brun (?:it |them )?(?:once|against|on)\b|\brun migrations\b", 1.5),
        (r"\b(?:set up|setup|configure|enable|disable)\b", 1.2),
        (r"\b(?:clean ?up|prune|purge)\b", 1.5),
        (
            r"\b(?:cron|nightly|every night|ci/cd|github actions|workflow|pre-commit|alerts?|alerting|monitoring|on-call|pagerduty|grafana|prometheus alerts)\b",
            1.0,
        ),
        (
            r"\b(?:access|permissions?|sso|accounts?|credentials|secrets|keys|team|group|vault)\b",
            0.6,
        ),
        (
            r"\b(?:branch|branches|replicas|container|containers|docker images|cluster|clusters|staging|production|prod|instance|virtualenv|dependencies|packages?)\b",
            0.6,
        ),
        (
            r"\bmigrate (?:our|the) (?:self-hosted|cluster|database server|infrastructure|repos|gitlab|jenkins)|\bmove (?:the|our) (?:nightly|batch|jobs|services)\b",
            2.0,
        ),
    ],
}

# The opening verb of a request, after preambles are stripped.
LEADING: dict[str, tuple[str, float]] = {
    **{
        v: ("read", 3.0)
        for v in (
            "show",
            "display",
            "print",
            "cat",
            "tail",
            "head",
            "open",
            "view",
            "describe",
            "summarize",
            "summarise",
            "explain",
            "walk",
            "tell",
            "read",
            "trace",
            "outline",
        )
    },
    **{
        v: ("write", 3.0)
        for v in (
            "write",
            "implement",
            "build",
            "generate",
            "produce",
            "draft",
            "refactor",
            "rewrite",
            "rename",
            "convert",
            "translate",
            "port",
            "split",
            "extract",
            "fix",
            "correct",
            "patch",
            "modify",
            "change",
            "turn",
            "make",
            "document",
            "swap",
        )
    },
    **{
        v: ("search", 3.0)
        for v in (
            "find",
            "search",
            "grep",
            "locate",
            "lookup",
            "hunt",
            "where",
            "dig",
        )
    },
    **{
        v: ("analyze", 3.0)
        for v in (
            "analyze",
            "analyse",
            "review",
            "assess",
            "evaluate",
            "audit",
            "compare",
            "profile",
            "investigate",
            "diagnose",
            "estimate",
            "why",
            "benchmark",
            "critique",
        )
    },
    **{
        v: ("manage", 3.0)
        for v in (
            "deploy",
            "redeploy",
            "release",
            "rollback",
            "restart",
            "reboot",
            "scale",
            "provision",
            "rotate",
            "schedule",
            "install",
            "uninstall",
            "merge",
            "rebase",
            "revert",
            "cherry-pick",
            "tag",
            "push",
            "stop",
            "start",
            "kill",
            "onboard",
            "offboard",
            "backup",
            "snapshot",
            "grant",
            "revoke",
            "configure",
            "coordinate",
            "prune",
            "purge",
            "migrate",
            "run",
            "enable",
            "disable",
        )
    },
}

# Verbs whose intent depends on what they act on.
OBJECT_DEPENDENT = {
    "create",
    "add",
    "delete",
    "remove",
    "set",
    "upgrade",
    "update",
    "clean",
    "roll",
    "move",
    "look",
    "list",
    "plan",
    "setup",
    "give",
    "bump",
}
MANAGE_OBJECTS = re.compile(
    r"\b(?:branch(?:es)?|tag|team|group|access|permissions?|users?|accounts?|sso|cluster|"
    r"replicas|container|docker images|images|instance|bucket|queue|workers|cron|job|jobs|"
    r"alerts?|monitoring|logging|pipeline|workflow|github actions|ci|pre-commit|snapshots?|"
    r"backups?|dependenc(?:y|ies)|packages?|eslint|django|node|python \d|virtualenv|credentials|"
    r"secrets|keys|vault|environment|staging|production|prod|server|database|db|vms?)\b"
)
WRITE_OBJECTS = re.compile(
    r"(?:\.gitignore|\b[\w/-]+\.(?:py|js|ts|tsx|jsx|go|rs|java|kt|rb|md|ya?ml|json|toml|sql|sh|css|html)\b)|"
    r"\b(?:function|method|class|test|tests|endpoint|hook|component|docstring|comment|docs|"
    r"commented-out|block|lines?|"
    r"readme|spec|sql|query|script|one-liner|command|dockerfile|terraform|"
    r"migration file|constraint|variable|typo|bug|button|form|code|module|schema|field|"
    r"column|index|validation|pagination|logging statements|type hints|retry|cache|api)\b"
)
SEARCH_OBJECTS = re.compile(r"\b(?:every|all|each)\b.*\b(?:that|which|where|with|without|still)\b")

PREAMBLE = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|quick question|quick one|question|q)[,:!.]?\s+)?"
    r"(?:(?:please|pls|kindly)\s+)?"
    r"(?:(?:can|could|would|will) (?:you|we|someone)(?: please)?\s+|"
    r"(?:i|we) (?:need|want|would like|'d like|d like)(?: you)? to\s+|"
    r"(?:i|we)'d like(?: you)? to\s+|help me(?: to)?\s+|let's\s+|lets\s+|"
    r"go ahead and\s+|try to\s+|"
    r"i(?:'m| am) (?:trying|looking) to\s+)?"
    r"(?:(?:please|pls|quickly|also|just)\s+)?"
)
WORD = re.compile(r"[a-z][a-z'-]*")


@dataclass(frozen=True)
class IntentScore:
    intent: str
    confidence: float
    reasons: list[str]
    scores: dict[str, float]


class RulesClassifier:
    """Compiled cues; ``classify(text)`` is pure and takes microseconds."""

    def __init__(self, cues: dict[str, list[tuple[str, float]]] | None = None):
        cues = cues or CUES
        self._patterns: dict[str, tuple[re.Pattern[str], list[tuple[float, str]]]] = {}
        for intent, items in cues.items():
            groups = [f"(?P<g{i}>{pattern})" for i, (pattern, _) in enumerate(items)]
            meta = [(weight, pattern) for pattern, weight in items]
            self._patterns[intent] = (re.compile("|".join(groups)), meta)

    def leading_verb(self, text: str) -> tuple[str, str] | None:
        rest = text[PREAMBLE.match(text).end() if PREAMBLE.match(text) else 0 :]  # type: ignore[union-attr]
        match = WORD.match(rest)
        if not match:
            return None
        return match.group(0), rest[match.end() : match.end() + 80]

    def classify(self, text: str) -> IntentScore:
        lowered = text.lower()
        scores = dict.fromkeys(INTENTS, 0.0)
        reasons: dict[str, list[str]] = {i: [] for i in INTENTS}
        for intent, (pattern, meta) in self._patterns.items():
            seen: set[int] = set()
            for match in pattern.finditer(lowered):
                name = match.lastgroup
                if name is None:
                    continue
                index = int(name[1:])
                if index in seen:
                    continue
                seen.add(index)
                weight = meta[index][0]
                scores[intent] += weight
                reasons[intent].append(f"'{match.group(0).strip()}' (+{weight:g})")
        lead = self.leading_verb(lowered.strip())
        if lead is not None:
            verb, after = lead
            base = verb.split("'")[0]
            if base in OBJECT_DEPENDENT:
                intent = self._by_object(base, after)
                if intent:
                    scores[intent] += 2.5
                    reasons[intent].append(f"opens with '{base}' acting on {intent} objects (+2.5)")
            elif base in LEADING:
                intent, weight = LEADING[base]
                scores[intent] += weight
                reasons[intent].append(f"opens with '{base}' (+{weight:g})")
        if max(scores.values()) == 0:
            default = (
                "read" if re.match(r"\s*(?:what|which|how|who|when)\b", lowered) else "analyze"
            )
            return IntentScore(default, 0.2, [f"no cue matched: defaulting to {default}"], scores)
        best = max(INTENTS, key=lambda i: scores[i])
        total = sum(math.exp(1.2 * (s - scores[best])) for s in scores.values())
        confidence = 1.0 / total
        return IntentScore(best, round(confidence, 4), reasons[best][:6], scores)

    @staticmethod
    def _by_object(verb: str, after: str) -> str | None:
        window = after[:60]
        if verb in ("look",):
            return "search" if re.match(r"\s*(?:up|for|into)\b", after) else None
        if verb == "list":
            return "search" if SEARCH_OBJECTS.search(window) else "read"
        if verb in ("set", "setup"):
            return "manage"
        if verb in ("upgrade", "bump", "clean", "roll", "give"):
            return "manage"
        if verb == "plan":
            return "manage" if MANAGE_OBJECTS.search(window) else "analyze"
        write_hit = WRITE_OBJECTS.search(window)
        manage_hit = MANAGE_OBJECTS.search(window)
        if manage_hit and (not write_hit or manage_hit.start() < write_hit.start()):
            return "manage"
        return "write"
