"""The container files, checked as far as possible without a container engine (none runs
here): the compose file parses and points at files that exist, the Containerfile copies
only what exists and runs unprivileged, its locked install resolves, and the container's
configuration is valid and demands the token the compose file passes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from dynamic_orchestrator.config import parse_config

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "compose.yaml"
CONTAINERFILE = REPO / "Containerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_compose_file_builds_the_server_beside_redis() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"orchestrator", "redis"}
    server = services["orchestrator"]
    context = REPO / server["build"]["context"]
    assert (context / server["build"]["dockerfile"]).resolve() == CONTAINERFILE
    assert server["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert services["redis"]["image"].startswith("redis:")
    assert server["depends_on"] == ["redis"]
    # published on loopback only; the server inside listens on every address
    assert all(str(p).startswith("127.0.0.1:") for p in server["ports"])
    for volume in server["volumes"]:
        assert volume.split(":")[0] in compose["volumes"]


def test_the_container_demands_the_token_the_compose_file_passes() -> None:
    config = parse_config(yaml.safe_load((REPO / "deploy/config.yaml").read_text()), "deploy")
    token_env = config.server.auth_token_env
    assert token_env and config.server.host == "0.0.0.0"
    environment = yaml.safe_load(COMPOSE.read_text())["services"]["orchestrator"]["environment"]
    # ${VAR:?message}: compose refuses to start without it
    assert re.fullmatch(rf"\$\{{{token_env}:\?.+\}}", environment[token_env])


def test_the_containerfile_copies_what_exists_and_runs_unprivileged() -> None:
    steps = instructions()
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    assert len(stages) == 2, "a build stage and a runtime stage"
    assert "AS build" in steps[stages[0]][1]
    for word, args in steps:
        if word == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: no such path"
    runtime = steps[stages[1] :]
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    (cmd,) = [args for word, args in runtime if word == "CMD"]
    assert cmd.startswith('["serve", "--transport", "http", "--host", "0.0.0.0"')
    config_path = dict(runtime)["COPY"].split()[0]
    parse_config(yaml.safe_load((REPO / config_path).read_text()), config_path)


def test_the_containerfile_install_resolves_from_the_lock(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("uv is needed to check the Containerfile's install")
        pytest.skip("uv is needed to check the Containerfile's install")
    (install,) = [a for w, a in instructions() if w == "RUN" and a.startswith("uv sync")]
    args = install.split()[1:]
    done = subprocess.run(
        [uv, *args, "--dry-run"],
        cwd=REPO,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "dynamic-orchestrator-core" in done.stderr + done.stdout
    assert not (tmp_path / "venv").exists()
