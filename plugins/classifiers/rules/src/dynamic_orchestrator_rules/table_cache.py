"""The classifier's lookup tables, kept between runs in the user's cache folder.

Stored with :mod:`marshal` (plain dicts of strings, integers and floats: nothing is
executed when it is read), under a name derived from the weight files (path, size,
modification time) and the Python version, so changed weights or another interpreter never
read a stale table. Every failure (no cache folder, a read-only home, a damaged file) falls
back to building the tables again.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENV = "DYNAMIC_ORCHESTRATOR_CACHE_DIR"
"""Overrides the cache folder (default: the platform's user cache folder)."""


def cache_dir() -> Path:
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("dynamic-orchestrator"))


def _path(files: Sequence[Path]) -> Path | None:
    key = hashlib.sha256(sys.version.encode())
    try:
        for file in files:
            stat = file.stat()
            key.update(f"{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    except OSError:
        return None
    return cache_dir() / f"rules-tables-{key.hexdigest()[:24]}.marshal"


def cached_tables(files: Sequence[Path]) -> Any:
    """The tables stored for these weight files, or None."""
    path = _path(files)
    if path is None:
        return None
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def store_tables(files: Sequence[Path], tables: Any) -> None:
    """Keep the tables for these weight files (atomically; failures are ignored)."""
    path = _path(files)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".rules-tables-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(marshal.dumps(tables))
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except (OSError, ValueError):
        pass
