"""Readable features of a request: the rules the classifier weighs.

Every feature is a short string a person can read in a reason: ``lead:find`` (the request
opens with "find"), ``cue:where-is``, ``w:deploy`` (the word), ``b:unit tests`` (two words),
``len:9-14`` (its length in words). The weights of these rules are learned from labelled
requests (see :mod:`.model`); the features themselves are fixed here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

# Named cue patterns, matched on the lowercased text. Which intent or level each supports,
# and how strongly, is learned; the names are what a reason shows.
CUES: list[tuple[str, str]] = [
    (
        "what-does-x-do",
        r"\bwhat does\b.{0,60}?\b(?:do|return|take|contain|mean|say|print|output|compute|expose|create)s?\b",
    ),
    ("what-is-in", r"\bwhat(?:'s| is|s) in\b"),
    ("what-question", r"^(?:what|whats|what's|what is|what are)\b"),
    (
        "how-does-x-work",
        r"\bhow (?:does|do|is|are)\b.{0,60}?\b(?:work|fit|relate|handled|populated|structured)",
    ),
    ("how-do-i", r"\bhow (?:do|can|should) (?:i|we)\b"),
    (
        "describe",
        r"\b(?:describe|summari[sz]e|summary|overview|outline|gist|walk (?:me )?through|break down|recap|tl;?dr)\b",
    ),
    ("explain-what", r"\bexplain (?:what|how)\b|\bremind me\b"),
    ("show", r"\b(?:show|display|print|cat|tail|head|open|view|pull up|dump)\b"),
    (
        "value-of",
        r"\b(?:default value|return type|signature|value of|set to|currently (?:say|set)|what port|which version)\b",
    ),
    (
        "as-written",
        r"\b(?:as (?:it is )?written|don't (?:suggest|change)|no changes|just describe|only describe)\b",
    ),
    ("where", r"\bwhere(?:'s| is| are| do| does| did| in|ver)\b"),
    (
        "find",
        r"\b(?:find|grep|locate|search|hunt(?:ing)? (?:down|for)|track down|dig up|look(?:ing)? for|look up|point me to)\b",
    ),
    (
        "which-x-does",
        r"\bwhich (?:\w+ ){0,3}(?:defines?|owns?|creates?|produced|contains?|mentions?|references?|uses?|calls?|imports?|reads?|writes?|sets?|pins?|still|lacks?|bypass)",
    ),
    (
        "which-file",
        r"\bwhich (?:file|files|folder|module|modules|notebook|service|services|repo|repos|test|tests|package|packages|class|function|script|one)\b",
    ),
    (
        "is-there",
        r"\b(?:is|are) there (?:already |any |a |an )|\bdo we (?:have|already)\b|\bdoes any\b",
    ),
    (
        "every-place",
        r"\b(?:every|all) (?:place|call|usage|use|caller|reference|occurrence)s?\b|\ball (?:the )?call sites\b|\binventory\b",
    ),
    ("list-every", r"\b(?:list|flag) (?:every|all)\b|\ba list of\b|\bfull list\b"),
    (
        "library-lookup",
        r"\b(?:library|libraries|crate|package|gem|alternatives?|examples?|docs|documentation|link)\b",
    ),
    ("why", r"\bwhy\b"),
    (
        "cause",
        r"\b(?:cause|causing|root cause|what's going on|what went wrong|figure out|diagnos\w*|culprit)\b",
    ),
    (
        "evaluate",
        r"\b(?:analy[sz]e|review|assess|evaluate|audit|compare|profile|benchmark|critique|estimate|investigate)\b",
    ),
    (
        "worth-it",
        r"\b(?:worth it|is it worth|should (?:we|i)|better|faster|cheaper|vs\.?|versus|trade-?offs?|pros and cons|which (?:is|one))\b",
    ),
    (
        "is-it-safe",
        r"\b(?:is (?:this|it|that) (?:safe|ok|okay|correct|vulnerable|thread-safe|idiomatic)|could this|can this|risk|edge cases?|complexity of)\b",
    ),
    (
        "symptom",
        r"\b(?:slow|leaks?|spikes?|latency|oom|crash\w*|fails?|failing|failed|broken|corrupt\w*|timeouts?|hangs?|flaky|regression|error|exception|panic|500|502|503)\b",
    ),
    (
        "create",
        r"\b(?:write|implement|create|build|generate|produce|draft|scaffold|code up|make)\b",
    ),
    (
        "change",
        r"\b(?:add|refactor|rewrite|rename|convert|translate|port|split|extract|replace|swap|change|modify|update|fix|correct|patch|guard|drop|remove|delete)\b",
    ),
    (
        "artifact",
        r"\b(?:function|method|class|struct|enum|interface|trait|extension|snippet|one-liner|script|test|tests|fixture|docstring|comment|regex|query|migration|endpoint|hook|component|dockerfile|makefile|schema|data class|decorator|macro|helper|wrapper|handler|parser|cli|command|commit message)\b",
    ),
    (
        "file-path",
        r"[\w./-]+\.(?:py|js|ts|tsx|jsx|go|rs|java|kt|kts|swift|rb|php|cs|cpp|cc|c|h|hpp|md|ya?ml|json|toml|sql|sh|tf|tfvars|ini|cfg|xml|gradle|plist|vcl|proto)\b",
    ),
    ("code-inline", r"[`(){}\[\];=]"),
    (
        "operate",
        r"\b(?:deploy|redeploy|release|roll ?back|rollback|roll out|restart|reboot|scale|provision|rotate|schedule|install|uninstall|upgrade|downgrade|bump|merge|rebase|revert|cherry-pick|tag|push|stop|start|kill|onboard|offboard|back ?up|snapshot|grant|revoke|run|execute|trigger|enable|disable|clean ?up|prune|purge|mount|migrate)\b",
    ),
    (
        "infra-object",
        r"\b(?:branch(?:es)?|replicas?|pods?|containers?|images?|clusters?|nodes?|instances?|vms?|servers?|staging|production|prod|environment|namespace|bucket|queue|workers?|cron|job|jobs|pipeline|workflow|ci|cd|github actions|runner|secrets?|keys?|credentials|certificates?|access|permissions?|roles?|users?|accounts?|sso|team|group|alerts?|alerting|monitoring|dashboard|dependenc(?:y|ies)|virtualenv|venv|database|db)\b",
    ),
    ("please-end", r"\b(?:please|pls|plz)\W*$"),
    ("need", r"\b(?:i|we) (?:need|want|would like|'d like)\b|\bneeds?\b"),
    ("question", r"\?\s*$"),
]
_CUE_PATTERNS = [(name, re.compile(pattern)) for name, pattern in CUES]

PREAMBLE = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|quick question|quick one|question|q|fyi|also|btw)[,:!.]?\s+)?"
    r"(?:(?:please|pls|kindly)\s+)?"
    r"(?:(?:can|could|would|will) (?:you|we|someone)(?: please)?\s+|"
    r"(?:i|we) (?:need|want|would like|'d like|d like)(?: you)? to\s+|"
    r"(?:i|we)'d like(?: you)? to\s+|help me(?: to)?\s+|let's\s+|lets\s+|"
    r"go ahead and\s+|try to\s+|i(?:'m| am) (?:trying|looking) to\s+)?"
    r"(?:(?:please|pls|quickly|also|just)\s+)?"
)
WORD = re.compile(r"[a-z][a-z0-9_'+#-]*")
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "with",
        "at",
        "by",
        "from",
        "as",
        "our",
        "my",
        "your",
        "we",
        "i",
        "you",
        "me",
        "us",
        "they",
        "them",
        "its",
        "into",
    ]
)
_CUE_BY_NAME = dict(_CUE_PATTERNS)
OBJECT_CLASSES = [
    ("infra", _CUE_BY_NAME["infra-object"]),
    ("artifact", _CUE_BY_NAME["artifact"]),
    ("file", _CUE_BY_NAME["file-path"]),
]
STEPS = re.compile(r",|;|\band\b|\bthen\b|\bplus\b|\bincluding\b|\b\d\)|\n")
SCALE = re.compile(
    r"\b\d{2,}\s*(?:services|repos|modules|teams|regions|clusters|classes|files|tables|"
    r"endpoints|microservices|apps|languages)\b|\b\d+k\b|\bmillions?\b|\bacross\b|\bevery\b|"
    r"\ball (?:of )?(?:our|the)\b|\bwhole\b|\bentire\b|\bend[- ]to[- ]end\b"
)


def _bucket(value: int, edges: tuple[int, ...]) -> str:
    for edge in edges:
        if value <= edge:
            return f"<={edge}"
    return f">{edges[-1]}"


def lead_words(lowered: str) -> list[str]:
    """The first words after politeness and preambles ("could you please …")."""
    match = PREAMBLE.match(lowered)
    rest = lowered[match.end() if match else 0 :]
    return WORD.findall(rest[:80])[:3]


def extract(text: str, context: Mapping[str, object] | None = None) -> list[str]:
    """The features of one request, deduplicated, in a stable order."""
    lowered = text.lower().strip()
    features: list[str] = ["bias"]
    for name, pattern in _CUE_PATTERNS:
        if pattern.search(lowered):
            features.append(f"cue:{name}")
    words = WORD.findall(lowered)
    content = [w for w in words if w not in STOP]
    features.extend(f"w:{w}" for w in content)
    features.extend(f"b:{a} {b}" for a, b in itertools.pairwise(words))
    lead = lead_words(lowered)
    if lead:
        features.append(f"lead:{lead[0]}")
        if len(lead) > 1:
            features.append(f"lead2:{lead[0]} {lead[1]}")
        after = lowered[lowered.find(lead[0]) + len(lead[0]) :][:60]
        for cls, pattern in OBJECT_CLASSES:
            if pattern.search(after):
                features.append(f"leadobj:{lead[0]}/{cls}")
    count = len(words)
    features.append(f"len:{_bucket(count, (5, 9, 14, 22, 35, 60))}")
    features.append(f"steps:{_bucket(len(STEPS.findall(lowered)), (0, 1, 3, 6))}")
    if SCALE.search(lowered):
        features.append("scale")
    if context:
        features.extend(f"ctx:{key.lower()}" for key in list(context)[:8])
        size = sum(len(str(v)) for v in context.values())
        features.append(f"ctxsize:{_bucket(size, (100, 1000, 4000))}")
    return list(dict.fromkeys(features))
