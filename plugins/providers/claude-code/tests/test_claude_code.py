"""The claude-code provider against a stand-in ``claude`` executable on PATH.

The stand-in is a small Python script that records how it was run (arguments, stdin,
environment, working directory) and prints what the real CLI prints for
``claude -p --output-format json``: one ``result`` object with ``type``, ``subtype``,
``is_error``, ``result``, ``total_cost_usd``, ``usage``, ``modelUsage``, ``session_id``,
``num_turns`` and ``duration_ms``, or one of its error shapes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
import dynamic_orchestrator_claude_code as plugin
import pytest
from dynamic_orchestrator.catalog import ModelInfo
from dynamic_orchestrator.config import Config, parse_config
from dynamic_orchestrator.errors import ConfigError, ErrorKind, ProviderError
from dynamic_orchestrator.models import ChatMessage
from dynamic_orchestrator.providers import ProviderCall

SUCCESS = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "duration_ms": 4300,
    "duration_api_ms": 4264,
    "num_turns": 1,
    "result": "The config is loaded from settings.py.",
    "stop_reason": "end_turn",
    "session_id": "7b70d796-37ea-4eb3-bf36-943bf898a9ce",
    "total_cost_usd": 0.0189534,
    "usage": {
        "input_tokens": 18,
        "cache_creation_input_tokens": 7314,
        "cache_read_input_tokens": 34324,
        "output_tokens": 175,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
    },
    "modelUsage": {
        "claude-haiku-4-5-20251001": {
            "inputTokens": 18,
            "outputTokens": 175,
            "cacheReadInputTokens": 34324,
            "cacheCreationInputTokens": 7314,
            "webSearchRequests": 0,
            "costUSD": 0.0181,
            "contextWindow": 200000,
        },
        "claude-3-5-haiku-20241022": {
            "inputTokens": 400,
            "outputTokens": 20,
            "cacheReadInputTokens": 0,
            "cacheCreationInputTokens": 0,
            "webSearchRequests": 0,
            "costUSD": 0.0008534,
            "contextWindow": 200000,
        },
    },
    "permission_denials": [],
    "uuid": "cec86581-6d23-4789-adb8-f7a0310790a8",
}


def standin(
    directory: Path, *, stdout: str = "", exit_code: int = 0, stderr: str = "", sleep: float = 0
) -> Path:
    """Write a stand-in ``claude`` into ``directory``; it logs each run to ``runs.jsonl``."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "runs.jsonl"
    script = directory / "claude"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, os, subprocess, sys, time
            prompt = sys.stdin.read()
            child = None
            if {sleep!r}:
                child = subprocess.Popen(["{sys.executable}", "-c", "import time; time.sleep(60)"])
            with open({str(log)!r}, "a") as f:
                f.write(json.dumps({{"argv": sys.argv[1:], "stdin": prompt, "env": dict(os.environ),
                                     "cwd": os.getcwd(), "pid": os.getpid(),
                                     "child": child.pid if child else None}}) + "\\n")
            time.sleep({sleep!r})
            sys.stdout.write({stdout!r})
            sys.stderr.write({stderr!r})
            sys.exit({exit_code!r})
            """
        )
    )
    script.chmod(0o755)
    return log


def runs(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(autouse=True)
def _working_dirs_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Providers a test does not close leave their working directory in its tmp_path."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ['PATH']}")
    return path


CONFIG = {
    "providers": {"claude-code": {}},
    "execution": {t: {"preferred": "haiku"} for t in ("simple", "moderate", "complex")},
    "retry": {"attempts": 1},
}


def call(model: str = "haiku", **kw: Any) -> ProviderCall:
    return ProviderCall(
        model=ModelInfo(name=model, provider="claude-code"),
        system=kw.pop("system", "Answer in one sentence."),
        messages=kw.pop(
            "messages", [ChatMessage(role="user", content="Where is the config loaded?")]
        ),
        **kw,
    )


async def test_a_run_reports_text_model_tokens_and_the_cli_cost(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = standin(bin_dir, stdout=json.dumps(SUCCESS))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-leak-123")
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-google-must-not-leak-123")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak-123")
    provider = plugin.ClaudeCodeProvider(parse_config(CONFIG))
    done = await provider.complete(call())
    assert done.text == "The config is loaded from settings.py."
    assert (done.provider, done.model) == ("claude-code", "claude-haiku-4-5-20251001")
    assert done.cost_usd == 0.0189534  # as the CLI reports it
    assert done.input_tokens == 18 + 7314 + 34324 + 400  # every model the run used
    assert done.output_tokens == 175 + 20 and done.usage_estimated is False
    (run,) = runs(log)
    assert run["argv"] == [
        "-p", "--output-format", "json", "--model", "haiku", "--strict-mcp-config",
        "--system-prompt", "Answer in one sentence.",
    ]  # fmt: skip
    assert run["stdin"] == "Where is the config loaded?"
    leaked = {"OPENAI_API_KEY", "GOOGLE_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"}
    assert not leaked & set(run["env"]) and run["env"]["PATH"] == os.environ["PATH"]
    assert Path(run["cwd"]) != Path.cwd() and not any(Path(run["cwd"]).iterdir())
    await provider.aclose()
    assert not Path(run["cwd"]).exists()


async def test_through_the_orchestrator_cost_is_what_the_cli_reports(
    bin_dir: Path, make_orchestrator: Any
) -> None:
    standin(bin_dir, stdout=json.dumps(SUCCESS))
    orch = await make_orchestrator(parse_config(CONFIG), plugins=(plugin,))
    result = await orch.orchestrate("Where is the JWT secret loaded from?")
    assert result.status == "completed", result.error
    assert (result.provider, result.model) == ("claude-code", "claude-haiku-4-5-20251001")
    assert result.cost_usd == 0.0189534 and result.usage.estimated is False
    assert "free" not in result.model_dump_json().lower()


def test_an_unset_cost_stays_unknown_and_a_zero_stays_zero() -> None:
    assert plugin.parse_result(json.dumps(SUCCESS))["total_cost_usd"] == 0.0189534
    no_cost = {k: v for k, v in SUCCESS.items() if k != "total_cost_usd"}
    assert plugin.parse_result("noise\n" + json.dumps(no_cost)) == no_cost
    assert plugin.parse_result("not json at all") is None


@pytest.mark.parametrize(("cost", "expected"), [(None, None), (0, 0.0), (0.25, 0.25)])
async def test_cost_is_never_invented(bin_dir: Path, cost: Any, expected: Any) -> None:
    data = {**SUCCESS, "total_cost_usd": cost}
    standin(bin_dir, stdout=json.dumps(data))
    done = await plugin.ClaudeCodeProvider(parse_config(CONFIG)).complete(call())
    assert done.cost_usd == expected


ERRORS = [
    (
        {"type": "result", "subtype": "success", "is_error": True, "api_error_status": 429,
         "result": "You've hit your session limit · resets 4:40pm", "total_cost_usd": 0.8},
        1, ErrorKind.QUOTA_EXHAUSTED,
    ),
    (
        {"type": "result", "subtype": "success", "is_error": True, "api_error_status": 401,
         "result": "Failed to authenticate. API Error: 401 OAuth access token is invalid."},
        1, ErrorKind.AUTH,
    ),
    (
        {"type": "result", "subtype": "success", "is_error": True,
         "result": "Not logged in · Please run /login"},
        1, ErrorKind.AUTH,
    ),
    (
        {"type": "result", "subtype": "success", "is_error": True, "api_error_status": 529,
         "result": "API Error: 529 Overloaded"},
        1, ErrorKind.TRANSIENT,
    ),
    (
        {"type": "result", "subtype": "success", "is_error": True, "api_error_status": 404,
         "result": "model not found"},
        1, ErrorKind.MODEL_NOT_FOUND,
    ),
    (
        {"type": "result", "subtype": "success", "is_error": True,
         "result": "Prompt is too long"},
        1, ErrorKind.CONTEXT_OVERFLOW,
    ),
    (
        {"type": "result", "subtype": "error_during_execution", "is_error": True,
         "errors": ["Error: Request was aborted."], "num_turns": 0},
        1, ErrorKind.TRANSIENT,
    ),
    (
        {"type": "result", "subtype": "error_max_turns", "is_error": True, "num_turns": 3},
        1, ErrorKind.UNAVAILABLE,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("data", "code", "kind"), ERRORS)
async def test_error_results_map_to_the_taxonomy(
    bin_dir: Path, data: dict[str, Any], code: int, kind: ErrorKind
) -> None:
    standin(bin_dir, stdout=json.dumps(data), exit_code=code)
    with pytest.raises(ProviderError) as info:
        await plugin.ClaudeCodeProvider(parse_config(CONFIG)).complete(call())
    error = info.value
    assert error.kind is kind and error.provider == "claude-code" and error.model == "haiku"
    assert str(error).startswith("claude reported an error")
    if "api_error_status" in data:
        assert error.status_code == data["api_error_status"]


@pytest.mark.parametrize(
    ("stdout", "stderr", "code", "text"),
    [
        (
            "",
            "Error: unknown option '--strict-mcp-config'\n",
            1,
            "exited with status 1: Error: unknown option",
        ),
        (
            "Segmentation fault? <html>garbage</html>",
            "",
            0,
            "printed no JSON result: Segmentation fault?",
        ),
        (
            json.dumps(SUCCESS),
            "crashed after printing",
            3,
            "claude reported an error (success, exit status 3)",
        ),
    ],
)
async def test_broken_runs_are_transient_errors_with_what_the_cli_said(
    bin_dir: Path, stdout: str, stderr: str, code: int, text: str
) -> None:
    standin(bin_dir, stdout=stdout, stderr=stderr, exit_code=code)
    with pytest.raises(ProviderError) as info:
        await plugin.ClaudeCodeProvider(parse_config(CONFIG)).complete(call())
    assert info.value.kind is ErrorKind.TRANSIENT and text in str(info.value)


async def test_a_timeout_kills_the_cli_and_its_children(
    bin_dir: Path, make_orchestrator: Any
) -> None:
    log = standin(bin_dir, stdout=json.dumps(SUCCESS), sleep=30)
    config = parse_config({**CONFIG, "providers": {"claude-code": {"timeout": 1.0}}})
    orch = await make_orchestrator(config, plugins=(plugin,))
    began = time.monotonic()
    result = await orch.orchestrate("Where is the JWT secret loaded from?")
    assert time.monotonic() - began < 10
    assert result.status == "failed"
    assert [(a.outcome, a.error_kind) for a in result.attempts] == [("error", "transient")]
    assert "timed out after 1s" in (result.error or "")
    (run,) = runs(log)
    for pid in (run["pid"], run["child"]):
        with anyio.fail_after(5):
            while _alive(pid):
                await anyio.sleep(0.05)


async def test_cancelling_kills_the_cli(bin_dir: Path) -> None:
    log = standin(bin_dir, stdout=json.dumps(SUCCESS), sleep=30)
    provider = plugin.ClaudeCodeProvider(parse_config(CONFIG))
    with anyio.move_on_after(1.0) as scope:
        await provider.complete(call())
    assert scope.cancelled_caught
    (run,) = runs(log)
    assert not _alive(run["pid"])  # killed and reaped before the call returned


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of a process that died is reaped by init soon
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def test_multi_turn_conversations_become_a_transcript() -> None:
    prompt = plugin._prompt(
        [
            ChatMessage(role="user", content="add 1 and 2"),
            ChatMessage(role="assistant", content="calling add"),
            ChatMessage(role="tool", content="3", tool_call_id="c1"),
        ]
    )
    assert prompt == "User: add 1 and 2\n\nAssistant: calling add\n\nTool result: 3"


async def test_inactive_unless_configured(make_orchestrator: Any, bin_dir: Path) -> None:
    standin(bin_dir, stdout=json.dumps(SUCCESS))
    orch = await make_orchestrator(Config(), plugins=(plugin,))
    assert "claude-code" not in orch.providers
    assert not {"haiku", "sonnet", "opus"} & set(orch.catalog.models)


async def test_configured_it_registers_priced_aliases(
    make_orchestrator: Any, bin_dir: Path
) -> None:
    standin(bin_dir, stdout=json.dumps(SUCCESS))
    orch = await make_orchestrator(parse_config(CONFIG), plugins=(plugin,))
    haiku = orch.catalog.models["haiku"]
    assert haiku.provider == "claude-code" and haiku.supports_tools is False
    assert haiku.price_source.startswith("estimate: list price of claude-haiku-4-5")
    assert haiku.input_price is not None and haiku.input_price.base > 0
    assert orch.catalog.unusable_reason("haiku") is None
    opus = orch.catalog.get("claude-opus-4-6")
    assert opus is not None and opus.provider == "anthropic"  # still the Anthropic API's


def test_unavailable_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no claude here
    provider = plugin.ClaudeCodeProvider(parse_config(CONFIG))
    assert provider.unavailable_reason(ModelInfo("haiku", "claude-code")) == (
        "the 'claude' command is not on PATH: install Claude Code, or set "
        "providers.claude-code.options.command"
    )
    reason = provider.unavailable_reason(ModelInfo("gpt-4o", "claude-code"))
    assert reason and reason.startswith("claude-code serves ") and "'gpt-4o'" in reason
    typo = {"providers": {"claude-code": {"options": {"comand": "claude"}}}}
    with pytest.raises(ConfigError, match=r"providers\.claude-code\.options\.comand: unknown"):
        parse_config(typo)  # config check names it
    bad = Config.model_validate(typo)  # a configuration no host checked
    assert plugin.ClaudeCodeProvider(bad).unavailable_reason(ModelInfo("haiku", "x")) == (
        "providers.claude-code.options.comand: unknown option (known: args, command, cwd, env)"
    )


def test_the_environment_is_an_allow_list() -> None:
    environ = {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LC_ALL": "C",
        "CLAUDE_CONFIG_DIR": "/c",
        "OPENAI_API_KEY": "x",
        "GEMINI_API_KEY": "x",
        "ANTHROPIC_API_KEY": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "MY_VAR": "y",
    }
    assert plugin.subprocess_env(environ, []) == {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LC_ALL": "C",
        "CLAUDE_CONFIG_DIR": "/c",
    }
    assert plugin.subprocess_env(environ, ["MY_VAR"])["MY_VAR"] == "y"
