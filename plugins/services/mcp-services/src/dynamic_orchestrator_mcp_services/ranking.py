"""Ranking tools by relevance to a request: BM25 over each tool's name, description and
parameters, with the terms that matched kept as the explanation.

A small component of our own: the BM25 libraries (``rank-bm25``, ``bm25s``) need numpy or
scipy and report a bare score, while routing needs the per-term contributions for its
reasons and indexes only a few hundred short documents, where plain Python is fast enough
(see ``benchmarks/tool_routing.py`` for the measured time per request). Stemming is the
Snowball English stemmer (``snowballstemmer``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer

__all__ = ["RankedTool", "ToolDocument", "ToolIndex", "terms"]

_STEMMER = snowballstemmer.stemmer("english")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")

_STOPWORDS_TEXT = """a about above after again against all am an and any are as at be been
    before being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of off on once only or other
    our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours yourself
    yourselves please let lets want need give tell get use using can t s"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# Words people use for the same thing in requests about files, code, repositories and
# tools, where a tool's description may say it differently. A query term also matches the
# other words of its groups, at SYNONYM_WEIGHT of its own weight.
SYNONYM_GROUPS: tuple[str, ...] = (
    "folder directory dir",
    "rename move mv",
    "find search locate grep glob lookup",
    "delete remove rm erase",
    "copy duplicate cp",
    "edit modify change alter patch replace update",
    "diff difference compare change delta",
    "read open view cat contents inside load",
    "write save store",
    "create make new mkdir",
    "list ls enumerate",
    "size large big biggest small bytes",
    "info metadata details stats attributes permissions timestamps",
    "tree hierarchy structure recursive nested",
    "image picture photo screenshot png jpg jpeg gif svg logo",
    "audio sound wav mp3",
    "log history",
    "time clock hour",
    "timezone zone tz",
    "convert translate",
    "sum add plus total",
    "echo repeat",
    "env environment variables vars",
    "compress gzip zip",
    "toggle enable disable turn switch",
    "stage staging index",
    "unstage reset",
    "checkout switch",
    "status clean dirty state",
    "allowed permitted accessible access",
    "research investigate study",
)
SYNONYM_WEIGHT = 0.5


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def terms(text: str) -> list[str]:
    """Stemmed, lower-cased terms of ``text``; camelCase, snake_case and kebab-case split."""
    words = _WORD.findall(_CAMEL.sub(" ", text).lower())
    return [_stem(w) for w in words if w not in STOPWORDS and not w.isdigit() and len(w) > 1]


SYNONYMS: dict[str, tuple[str, ...]] = {}
"""Stemmed term → the stemmed terms of every group it is in."""


def _build_synonyms() -> None:
    for group in SYNONYM_GROUPS:
        stems = [_stem(w) for w in group.split()]
        for stem in stems:
            related = [s for s in stems if s != stem]
            SYNONYMS[stem] = tuple(dict.fromkeys((*SYNONYMS.get(stem, ()), *related)))


_PATH = re.compile(r"(?:[\w.-]*/[\w./-]+|\b[\w-]+\.[A-Za-z][A-Za-z0-9]{0,4})\b")
_HEX = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{6,40}\b")
_NEGATED = re.compile(r"\bun([a-z]{4,})\b")


def expand(query_terms: Iterable[str]) -> dict[str, float]:
    """The query terms (weight 1) plus their synonyms (weight ``SYNONYM_WEIGHT``)."""
    out: dict[str, float] = {}
    for term in query_terms:
        out[term] = 1.0
    for term in list(out):
        for related in SYNONYMS.get(term, ()):
            out.setdefault(related, SYNONYM_WEIGHT)
    return out


def query_terms(text: str) -> dict[str, float]:
    """The weighted terms of a request: its own terms and synonyms, plus what its shapes say.

    A path or file name (``src/app.py``, ``notes.txt``) adds *file* and *path*; a hex string
    like a commit id adds *commit* and *revision*; an ``un``-word (``uncommitted``) adds its
    stem (``commit``); each at ``SYNONYM_WEIGHT``.
    """
    hints: list[str] = []
    if _PATH.search(text):
        hints += ["file", "path"]
    if _HEX.search(text.lower()):
        hints += ["commit", "revision"]
    hints += _NEGATED.findall(text.lower())
    weighted = expand(terms(text))
    for hint in terms(" ".join(hints)):
        weighted.setdefault(hint, SYNONYM_WEIGHT)
    return weighted


_build_synonyms()


@dataclass(frozen=True)
class ToolDocument:
    """What is indexed for one tool."""

    key: str
    name: str
    description: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    service: str = ""

    def bag(self, name_weight: int = 2) -> Counter[str]:
        bag: Counter[str] = Counter()
        for _ in range(name_weight):
            bag.update(terms(self.name))
        bag.update(terms(self.description))
        for param, text in self.parameters.items():
            bag.update(terms(param))
            bag.update(terms(text))
        bag.update(terms(self.service))
        return bag


def schema_parameters(schema: Mapping[str, Any]) -> dict[str, str]:
    """Parameter names and their descriptions from a JSON schema's top-level properties."""
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return {}
    out: dict[str, str] = {}
    for name, spec in props.items():
        text = spec.get("description", "") if isinstance(spec, Mapping) else ""
        out[str(name)] = text if isinstance(text, str) else ""
    return out


@dataclass(frozen=True)
class RankedTool:
    key: str
    score: float
    matched: tuple[tuple[str, float], ...]
    """The query terms that matched, with their contribution, largest first."""


class ToolIndex:
    """A BM25 index over tool documents."""

    def __init__(
        self,
        documents: Sequence[ToolDocument],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        min_corpus: int = 40,
    ) -> None:
        self.documents = list(documents)
        self.k1 = k1
        self.b = b
        self._bags = [d.bag() for d in self.documents]
        self._lengths = [sum(bag.values()) for bag in self._bags]
        n = len(self.documents)
        self._avg = (sum(self._lengths) / n) if n else 0.0
        df: Counter[str] = Counter()
        for bag in self._bags:
            df.update(bag.keys())
        # With a handful of tools every word looks common and every score tiny; document
        # frequencies are taken against at least ``min_corpus`` documents, so scores (and
        # ``min_score``) mean the same with 2 tools as with 40.
        size = max(n, min_corpus)
        self._idf = {t: math.log((size - f + 0.5) / (f + 0.5) + 1.0) for t, f in df.items()}

    def rank(self, query: str) -> list[RankedTool]:
        """Every document with a positive score, best first."""
        q = query_terms(query)
        ranked: list[RankedTool] = []
        for doc, bag, length in zip(self.documents, self._bags, self._lengths, strict=True):
            parts: list[tuple[str, float]] = []
            norm = self.k1 * (1 - self.b + self.b * length / self._avg) if self._avg else self.k1
            for term, weight in q.items():
                tf = bag.get(term, 0)
                if tf:
                    score = weight * self._idf[term] * tf * (self.k1 + 1) / (tf + norm)
                    parts.append((term, score))
            if parts:
                parts.sort(key=lambda p: -p[1])
                ranked.append(RankedTool(doc.key, sum(p[1] for p in parts), tuple(parts)))
        ranked.sort(key=lambda r: (-r.score, r.key))
        return ranked
