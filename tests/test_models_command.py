"""``dynamic-orchestrator models --json`` says, per model, whether it is usable and why not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY")


def models(
    *args: str, config: dict[str, Any] | None = None, tmp: Path, **env: str
) -> dict[str, Any]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in KEY_VARS and not k.startswith("DYNAMIC_ORCHESTRATOR_")
    }
    environment.update(env)
    command = [sys.executable, "-m", "dynamic_orchestrator", "models", "--json", *args]
    if config is not None:
        path = tmp / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        command += ["--config", str(path)]
    run = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
    assert run.returncode == 0, run.stderr
    return {row["model"]: row for row in json.loads(run.stdout)["models"]}


def test_without_keys_every_model_names_the_variable_it_needs(tmp_path: Path) -> None:
    rows = models(tmp=tmp_path)
    assert rows["gpt-5-nano"]["unusable_reason"] == "OPENAI_API_KEY is not set"
    assert rows["claude-haiku-4-5"]["unusable_reason"] == "ANTHROPIC_API_KEY is not set"
    assert rows["gemini-2.5-flash-lite"]["unusable_reason"] == (
        "GOOGLE_API_KEY or GEMINI_API_KEY is not set"
    )
    assert not any(row["usable"] for row in rows.values())
    assert rows["gpt-5-nano"]["input_usd_per_mtok"] > 0  # prices shown all the same


def test_a_key_makes_its_models_usable_and_a_disabled_plugin_says_so(tmp_path: Path) -> None:
    rows = models(
        tmp=tmp_path,
        OPENAI_API_KEY="sk-test-0123456789",
        GEMINI_API_KEY="test-gemini-0123456789",
        DYNAMIC_ORCHESTRATOR_DISABLE_PLUGINS="gemini",
    )
    assert rows["gpt-5-nano"]["usable"] is True and rows["gpt-5-nano"]["unusable_reason"] is None
    assert rows["gpt-5.1"]["usable"] is True
    assert rows["claude-haiku-4-5"]["unusable_reason"] == "ANTHROPIC_API_KEY is not set"
    # The disabled gemini plugin would have claimed genai-prices' google models.
    assert rows["gemini-2.5-flash-lite"]["unusable_reason"] == (
        "no loaded provider serves genai-prices' 'google' models (none declares "
        "prices_provider 'google'); is its provider plugin installed? "
        "(see 'dynamic-orchestrator plugins')"
    )


def test_compatible_endpoints_unknown_plugins_and_claude_code(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(f"#!{sys.executable}\nprint('{{}}')\n")
    claude.chmod(0o755)
    config = {
        "providers": {
            "ollama": {
                "type": "openai",
                "base_url": "http://127.0.0.1:11434/v1",
                "models": ["llama3.1"],
            },
            "router": {
                "type": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "api_key_env": "ROUTER_KEY",
                "models": ["router/auto"],
            },
            "mistral": {"models": ["mistral-small-latest"]},
            "claude-code": {},
        },
    }
    rows = models(config=config, tmp=tmp_path, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    llama = rows["llama3.1"]
    assert (llama["provider"], llama["usable"]) == ("ollama", True)  # no key needed, no price
    assert llama["input_usd_per_mtok"] is None
    assert rows["router/auto"]["unusable_reason"] == "ROUTER_KEY is not set"
    assert rows["mistral-small-latest"]["unusable_reason"].startswith(
        "provider 'mistral' is not installed (no plugin registers it;"
    )
    for alias in ("haiku", "sonnet", "opus"):
        assert rows[alias]["provider"] == "claude-code" and rows[alias]["usable"] is True
        assert rows[alias]["price_source"].startswith("estimate: list price of claude-")
    no_claude = models(config=config, tmp=tmp_path, PATH=str(tmp_path / "empty"))
    assert no_claude["haiku"]["unusable_reason"] == (
        "the 'claude' command is not on PATH: install Claude Code, or set "
        "providers.claude-code.options.command"
    )
