"""The container files, checked as far as possible without a container engine (none runs
here): the compose file parses and points at files that exist, the Containerfile copies
only what exists and runs unprivileged, its locked install resolves, and the container's
configuration is valid and demands the token the compose file passes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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
    server = config.plugin_settings("mcp_server")["server"]
    token_env = server["auth_token_env"]
    assert token_env and server["host"] == "0.0.0.0"
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


def _container_config(tmp_path: Path) -> Path:
    """deploy/config.yaml with the metrics store moved out of /data, for a run here."""
    data = yaml.safe_load((REPO / "deploy/config.yaml").read_text())
    data["metrics"]["path"] = str(tmp_path / "metrics.sqlite3")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _serve(tmp_path: Path, host: str, port: int, **env: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DYNAMIC_ORCHESTRATOR_")}
    environment.update(XDG_DATA_HOME=str(tmp_path / "data"), **env)
    command = [
        str(Path(sys.executable).parent / "dynamic-orchestrator"),
        "serve",
        "--transport",
        "http",
        "--host",
        host,
        "--port",
        str(port),
        "--config",
        str(_container_config(tmp_path)),
    ]
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_the_container_configuration_refuses_to_serve_without_its_token(tmp_path: Path) -> None:
    server = _serve(tmp_path, "0.0.0.0", 0)
    _, stderr = server.communicate(timeout=60)
    assert server.returncode == 2
    assert "DYNAMIC_ORCHESTRATOR_TOKEN is not set" in stderr


def test_the_container_configuration_serves_with_the_token(tmp_path: Path) -> None:
    import socket
    import time

    import httpx2

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "token-" + "x" * 32
    server = _serve(tmp_path, "127.0.0.1", port, DYNAMIC_ORCHESTRATOR_TOKEN=token)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                refused = httpx2.post(url, json=body, headers=headers, timeout=5)
                break
            except httpx2.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert refused.status_code == 401
        accepted = httpx2.post(
            url, json=body, headers={**headers, "Authorization": f"Bearer {token}"}, timeout=10
        )
        assert accepted.status_code == 200, accepted.text
        assert "dynamic-orchestrator" in accepted.text
    finally:
        server.terminate()
        server.communicate(timeout=30)
