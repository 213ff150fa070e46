"""Helpers shared by the server tests: a sampling callback and a clean child environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import mcp_types as t

COMMAND = Path(sys.executable).with_name("dynamic-orchestrator")


class Sampler:
    """A client-side sampling callback that answers, or refuses, and remembers each request."""

    def __init__(self, answer: str = "sampled answer", *, refuse: bool = False) -> None:
        self.answer = answer
        self.refuse = refuse
        self.requests: list[t.CreateMessageRequestParams] = []

    async def __call__(
        self, context: Any, params: t.CreateMessageRequestParams
    ) -> t.CreateMessageResult | t.ErrorData:
        self.requests.append(params)
        if self.refuse:
            return t.ErrorData(code=-1, message="User rejected sampling request")
        return t.CreateMessageResult(
            role="assistant",
            content=t.TextContent(type="text", text=self.answer),
            model="client-llm",
            stop_reason="endTurn",
        )


def child_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment with no provider keys and no config file but the one given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith("DYNAMIC_ORCHESTRATOR_")
    }
    env.update(XDG_CONFIG_HOME=str(tmp / "xdg"), LOG_LEVEL="WARNING", **extra)
    return env


def text_of(result: t.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, t.TextContent))
