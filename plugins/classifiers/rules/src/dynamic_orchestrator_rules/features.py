"""Readable features of a request: the rules the classifier weighs.

Every feature is a short string a person can read in a reason: ``lead:find`` (the request
opens with "find"), ``cue:where-is``, ``w:deploy`` (the word), ``b:unit tests`` (two words),
``len:9-14`` (its length in words). The weights of these rules are learned from labelled
requests (see :mod:`.model`); the features themselves are fixed here.
"""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Mapping
from typing import Any

# Named cues. Which intent or level each supports, and how strongly, is learned; the names
# are what a reason shows. Word cues match single words or two-word phrases of the request
# (fast set lookups); the few cues that need context are regular expressions.
WORD_CUES: dict[str, frozenset[str]] = {
    name: frozenset(phrases.split("|"))
    for name, phrases in {
        "describe": "describe|summarize|summarise|summary|overview|outline|gist|walk through|"
        "walk me|break down|recap|tldr|tl;dr|remind me|explain what|explain how",
        "show": "show|display|print|cat|tail|head|open|view|pull up|dump|contents",
        "value-of": "default value|return type|signature|value of|set to|what port|"
        "which version|currently set|currently says",
        "as-written": "as written|just describe|only describe|no changes|don't suggest",
        "find": "find|grep|locate|search|searching|hunt|hunting|track down|dig up|look for|"
        "looking for|look up|lookup|point me|inventory",
        "library-lookup": "library|libraries|crate|package|gem|alternative|alternatives|"
        "example|examples|docs|documentation|link|links",
        "every-place": "every place|all places|every call|all calls|every usage|all usages|"
        "call sites|every occurrence|every reference|all references",
        "list-every": "list every|list all|flag every|full list|a list",
        "why": "why",
        "cause": "cause|causing|culprit|diagnose|diagnosis|figure out|root cause|went wrong",
        "evaluate": "analyze|analyse|analysis|review|assess|assessment|evaluate|audit|compare|"
        "comparison|profile|benchmark|critique|estimate|investigate",
        "worth-it": "worth|should we|should i|better|faster|cheaper|vs|versus|tradeoff|"
        "tradeoffs|trade-off|trade-offs|pros|cons|which is|which one",
        "is-it-safe": "safe|unsafe|vulnerable|correct|idiomatic|risk|risky|edge case|"
        "edge cases|complexity of|thread-safe|could this|can this",
        "symptom": "slow|leak|leaks|spike|spikes|latency|oom|crash|crashes|crashing|fails|fail|"
        "failing|failed|broken|corrupt|corrupted|timeout|timeouts|hangs|hang|flaky|"
        "regression|error|errors|exception|panic|500|502|503",
        "create": "write|implement|create|build|generate|produce|draft|scaffold|make|code up",
        "change": "add|refactor|rewrite|rename|convert|translate|port|split|extract|replace|"
        "swap|change|modify|update|fix|correct|patch|guard|drop|remove|delete",
        "artifact": "function|method|class|struct|enum|interface|trait|extension|snippet|"
        "one-liner|script|test|tests|fixture|docstring|comment|regex|query|migration|"
        "endpoint|hook|component|dockerfile|makefile|schema|decorator|macro|helper|wrapper|"
        "handler|parser|cli|command|data class|commit message",
        "operate": "deploy|redeploy|release|rollback|roll back|roll out|restart|reboot|scale|"
        "provision|rotate|schedule|install|uninstall|upgrade|downgrade|bump|merge|rebase|"
        "revert|cherry-pick|tag|push|stop|start|kill|onboard|offboard|backup|back up|"
        "snapshot|grant|revoke|run|execute|trigger|enable|disable|cleanup|clean up|prune|"
        "purge|mount|migrate",
        "infra-object": "branch|branches|replica|replicas|pod|pods|container|containers|image|"
        "images|cluster|clusters|node|nodes|instance|instances|vm|vms|server|servers|staging|"
        "production|prod|environment|namespace|bucket|queue|worker|workers|cron|job|jobs|"
        "pipeline|workflow|ci|cd|runner|secret|secrets|key|keys|credentials|certificate|"
        "certificates|access|permission|permissions|role|roles|user|users|account|accounts|"
        "sso|team|group|alert|alerts|alerting|monitoring|dashboard|dependency|dependencies|"
        "virtualenv|venv|database|db",
        "need": "i need|we need|i want|we want|needs|need",
        "please": "please|pls|plz",
    }.items()
}
_CUES_OF: dict[str, tuple[str, ...]] = {}
for _name, _phrases in WORD_CUES.items():
    for _phrase in _phrases:
        _CUES_OF[_phrase] = (*_CUES_OF.get(_phrase, ()), f"cue:{_name}")

# (feature, a substring the text must contain for the pattern to be tried, pattern). A cue
# may have several entries (one per gate): it is present when any of them matches.
REGEX_CUES: list[tuple[str, str, re.Pattern[str]]] = [
    (f"cue:{name}", gate, re.compile(pattern))
    for name, gate, pattern in [
        (
            "what-does-x-do",
            "what does",
            r"\bwhat does\b.{0,60}?\b(?:do|return|take|contain|mean|say|print|output|compute|expose|create)s?\b",
        ),
        ("what-is-in", "what", r"\bwhat(?:'s| is|s) in\b"),
        ("what-question", "what", r"^(?:what|whats|what's|what is|what are)\b"),
        (
            "how-does-x-work",
            "how ",
            r"\bhow (?:does|do|is|are)\b.{0,60}?\b(?:work|fit|relate|handled|populated|structured)",
        ),
        ("how-do-i", "how ", r"\bhow (?:do|can|should) (?:i|we)\b"),
        ("where", "where", r"\bwhere(?:'s| is| are| do| does| did| in|ver)\b"),
        (
            "which-x-does",
            "which ",
            r"\bwhich (?:\w+ ){0,3}(?:defines?|owns?|creates?|produced|contains?|mentions?|references?|uses?|calls?|imports?|reads?|writes?|sets?|pins?|still|lacks?|bypass)",
        ),
        (
            "which-file",
            "which ",
            r"\bwhich (?:file|files|folder|module|modules|notebook|service|services|repo|repos|test|tests|package|packages|class|function|script|one)\b",
        ),
        ("is-there", " there ", r"\b(?:is|are) there (?:already |any |a |an )"),
        ("is-there", "do we ", r"\bdo we (?:have|already)\b"),
        ("is-there", "does any", r"\bdoes any\b"),
        (
            # a name, then a known extension: one name character before the dot suffices
            # (the pattern opens with the dot, so the regex engine scans for dots alone)
            "file-path",
            ".",
            r"\.(?<=[\w./-]\.)(?:py|js|ts|tsx|jsx|go|rs|java|kt|kts|swift|rb|php|cs|cpp|cc|c|h|hpp|md|ya?ml|json|toml|sql|sh|tf|tfvars|ini|cfg|xml|gradle|plist|vcl|proto)\b",
        ),
        ("code-inline", "", r"[`(){}\[\];=]"),
        ("question", "?", r"\?\s*$"),
    ]
]

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
OBJECT_CLASSES = ("infra-object", "artifact")
_OBJECT_PHRASES = {
    cls: (
        frozenset(p for p in WORD_CUES[cls] if " " not in p),
        frozenset(tuple(p.split(" ")) for p in WORD_CUES[cls] if p.count(" ") == 1),
    )
    for cls in OBJECT_CLASSES
}
"""Each object class's one-word phrases, and its two-word phrases as pairs of words: the
words after the opening verb are matched against them without joining each pair."""
STEP_WORDS = frozenset({"and", "then", "plus", "including", "also"})
SCALE_WORDS = frozenset(
    {
        "across",
        "every",
        "whole",
        "entire",
        "million",
        "millions",
        "end-to-end",
        "all our",
        "all the",
        "all of",
        "end to",
    }
)
SCALE_NUMBER = re.compile(
    # "12 services" (two digits or more, not part of a word or a version) or "10k". Both
    # branches open with the digit itself, so the regex engine scans for digits alone.
    r"\d(?:(?<![\w.]\d)\d+\s*(?:services|repos|modules|teams|regions|clusters|classes|files|"
    r"tables|endpoints|microservices|apps|languages)\b|(?<!\w\d)\d*k\b)"
)


ASK_VERBS = frozenset(
    {
        p
        for name in ("create", "change", "operate", "find", "show", "describe", "evaluate")
        for p in WORD_CUES[name]
        if " " not in p
    }
    | {
        "explain",
        "tell",
        "give",
        "list",
        "check",
        "help",
        "walk",
        "set",
        "put",
        "turn",
        "do",
        "get",
        "sync",
        "move",
        "wire",
        "document",
        "figure",
        "diagnose",
        "estimate",
    }
)
SENTENCE = re.compile(
    # A boundary: spaces after a sentence mark, line breaks, or a dash between spaces. Each
    # opens with a space character (the regex engine scans for those alone), then the
    # three cases in this order: spaces after [.!?;:], more line breaks, a spaced dash.
    r"\s(?:(?<=[.!?;:]\s)\s*|(?<=\n)\n*|\s*[—–-]\s+)"
)
SUFFIXES = ("ing", "ions", "ion", "ers", "er", "ed", "es", "ment", "s")
CHAR_SPAN = 120
"""Character 4-grams are taken from the opening this long (robust to word forms, typos)."""


def stem(word: str) -> str:
    """A crude suffix strip, so 'deploying', 'deployed' and 'deploys' meet at 'deploy'."""
    for suffix in SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


_stem_of: dict[str, str | None] = {}
"""Each word seen, with its stem when that differs from the word, else None."""
_STEMS_KEPT = 65536


def _stems(words: set[str]) -> set[str]:
    """The stems of ``words`` that differ from their word (``s:`` features)."""
    missing = words.difference(_stem_of)
    if missing:
        if len(_stem_of) + len(missing) > _STEMS_KEPT:
            _stem_of.clear()
        for word in missing:
            stemmed = stem(word)
            _stem_of[word] = stemmed if stemmed != word else None
    try:
        found: set[str | None] = set(map(_stem_of.__getitem__, words))
    except KeyError:  # another thread emptied the table meanwhile
        return {stemmed for word in words if (stemmed := stem(word)) != word}
    found.discard(None)
    return found  # type: ignore[return-value]


def ask_sentence(text: str) -> str | None:
    """The sentence that carries the ask in a multi-sentence request, else None.

    Background usually comes first ("We moved to Postgres 16 …") and the ask after it: the
    last sentence that opens with a verb of a known kind or that is a question wins.
    """
    parts = [p for p in map(str.strip, SENTENCE.split(text)) if p]
    if len(parts) <= 1:
        return None
    chosen = None
    for part in parts:
        if part.endswith("?") or _first_word(part) in ASK_VERBS:
            chosen = part
    return chosen or parts[-1]


def _bucket(value: int, edges: tuple[int, ...]) -> str:
    for edge in edges:
        if value <= edge:
            return f"<={edge}"
    return f">{edges[-1]}"


def _buckets(name: str, edges: tuple[int, ...], top: int) -> list[str]:
    """Feature names of ``name``'s bucket for every value from 0 to ``top``."""
    return [f"{name}:{_bucket(value, edges)}" for value in range(top + 1)]


def lead_words(lowered: str) -> list[str]:
    """The first words after politeness and preambles ("could you please …")."""
    match = PREAMBLE.match(lowered)
    start = match.end() if match else 0
    return WORD.findall(lowered, start, start + 80)[:3]


def _first_word(lowered: str) -> str | None:
    """``lead_words(lowered)[0]``, or None when there is none."""
    match = PREAMBLE.match(lowered)
    start = match.end() if match else 0
    word = WORD.search(lowered, start, start + 80)
    return word.group() if word else None


MAX_CHARS = 1500
"""Only the opening of a very long request is read: it states what is wanted."""
BAG_WORDS = 80
"""Word, stem and word-pair features come from the first words this many (cues and the
ask sentence see the whole opening), which bounds the cost of a decision."""

BAGS = ("w", "s", "b", "aw", "c")
"""The kinds of feature a request has many of: its words (``w:``), their stems (``s:``),
its word pairs (``b:``), the words of its ask sentence (``aw:``) and the character
4-grams of its opening (``c:``). :func:`extract_parts` gives them bare (without the
prefix), as sets, so a model looks them up without building their names."""

Parts = tuple[list[str], tuple[set[Any], ...]]
"""The features of one request: the named features (bias, cues, openings, sizes,
context; full names, deduplicated), and one set of bare values per kind of :data:`BAGS`
(strings; the 4-grams as their :func:`gram_code`)."""

_GRAM_SLICES = [slice(i, i + 4) for i in range(CHAR_SPAN - 3)]
_GRAM_WORDS = [struct.Struct(f"<{count}I") for count in range(CHAR_SPAN // 4 + 1)]


def gram_code(gram: str) -> int | str:
    """How a 4-gram is kept and looked up: an ASCII one as its four bytes read as one
    little-endian integer (cheaper to make and to look up than a string), another as is."""
    if len(gram) == 4 and gram.isascii():
        return int.from_bytes(gram.encode("ascii"), "little")
    return gram


def gram_name(code: int | str) -> str:
    """The 4-gram a :func:`gram_code` stands for."""
    return code if isinstance(code, str) else code.to_bytes(4, "little").decode("ascii")


def _ascii_codes(run: str) -> set[int | str]:
    """The :func:`gram_code` of every 4-gram of an ASCII string, read four bytes at a time
    at each of the four offsets (no string per gram)."""
    size = len(run)
    if size < 4:
        return set()
    data = run.encode("ascii")
    words = _GRAM_WORDS
    codes: set[int | str] = set(words[size // 4].unpack_from(data))
    codes.update(
        words[(size - 1) // 4].unpack_from(data, 1),
        words[(size - 2) // 4].unpack_from(data, 2),
        words[(size - 3) // 4].unpack_from(data, 3),
    )
    return codes


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _gram_codes(opening: str) -> set[int | str]:
    """The distinct 4-grams of ``opening`` as their :func:`gram_code`: those of each ASCII
    stretch as numbers, those around a non-ASCII character as strings."""
    if opening.isascii():
        return _ascii_codes(opening)
    codes: set[int | str] = set()
    start = 0
    for match in _NON_ASCII.finditer(opening):
        at = match.start()
        codes |= _ascii_codes(opening[start:at])
        codes.update(
            opening[i : i + 4] for i in range(max(0, at - 3), min(at, len(opening) - 4) + 1)
        )
        start = at + 1
    codes |= _ascii_codes(opening[start:])
    return codes


_SENTENCE_MARKS = frozenset(".!?;:\n—–-")
_DIGIT = re.compile(r"\d")
_CUE_WORDS = frozenset(_CUES_OF)
_LEN_EDGES = (5, 9, 14, 22, 35, 60)
_STEPS_EDGES = (0, 1, 3, 6)
_LEN_NAMES = _buckets("len", _LEN_EDGES, _LEN_EDGES[-1] + 1)
_STEPS_NAMES = _buckets("steps", _STEPS_EDGES, _STEPS_EDGES[-1] + 1)


def extract(text: str, context: Mapping[str, object] | None = None) -> list[str]:
    """The features of one request, deduplicated, in a stable order."""
    named, (*words, grams) = extract_parts(text, context)
    bags = [*words, set(map(gram_name, grams))]
    bagged = zip(BAGS, bags, strict=True)
    return [*named, *(f"{kind}:{value}" for kind, bag in bagged for value in sorted(bag))]


def extract_parts(text: str, context: Mapping[str, object] | None = None) -> Parts:
    """The features of one request as the model reads them (:data:`Parts`)."""
    lowered = text[:MAX_CHARS].lower().strip()
    named: list[str] = ["bias"]
    for feature, gate, pattern in REGEX_CUES:
        if gate in lowered and feature not in named and pattern.search(lowered):
            named.append(feature)
    words = WORD.findall(lowered)
    bigrams = list(map(" ".join, itertools.pairwise(words)))
    tokens = set(words).union(bigrams)
    named.extend(sorted({cue for token in tokens & _CUE_WORDS for cue in _CUES_OF[token]}))
    content = set(words[:BAG_WORDS]).difference(STOP)
    stems = _stems(content)
    opening = lowered[:CHAR_SPAN]
    grams = _gram_codes(opening)
    ask_words: set[str] = set()
    ask = ask_sentence(lowered) if not _SENTENCE_MARKS.isdisjoint(lowered) else None
    if ask is not None:
        ask_lead = lead_words(ask)
        if ask_lead:
            named.append(f"alead:{ask_lead[0]}")
            if len(ask_lead) > 1:
                named.append(f"alead2:{ask_lead[0]} {ask_lead[1]}")
        ask_words.update(WORD.findall(ask)[:BAG_WORDS])
        if ask.endswith("?"):
            named.append("ask-question")
    lead = lead_words(lowered)
    if lead:
        first = lead[0]
        named.append(f"lead:{first}")
        if len(lead) > 1:
            named.append(f"lead2:{first} {lead[1]}")
        start = lowered.find(first) + len(first)
        following = WORD.findall(lowered, start, start + 60)
        pairs = set(itertools.pairwise(following))
        for cls, (single, double) in _OBJECT_PHRASES.items():
            if not (single.isdisjoint(following) and double.isdisjoint(pairs)):
                named.append(f"leadobj:{first}/{cls}")
    named.append(_LEN_NAMES[min(len(words), len(_LEN_NAMES) - 1)])
    steps = (
        lowered.count(",")
        + lowered.count(";")
        + lowered.count("\n")
        + sum(map(STEP_WORDS.__contains__, words))
    )
    named.append(_STEPS_NAMES[min(steps, len(_STEPS_NAMES) - 1)])
    if not tokens.isdisjoint(SCALE_WORDS) or (
        _DIGIT.search(lowered) and SCALE_NUMBER.search(lowered)
    ):
        named.append("scale")
    if context:
        named.extend(dict.fromkeys(f"ctx:{key.lower()}" for key in list(context)[:8]))
        size = sum(len(str(v)) for v in context.values())
        named.append(f"ctxsize:{_bucket(size, (100, 1000, 4000))}")
    return named, (content, stems, set(bigrams[:BAG_WORDS]), ask_words, grams)
