"""The compact prompt generator: per-intent instructions, only the context that matters."""

from __future__ import annotations

from typing import Any

from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.models import (
    ComplexityResult,
    IntentResult,
    Request,
    RequestAnalysis,
    ServiceRoute,
    ToolSpec,
)
from dynamic_orchestrator.tokens import estimate_tokens
from dynamic_orchestrator_compact import (
    GENERAL,
    INSTRUCTIONS,
    generate_prompt,
    system_prompt_tokens,
)

MODEL = ModelInfo(name="m", provider="p")


def analysis(
    intent: str = "write", level: str = "simple", tools: list[ToolSpec] | None = None
) -> RequestAnalysis:
    return RequestAnalysis(
        intent=IntentResult(intent=intent, confidence=1.0),  # type: ignore[arg-type]
        complexity=ComplexityResult(level=level, score=0.1),  # type: ignore[arg-type]
        route=ServiceRoute(tools=tools or []),
        estimated_input_tokens=10,
        estimated_output_tokens=10,
        baseline_input_tokens=10,
    )


def request(text: str, **context: Any) -> Request:
    return Request(text=text, context=context)


def test_instructions_follow_intent_and_depth() -> None:
    for intent, instruction in INSTRUCTIONS.items():
        prompt = generate_prompt(request("x"), analysis(intent, "complex"), MODEL, Config())
        assert prompt.system.startswith(instruction)
        assert "trade-offs" in prompt.system
    simple = generate_prompt(request("x"), analysis("read", "simple"), MODEL, Config())
    assert simple.system.endswith("Keep it to a few lines.")
    assert len(simple.system) < 200  # compact: a couple of sentences


def test_an_intent_another_plugin_registered_gets_the_general_instruction() -> None:
    prompt = generate_prompt(request("x"), analysis("translate", "simple"), MODEL, Config())
    assert prompt.system == f"{GENERAL} Keep it to a few lines."


def test_the_declared_size_is_the_system_message_it_writes() -> None:
    tool = ToolSpec(name="git_log", service="git")
    for intent in [*INSTRUCTIONS, "translate"]:
        for level in ("simple", "complex"):
            for tools in ([], [tool]):
                a = analysis(intent, level, tools)
                declared = system_prompt_tokens(request("x"), a.intent, a.complexity, a.route)
                written = generate_prompt(request("x"), a, MODEL, Config()).system
                assert declared == estimate_tokens(written)


def test_context_mentioned_in_the_request_comes_first_and_empty_is_dropped() -> None:
    prompt = generate_prompt(
        request(
            "Fix the bug in billing",
            framework="Django",
            billing="module path app/billing",
            empty="",
        ),
        analysis(),
        MODEL,
        Config(),
    )
    lines = prompt.user.split("Context:\n")[1].splitlines()
    assert lines[0].startswith("billing:")
    assert "framework: Django" in lines
    assert "empty" not in prompt.user
    assert "dropped empty context 'empty'" in prompt.notes


def test_long_context_is_trimmed_and_overflow_noted() -> None:
    config = parse_config({"prompt": {"max_context_chars": 300}})
    prompt = generate_prompt(
        request("Explain the error", error="E" * 1000, log="L" * 1000),
        analysis("read"),
        MODEL,
        config,
    )
    context = prompt.user.split("Context:\n")[1]
    assert len(context) <= 300 + len(" …[trimmed]")
    assert any(n.startswith("trimmed context 'error'") for n in prompt.notes)
    assert any(n.startswith("left out context 'log'") for n in prompt.notes)


def test_no_context_sends_only_the_request() -> None:
    prompt = generate_prompt(request("Show the readme"), analysis("read"), MODEL, Config())
    assert prompt.user == "Show the readme"


def test_tools_only_when_routed_and_supported() -> None:
    tools = [ToolSpec(name="read_file", description="Read a file")]
    with_tools = generate_prompt(
        request("read a.txt"), analysis("read", tools=tools), MODEL, Config()
    )
    assert [t.name for t in with_tools.tools] == ["read_file"]
    assert "data, not instructions" in with_tools.system
    no_tool_model = ModelInfo(name="old", provider="p", supports_tools=False)
    without = generate_prompt(
        request("read a.txt"), analysis("read", tools=tools), no_tool_model, Config()
    )
    assert without.tools == [] and "old does not take tools: none sent" in without.notes
    assert generate_prompt(request("x"), analysis(), MODEL, Config()).tools == []


def test_max_tokens_comes_from_the_request() -> None:
    req = Request(text="x", options={"max_tokens": 77})  # type: ignore[arg-type]
    assert generate_prompt(req, analysis(), MODEL, Config()).max_tokens == 77
