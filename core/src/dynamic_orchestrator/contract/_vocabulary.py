"""Open vocabularies: the intents plugins register.

The host knows the design's five intents (:data:`~dynamic_orchestrator.contract.INTENTS`)
and every intent a plugin registers through ``register_intents``; a ``classify`` answer
naming any other is refused with an error that says so. A registered :class:`IntentInfo`
also carries what the host cannot know by itself: how long an answer of that intent
usually is, the estimate a model is chosen on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"[a-z][a-z0-9_-]*")


@dataclass(frozen=True)
class IntentInfo:
    """One intent of the vocabulary, as ``register_intents`` registers it."""

    name: str
    """Lower case letters, digits, ``_`` and ``-``, starting with a letter (``translate``)."""
    description: str = ""
    """What requests of this intent ask for, in a few words (shown by ``plugins``)."""
    output_tokens: Mapping[str, int] = field(default_factory=dict)
    """Expected answer length in tokens by complexity level (``simple``, ``moderate``,
    ``complex``): the estimate a model's cost is computed on before it runs. A level not
    given gets the host's default."""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"intent name {self.name!r}: use lower case letters, digits, '_' and '-', "
                "starting with a letter"
            )
        for level, tokens in self.output_tokens.items():
            if not isinstance(tokens, int) or tokens <= 0:
                raise ValueError(
                    f"intent {self.name!r}: output_tokens[{level!r}] must be a positive "
                    f"integer, got {tokens!r}"
                )
