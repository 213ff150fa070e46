"""Tool definitions pinned by hash: a server that changes a tool it already listed is
noticed, logged, and (with ``on_tool_change: block``) not trusted with the change.

The first listing of a tool pins the SHA-256 of its definition (name, description, input
schema) as the server sent it (trust on first use). Pins last as long as the process, or
across restarts with ``pin_file``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynamic_orchestrator.log import get_logger

__all__ = ["PinCheck", "ToolPins", "definition_hash"]

log = get_logger("mcp_services.pins")


def definition_hash(name: str, description: str | None, input_schema: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a tool definition, independent of key order."""
    canonical = json.dumps(
        {"name": name, "description": description or "", "inputSchema": input_schema},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class PinCheck:
    """What one listing did to the pins of a service."""

    added: list[str] = field(default_factory=list)
    changed: dict[str, str] = field(default_factory=dict)
    """Changed tools with the hash they were pinned to."""
    removed: list[str] = field(default_factory=list)


class ToolPins:
    """Pinned hashes by service and tool; optionally kept in a JSON file."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path else None
        self._pins: dict[str, dict[str, str]] = {}
        if self.path is not None and self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._pins = {
                    str(s): {str(t): str(h) for t, h in tools.items()}
                    for s, tools in data.get("pins", {}).items()
                    if isinstance(tools, dict)
                }
            except (OSError, ValueError, AttributeError) as exc:
                log.warning("pin_file_unreadable", path=str(self.path), error=str(exc))

    def pinned(self, service: str, tool: str) -> str | None:
        return self._pins.get(service, {}).get(tool)

    def check(self, service: str, listing: Mapping[str, str], *, accept_changes: bool) -> PinCheck:
        """Compare a listing (tool name → hash) with the pins and update them.

        New tools are pinned. A changed tool is re-pinned only when ``accept_changes``;
        otherwise its old pin stays, so it keeps being reported as changed.
        """
        pins = self._pins.setdefault(service, {})
        result = PinCheck()
        for tool, digest in listing.items():
            old = pins.get(tool)
            if old is None:
                result.added.append(tool)
                pins[tool] = digest
            elif old != digest:
                result.changed[tool] = old
                if accept_changes:
                    pins[tool] = digest
        result.removed = [t for t in pins if t not in listing]
        if result.added or (result.changed and accept_changes):
            self._save()
        return result

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".pins-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"pins": self._pins}, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("pin_file_unwritable", path=str(self.path), error=str(exc))
