"""What each distribution pulls in when installed: the host stays small, plugins stay runtime.

Read from the installed distributions' metadata (``Requires-Dist``, built from each
``pyproject.toml``), following every requirement whose markers hold without extras, the
way an installer resolves them. ``tests/test_distributions.py`` checks the same with real
``pip install`` runs into fresh environments.
"""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

WEB_AND_MCP = {"mcp", "mcp-types", "starlette", "uvicorn", "sse-starlette"}
TEST_KIT = {"dynamic-orchestrator-testing", "pytest"}


def closure(name: str) -> set[str]:
    """``name`` and every distribution it requires, transitively, without extras."""
    seen: set[str] = set()
    todo = [canonicalize_name(name)]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for line in metadata.requires(current) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def runtime_plugins() -> list[str]:
    """The distribution of every installed ``dynamic_orchestrator`` entry point."""
    found = {
        ep.dist.name
        for ep in metadata.entry_points(group="dynamic_orchestrator")
        if ep.dist is not None
    }
    return sorted(found)


def test_the_closure_follows_requirements_and_skips_extras() -> None:
    pulled = closure("dynamic-orchestrator-breaker")
    assert {"dynamic-orchestrator-core", "pluggy", "cachetools"} <= pulled
    assert "redis" not in pulled  # only with the [redis] extra


def test_the_host_needs_neither_the_mcp_sdk_nor_a_web_stack_nor_the_test_kit() -> None:
    pulled = closure("dynamic-orchestrator-core")
    assert pulled & (WEB_AND_MCP | TEST_KIT | {"dynamic-orchestrator-mcp-server"}) == set()


def test_the_mcp_server_brings_the_mcp_sdk_and_the_web_stack() -> None:
    pulled = closure("dynamic-orchestrator-mcp-server")
    assert {"dynamic-orchestrator-core", "mcp", "starlette", "uvicorn"} <= pulled
    assert pulled & TEST_KIT == set()


@pytest.mark.parametrize("distribution", runtime_plugins())
def test_no_plugin_pulls_the_testing_kit(distribution: str) -> None:
    assert closure(distribution) & TEST_KIT == set()


def test_the_batteries_included_install_has_the_server_but_not_the_testing_kit() -> None:
    pulled = closure("dynamic-orchestrator")
    assert "dynamic-orchestrator-mcp-server" in pulled
    assert pulled & TEST_KIT == set()


def test_the_testing_kit_brings_the_pytest_plugin() -> None:
    (entry,) = metadata.entry_points(group="pytest11", name="dynamic_orchestrator")
    assert entry.value == "dynamic_orchestrator_testing.pytest_plugin"
    assert entry.dist is not None
    assert entry.dist.name == "dynamic-orchestrator-testing"
