"""The layering holds: contract ← host ← plugins, one way, with no import circle.

Imports are read from the source (every ``import``, including those under
``TYPE_CHECKING`` and inside functions, which is where circles hide), not from what
Python happens to load.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core" / "src" / "dynamic_orchestrator"
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("*/*/src/dynamic_orchestrator_*") if p.is_dir())
TESTING_KIT = ROOT / "testing" / "src" / "dynamic_orchestrator_testing"
"""Held to the plugins' rule: a plugin's tests install it, so it must not bring any plugin."""
FACADE = "dynamic_orchestrator"
"""The package's ``__init__``: a lazy facade over the public names, not a layer of its own."""


def module_name(path: Path, package_dir: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, name: str) -> set[str]:
    """Every module name ``path`` imports, resolved (``from . import x`` gives ``pkg.x``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports."""
    modules = {module_name(p, package_dir): p for p in package_dir.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {n for n in imported_names(path, name) if n in modules and n != name}
        # "from pkg import sub" names pkg too; count the submodule only.
        graph[name] = {
            t for t in targets if not any(o.startswith(t + ".") and o in targets for o in targets)
        }
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle_and_only_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_imported_names_sees_type_checking_and_function_level_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .b import X\n"
        "def f():\n    from . import c\n"
    )
    (package / "b.py").write_text("from .a import f\n")
    (package / "c.py").write_text("")
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b", "pkg.c"}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_core_has_no_import_circle() -> None:
    graph = {k: v - {FACADE} for k, v in import_graph(CORE).items() if k != FACADE}
    assert cycles(graph) == []


def test_the_contract_imports_nothing_of_the_host() -> None:
    contract = "dynamic_orchestrator.contract"
    offenders = {
        name: sorted(
            n
            for n in imported_names(path, name)
            if n.startswith("dynamic_orchestrator") and not n.startswith(contract)
        )
        for path in (CORE / "contract").rglob("*.py")
        if (name := module_name(path, CORE))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_hookspecs_import_only_the_contract() -> None:
    name = "dynamic_orchestrator.hookspecs"
    host = {
        n
        for n in imported_names(CORE / "hookspecs.py", name)
        if n.startswith("dynamic_orchestrator")
        and not n.startswith("dynamic_orchestrator.contract")
    }
    assert host <= {FACADE}  # "from . import x" names the package itself
    assert not any(n.startswith(FACADE + ".") for n in host)


@pytest.mark.parametrize("package", [*PLUGINS, TESTING_KIT], ids=lambda p: p.name)
def test_a_plugin_imports_no_other_plugin_and_not_the_cli(package: Path) -> None:
    offenders: dict[str, list[str]] = {}
    for path in package.rglob("*.py"):
        name = module_name(path, package)
        bad = sorted(
            n
            for n in imported_names(path, name)
            if (n.startswith("dynamic_orchestrator_") and n.split(".")[0] != package.name)
            or n == "dynamic_orchestrator.cli"
            or n.startswith("dynamic_orchestrator.cli.")
        )
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_every_plugin_package_is_checked() -> None:
    assert len(PLUGINS) >= 10
