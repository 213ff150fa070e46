"""The plugin template: render each stage, install it beside the host in a fresh virtual
environment, run the generated plugin's own tests there, and use it through the command
line (listed by ``plugins``, deciding, running and recording real requests).

One environment holds the four generated plugins (built from the rendered trees) and the
host with its default plugins (built from this checkout's paths); only third-party
packages come from the package index, so the test needs no network beyond it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from dynamic_orchestrator_testing.fake_server import FakeProviderServer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "cookiecutter-plugin"
HOST = [
    "core",
    "testing",
    "plugins/classifiers/rules",
    "plugins/selectors/tiers",
    "plugins/prompts/compact",
    "plugins/services/mcp-services",
    "plugins/metrics/memory",
    "plugins/metrics/sqlite",
    "plugins/providers/client-model",
]
# stage -> the plugin name it is rendered with
STAGES = {
    "classifier": "keywords",
    "provider": "acme-llm",
    "service": "clock",
    "metrics-sink": "jsonl",
}
KEY = "sk-acme-0123456789abcdef"


def render(output: Path, stage: str, name: str) -> Path:
    user_dirs = output.parent / f"{output.name}-cookiecutter"  # replay files, not in ~
    return Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(output),
            extra_context={"plugin_name": name, "stage": stage},
            default_config={
                "replay_dir": str(user_dirs / "replay"),
                "cookiecutters_dir": str(user_dirs / "templates"),
            },
        )
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    output = tmp_path_factory.mktemp("rendered")
    return {stage: render(output, stage, name) for stage, name in STAGES.items()}


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("uv is needed to build the environment (pip install uv)")
        pytest.skip("uv is needed to build the environment (pip install uv)")
    return uv


@pytest.fixture(scope="module")
def venv(rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment: the host, its default plugins, pytest and the four plugins."""
    uv = _uv()
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(root)], check=True)
    python = root / "bin" / "python"
    paths = [str(REPO / p) for p in HOST] + [str(p) for p in rendered.values()]
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "pytest>=8", *paths],
        check=True,
        timeout=600,
    )
    return root


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory and user directories of their own (no config file is found)."""
    return tmp_path_factory.mktemp("home")


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DYNAMIC_ORCHESTRATOR_", "VIRTUAL_ENV", "PYTEST_", "UV_"))
        and not k.endswith("_API_KEY")
    }
    env.update(
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        LOG_LEVEL="warning",
        **extra,
    )
    return env


def cli(venv: Path, home: Path, *args: str, **env: str) -> Any:
    done = subprocess.run(
        [str(venv / "bin" / "dynamic-orchestrator"), *args, "--json"],
        capture_output=True,
        text=True,
        cwd=home,
        env=environment(home, **env),
        timeout=120,
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr}"
    return json.loads(done.stdout)


# --- the rendered trees ------------------------------------------------------------------


def test_each_stage_renders_a_complete_plugin(rendered: dict[str, Path]) -> None:
    for stage, name in STAGES.items():
        project = rendered[stage]
        package = "dynamic_orchestrator_" + name.replace("-", "_")
        entry_point = name.replace("-", "_")
        assert project.name == f"dynamic-orchestrator-{name}"
        files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
        assert files == {
            ".github/workflows/test.yml",
            ".gitignore",
            "README.md",
            "pyproject.toml",
            f"src/{package}/__init__.py",
            "tests/conftest.py",
            "tests/test_installed.py",
            f"tests/test_{entry_point}.py",
        }, stage
        pyproject = (project / "pyproject.toml").read_text()
        assert f'{entry_point} = "{package}"' in pyproject
        assert "[project.entry-points.dynamic_orchestrator]" in pyproject
        for path in project.rglob("*"):
            if path.is_file() and ".github" not in path.parts:
                assert "{{" not in path.read_text(), f"unrendered template text in {path}"
        workflow = yaml.safe_load((project / ".github/workflows/test.yml").read_text())
        steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["test"]["steps"])
        assert "pytest" in steps and "ruff check" in steps


def test_each_example_holds_its_stage(rendered: dict[str, Path]) -> None:
    def source(stage: str) -> str:
        return next((rendered[stage] / "src").glob("*/__init__.py")).read_text()

    assert "def classify(request: Request) -> IntentResult | None" in source("classifier")
    assert "def register_providers(" in source("provider")
    assert "/chat/completions" in source("provider")
    assert "def register_services(" in source("service")
    assert "def record(self, record: RequestRecord)" in source("metrics-sink")
    assert "def metrics_summary(self" in source("metrics-sink")


def test_the_rendered_plugins_pass_lint(rendered: dict[str, Path]) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    for stage, project in rendered.items():
        check = subprocess.run(
            [ruff, "check", "--no-cache", "."], cwd=project, capture_output=True, text=True
        )
        assert check.returncode == 0, f"{stage}: {check.stdout}"
        form = subprocess.run(
            [ruff, "format", "--no-cache", "--check", "."],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert form.returncode == 0, f"{stage}: {form.stdout}"


def test_a_bad_plugin_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FailedHookException):
        render(tmp_path, "classifier", "Not A Name")
    assert not list(tmp_path.iterdir())  # nothing is left behind


# --- installed beside the host ---------------------------------------------------------------


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_generated_tests_pass_in_a_fresh_environment(
    venv: Path, rendered: dict[str, Path], home: Path, stage: str
) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=rendered[stage],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and " failed" not in done.stdout


def test_the_host_lists_every_installed_plugin(venv: Path, home: Path) -> None:
    listing = cli(venv, home, "plugins")
    assert listing["failed"] == []
    plugins = {p["name"]: p for p in listing["plugins"]}
    for name in STAGES.values():
        entry_point = name.replace("-", "_")
        assert plugins[entry_point]["distribution"] == f"dynamic-orchestrator-{name}"
        assert plugins[entry_point]["version"] == "0.1.0"
    assert plugins["keywords"]["hooks"] == ["classify"]
    assert plugins["acme_llm"]["hooks"] == ["register_providers"]
    assert plugins["clock"]["hooks"] == ["register_services"]
    assert plugins["jsonl"]["hooks"] == ["shutdown", "startup"]


def test_the_classifier_decides_a_request(venv: Path, home: Path) -> None:
    analysis = cli(venv, home, "analyze", "Audit the payment module")
    assert analysis["intent"] == "analyze"
    assert any("keyword 'audit' (dynamic-orchestrator-keywords)" in r for r in analysis["reasons"])


def test_a_request_runs_on_the_provider_calls_the_service_and_is_recorded(
    venv: Path, home: Path
) -> None:
    store = home / "requests.jsonl"
    with FakeProviderServer() as server:
        tier = {"preferred": "house-model", "fallback": []}
        config = {
            "providers": {
                "acme_llm": {"base_url": server.openai_base_url, "models": ["house-model"]}
            },
            "models": {"house-model": {"input_price_per_mtok": 1.0, "output_price_per_mtok": 2.0}},
            "execution": {"simple": tier, "moderate": tier, "complex": tier},
            "plugins": {"settings": {"jsonl": {"path": str(store)}}},
        }
        path = home / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        result = cli(
            venv,
            home,
            "run",
            "What time is it now in UTC? [call:current_time]",
            "--config",
            str(path),
            ACME_LLM_API_KEY=KEY,
        )
        received = server.requests
    assert result["status"] == "completed", result
    assert (result["provider"], result["model"]) == ("acme_llm", "house-model")
    assert "clock" in result["analysis"]["services"]
    # the model called the clock's tool, the loop ran it and sent back its result
    assert len(received) == 2
    assert received[0].headers["authorization"] == f"Bearer {KEY}"
    assert [t["function"]["name"] for t in received[0].body["tools"]] == ["current_time"]
    assert 'tool="current_time" service="clock"' in received[1].body["messages"][-1]["content"]
    assert result["output"].startswith("tool result:")
    # the sink wrote the record and answers the persistent summary from it
    (line,) = store.read_text().splitlines()
    assert json.loads(line)["request_id"] == result["request_id"]
    summary = cli(venv, home, "metrics", "--period", "1h", "--config", str(path))
    assert summary["total_requests"] == 1 and summary["extra"]["store"] == str(store)
    assert summary["model_distribution"] == {"house-model": 1}
