"""Every workspace package is type-checked and ships its ``py.typed`` marker."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(
    [
        ROOT / "core/src/dynamic_orchestrator",
        ROOT / "testing/src/dynamic_orchestrator_testing",
        *ROOT.glob("plugins/*/*/src/dynamic_orchestrator_*"),
    ]
)


def test_every_package_is_in_the_mypy_gate() -> None:
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    assert sorted(mypy["packages"]) == sorted(p.name for p in PACKAGES)
    assert sorted(mypy["mypy_path"]) == sorted(str(p.parent.relative_to(ROOT)) for p in PACKAGES)


def test_every_package_ships_py_typed() -> None:
    missing = [str(p.relative_to(ROOT)) for p in PACKAGES if not (p / "py.typed").is_file()]
    assert missing == []
