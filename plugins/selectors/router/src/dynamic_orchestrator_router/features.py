"""Prompt text → terms, the same function at training and at decision time.

A prompt is cut into blocks at blank lines. Blocks that recur across many training prompts
(few-shot examples, fixed instructions: the *template*) become one marker term each, so a
prompt's template tells the router which kind of task it is, and the words of the rest (the
question itself) are not drowned by the template's. The remaining text gives lower-case word
unigrams and bigrams, plus a marker for its length (log2 of its word count).

The terms feed a TF-IDF vectorizer at training (scikit-learn, ``analyzer=terms``); at
decision time :class:`dynamic_orchestrator_router.model.Router` applies the stored
vocabulary and weights itself, which keeps one decision in microseconds.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable

WORD = re.compile(r"(?u)\b\w\w+\b")
BLOCKS = re.compile(r"\n\s*\n")
MARK = "\x01"
"""Prefix of marker terms (template block, length): never produced by the word pattern."""


def block_key(block: str) -> str:
    """A short stable key for one block of text."""
    return hashlib.blake2b(block.encode("utf-8"), digest_size=8).hexdigest()


def split_blocks(text: str) -> list[str]:
    return [b for b in (part.strip() for part in BLOCKS.split(text)) if b]


def find_templates(prompts: Iterable[str], min_share: float = 0.01, min_count: int = 3) -> set[str]:
    """Keys of blocks found in at least ``max(min_count, min_share × n)`` prompts."""
    counts: Counter[str] = Counter()
    n = 0
    for prompt in prompts:
        n += 1
        counts.update({block_key(b) for b in split_blocks(prompt)})
    threshold = max(min_count, math.ceil(min_share * n))
    return {key for key, count in counts.items() if count >= threshold}


class Terms:
    """The analyzer: a prompt's template markers, word n-grams and length marker."""

    def __init__(self, templates: Iterable[str] = (), ngram_max: int = 2):
        self.templates = frozenset(templates)
        self.ngram_max = ngram_max

    def __call__(self, text: str) -> list[str]:
        terms: list[str] = []
        words: list[str] = []
        if self.templates:
            for block in split_blocks(text):
                key = block_key(block)
                if key in self.templates:
                    terms.append(f"{MARK}t:{key}")
                else:
                    words.extend(WORD.findall(block.lower()))
        else:
            words = WORD.findall(text.lower())
        terms.extend(words)
        for size in range(2, self.ngram_max + 1):
            terms.extend(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
        terms.append(f"{MARK}len:{int(math.log2(1 + len(words)))}")
        return terms
