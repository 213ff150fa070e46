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

# Words a person uses for the same thing a tool description says differently. Each entry
# adds the right-hand terms to a query that has the left-hand one (after stemming).
_SYNONYM_WORDS: dict[str, str] = {
    "folder": "directory",
    "folders": "directory",
    "rename": "move",
    "find": "search",
    "save": "write",
    "locate": "search",
    "screenshot": "image media",
    "picture": "image media",
    "photo": "image media",
    "png": "image media",
    "jpg": "image media",
    "wav": "audio media",
    "mp3": "audio media",
    "inside": "read contents",
    "open": "read",
    "view": "read",
    "change": "edit",
    "replace": "edit",
    "make": "create",
    "new": "create",
    "history": "log",
    "unstage": "reset staged",
    "switch": "checkout",
    "plus": "sum",
    "add": "sum",
    "clock": "time current",
    "biggest": "size",
    "compress": "gzip",
    "zip": "gzip",
    "hierarchy": "tree recursive",
    "structure": "tree",
    "environment": "env",
}


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def terms(text: str) -> list[str]:
    """Stemmed, lower-cased terms of ``text``; camelCase, snake_case and kebab-case split."""
    words = _WORD.findall(_CAMEL.sub(" ", text).lower())
    return [_stem(w) for w in words if w not in STOPWORDS and not w.isdigit() and len(w) > 1]


SYNONYMS: dict[str, tuple[str, ...]] = {}


def _build_synonyms() -> None:
    for word, related in _SYNONYM_WORDS.items():
        key = _stem(word)
        SYNONYMS[key] = tuple(dict.fromkeys((*SYNONYMS.get(key, ()), *terms(related))))


def expand(query_terms: Iterable[str]) -> list[str]:
    """The query terms plus their synonyms (each term once)."""
    out: list[str] = []
    for term in query_terms:
        for t in (term, *SYNONYMS.get(term, ())):
            if t not in out:
                out.append(t)
    return out


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
        self, documents: Sequence[ToolDocument], *, k1: float = 1.2, b: float = 0.75
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
        self._idf = {t: math.log((n - f + 0.5) / (f + 0.5) + 1.0) for t, f in df.items()}

    def rank(self, query: str) -> list[RankedTool]:
        """Every document with a positive score, best first."""
        q = expand(terms(query))
        ranked: list[RankedTool] = []
        for doc, bag, length in zip(self.documents, self._bags, self._lengths, strict=True):
            parts: list[tuple[str, float]] = []
            norm = self.k1 * (1 - self.b + self.b * length / self._avg) if self._avg else self.k1
            for term in q:
                tf = bag.get(term, 0)
                if tf:
                    parts.append((term, self._idf[term] * tf * (self.k1 + 1) / (tf + norm)))
            if parts:
                parts.sort(key=lambda p: -p[1])
                ranked.append(RankedTool(doc.key, sum(p[1] for p in parts), tuple(parts)))
        ranked.sort(key=lambda r: (-r.score, r.key))
        return ranked
