"""JSON text that every parser accepts: non-finite numbers (an overflowed price, say) become
``null`` instead of the ``Infinity``/``NaN`` that :func:`json.dumps` writes by default."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(data: Any) -> Any:
    """``data`` with every infinite or NaN float, however deep, replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [finite(value) for value in data]
    return data


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """Strict JSON of ``data`` (non-finite numbers as ``null``; non-ASCII kept)."""
    return json.dumps(finite(data), indent=indent, ensure_ascii=False, allow_nan=False)
