"""The Claude Code command of the README, started as Claude Code starts it, runs models.

The README and ``docs/claude-code.md`` give one command; its server part (after ``--``) is
run here with uv from this checkout (offline when uv's cache has the packages) and a dummy
OpenAI key, and the SDK's real stdio client asks ``analyze_request``: the recommendation
is an OpenAI model, which means the provider plugin was installed and found usable.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"^claude mcp add .*$", re.MULTILINE)

pytestmark = pytest.mark.slow


def _command(page: Path) -> str:
    found = [c for c in COMMAND.findall(page.read_text(encoding="utf-8")) if " -- " in c]
    assert len(found) == 1, f"{page}: expected one stdio 'claude mcp add' command, got {found}"
    return found[0]


def test_readme_and_docs_give_the_same_command() -> None:
    assert _command(ROOT / "README.md") == _command(ROOT / "docs" / "claude-code.md")


@pytest.mark.skipif(shutil.which("uvx") is None, reason="uv is not installed")
async def test_the_command_recommends_an_openai_model_with_an_openai_key(tmp_path: Path) -> None:
    words = shlex.split(_command(ROOT / "README.md"))
    assert "OPENAI_API_KEY=$OPENAI_API_KEY" in words  # the key travels with --env
    server = [w.replace("/path/to/checkout", str(ROOT)) for w in words[words.index("--") + 1 :]]
    assert server[0] == "uvx"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY")
        and not k.startswith(("DYNAMIC_ORCHESTRATOR_", "VIRTUAL_ENV", "UV_PROJECT"))
    }
    env.update(OPENAI_API_KEY="sk-dummy-key-for-routing-only", XDG_CONFIG_HOME=str(tmp_path))
    # Fails fast (not a hang) when the packages are neither cached nor reachable.
    check = subprocess.run(
        [*server[:-1], "--version"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "not provided by package" not in check.stderr  # no uv warning about the executable
    params = StdioServerParameters(command=server[0], args=server[1:], env=env, cwd=str(tmp_path))
    async with Client(params) as client:
        result = await client.call_tool(
            "analyze_request", {"request": "Rename the variable x to count in utils.py"}
        )
    assert not result.is_error and result.structured_content is not None
    analysis = result.structured_content
    assert analysis["recommended_provider"] == "openai", analysis
    assert analysis["recommended_model"].startswith("gpt-"), analysis
