"""Names a tool is sent under (kept apart from the client stack so routing stays light)."""

from __future__ import annotations

import re

__all__ = ["qualified_name"]

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def qualified_name(service: str, tool: str) -> str:
    """The name a tool is sent under when two routed services offer the same name."""
    return _UNSAFE_NAME.sub("_", f"{service}__{tool}")[:64]
