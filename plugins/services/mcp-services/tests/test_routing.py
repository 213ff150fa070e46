"""Routing: services by capability, tools by BM25 relevance, with explainable reasons."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import IntentResult, Request, ToolSpec
from dynamic_orchestrator.tokens import estimate_tool_tokens
from dynamic_orchestrator_mcp_services import McpService, ServiceError, route
from dynamic_orchestrator_mcp_services.pins import ToolPins
from dynamic_orchestrator_mcp_services.ranking import ToolDocument, ToolIndex, terms
from dynamic_orchestrator_mcp_services.settings import ServiceConfig, Settings


class ListedService:
    """A service whose tools are already listed (the Service protocol, in memory)."""

    def __init__(self, name: str, tools: dict[str, str], capabilities: list[str]) -> None:
        self.name = name
        self.capabilities = capabilities
        self._tools = [
            ToolSpec(
                name=tool,
                description=text,
                input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
                service=name,
            )
            for tool, text in tools.items()
        ]

    def known_tools(self) -> list[ToolSpec]:
        return self._tools

    async def call_tool(self, name: str, arguments: dict[str, Any], *, timeout: float) -> str:
        return f"{self.name}:{name}"


FILES = ListedService(
    "files",
    {
        "read_text_file": "Read the complete contents of a file as text.",
        "write_file": "Create a new file or overwrite an existing file with new content.",
        "move_file": "Move or rename files and directories.",
        "list_directory": "List the files and directories in a path.",
        "search_files": "Search for files matching a glob pattern.",
    },
    ["read", "write", "search"],
)
GIT = ListedService(
    "git",
    {
        "git_log": "Shows the commit logs.",
        "git_status": "Shows the working tree status.",
        "git_commit": "Records changes to the repository.",
    },
    ["analyze"],
)
CLOCK = ListedService(
    "clock", {"get_current_time": "Get the current time in a specific timezone."}, []
)


def _route(text: str, intent: str = "read", services: Any = None, **settings: Any) -> Any:
    return route(
        Request(text=text),
        IntentResult(intent=intent, confidence=0.9),  # type: ignore[arg-type]
        services if services is not None else [FILES, GIT, CLOCK],
        Settings(**settings),
    )


def test_terms_split_names_and_stem() -> None:
    assert terms("listDirectoryWithSizes") == ["list", "directori", "size"]
    assert terms("git_diff-unstaged files") == ["git", "diff", "unstag", "file"]
    assert terms("What is in the 2 folders?") == ["folder"]


def test_bm25_explains_each_score_by_its_terms() -> None:
    index = ToolIndex(
        [
            ToolDocument("a", "read_text_file", "Read a file as text."),
            ToolDocument("b", "git_log", "Shows the commit logs."),
        ]
    )
    ranked = index.rank("read the text of that file")
    assert [r.key for r in ranked] == ["a"]
    assert {term for term, _ in ranked[0].matched} == {"read", "text", "file"}
    assert ranked[0].score == pytest.approx(sum(s for _, s in ranked[0].matched))


def test_the_needed_tool_is_sent_and_few_others() -> None:
    result = _route("Rename draft.md to final.md")
    assert result.tools[0].name == "move_file"
    assert result.services == ["files"]
    assert len(result.tools) <= 5
    all_tools = FILES.known_tools() + GIT.known_tools() + CLOCK.known_tools()
    assert result.tool_tokens_available == sum(estimate_tool_tokens(t) for t in all_tools)
    assert result.tool_tokens_sent == sum(estimate_tool_tokens(t) for t in result.tools)
    reason = next(r for r in result.reasons if r.startswith("tools:"))
    assert "move_file (files)" in reason and "move" in reason  # the matched term, scored


def test_a_request_that_needs_no_tool_gets_none() -> None:
    result = _route("Compose a haiku about autumn leaves")
    assert result.tools == [] and result.services == []
    assert result.tool_tokens_sent == 0 and result.tool_tokens_available > 0
    assert any(r.startswith("tools: none of 9 sent") for r in result.reasons)


def _score(result: Any, tool: str, service: str) -> float:
    """A tool's score as the reasons state it."""
    reason = next(r for r in result.reasons if r.startswith("tools:"))
    return float(reason.split(f"{tool} ({service}) ")[1].split()[0])


def test_capability_mismatch_scores_down_or_excludes() -> None:
    # git lists only 'analyze': for a 'read' request its tools are scored down...
    soft = _route("show the commit logs", intent="read")
    match = _route("show the commit logs", intent="analyze")
    assert _score(soft, "git_log", "git") == pytest.approx(
        _score(match, "git_log", "git") * 0.5, abs=0.01
    )
    assert soft.tools[0].name == "git_log"
    # ...or left out when the weight is 0, while services with no capabilities stay eligible.
    hard = _route("show the commit logs", intent="read", capability_mismatch_weight=0)
    assert "git" not in hard.services
    assert any("git: no capability 'read' (score x0), left out" in r for r in hard.reasons)
    assert _route("what time is it", intent="write").services == ["clock"]


def test_top_k_and_score_cuts_bound_what_is_sent() -> None:
    assert len(_route("files", top_k=2).tools) <= 2
    assert _route("files", top_k=0).tools == []
    assert _route("read the file", min_score=100).tools == []
    wide = _route("read file directories", relative_score=0)
    narrow = _route("read file directories", relative_score=0.9)
    assert len(narrow.tools) < len(wide.tools)


def test_same_named_tools_are_sent_under_qualified_names() -> None:
    a = ListedService("alpha", {"search": "Search the alpha index for documents."}, [])
    b = ListedService("beta", {"search": "Search the beta index for documents."}, [])
    result = _route("search the index for documents", services=[a, b, FILES, GIT])
    names = {t.name: t.service for t in result.tools}
    assert names["alpha__search"] == "alpha" and names["beta__search"] == "beta"
    assert "search" not in names
    assert names.get("search_files") in (None, "files")  # unique names stay as they are


def test_an_mcp_service_resolves_qualified_names_and_refuses_unknown_ones() -> None:
    service = McpService(
        "alpha",
        ServiceConfig(command=["true"]),
        settings=Settings(),
        pins=ToolPins(),
        config=Config(),
    )
    service._publish(
        [types.Tool(name="search", description="Search.\x07", input_schema={"type": "object"})]
    )
    assert service.known_tools()[0].description == "Search. "  # control characters removed
    assert service._resolve("alpha__search") == "search"
    assert service._resolve("search") == "search"
    with pytest.raises(ServiceError, match="has no tool 'delete_all'"):
        service._resolve("delete_all")


def test_long_descriptions_are_cut() -> None:
    service = McpService(
        "alpha",
        ServiceConfig(command=["true"]),
        settings=Settings(max_description_chars=10),
        pins=ToolPins(),
        config=Config(),
    )
    service._publish([types.Tool(name="t", description="x" * 50, input_schema={"type": "object"})])
    assert service.known_tools()[0].description == "x" * 10


async def test_analyze_reports_services_and_tools_through_the_hook(
    make_orchestrator: Any, register_plugin: Any
) -> None:
    class Services:
        from dynamic_orchestrator import hookimpl

        @hookimpl
        def register_services(self, register: Any) -> None:
            for service in (FILES, GIT, CLOCK):
                register(service)

    orch = await make_orchestrator(plugins=(Services(),))
    result = await orch.analyze("What time is it in Lisbon?")
    assert result.services == ["clock"] and result.tools == ["get_current_time"]


def test_a_small_server_is_scored_like_a_large_one() -> None:
    clock = ListedService(
        "clock",
        {
            "get_current_time": "Get current time in a specific timezone.",
            "convert_time": "Convert time between timezones.",
        },
        [],
    )
    result = _route("What time is it in Tokyo right now?", services=[clock])
    assert {t.name for t in result.tools} == {"get_current_time", "convert_time"}
    assert _route("Compose a haiku about autumn", services=[clock]).tools == []
