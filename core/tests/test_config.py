"""Configuration: the original design's examples, lookup order, and errors that name paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from dynamic_orchestrator.config import Config, load_config, parse_config
from dynamic_orchestrator.errors import ConfigError

SEED = Path(__file__).resolve().parents[2] / "tests" / "data" / "seed-config"


def test_embedded_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DYNAMIC_ORCHESTRATOR_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing"))
    config = load_config()
    assert config.source == "embedded defaults"
    assert set(config.execution) == {"simple", "moderate", "complex"}
    assert config.effective_baseline_model == config.execution["complex"].preferred


def test_seed_claude_code_priority_example_loads_and_means_what_it_says() -> None:
    config = load_config(SEED / "claude-code-priority.yaml")
    assert config.use_claude_code is True and config.use_claude_code_first is True
    assert config.claude_code_models["simple"] == ["gemini-2.0-flash", "claude-3-5-haiku"]
    assert config.claude_code_models["complex"] == ["gpt-4o", "claude-opus-4"]
    # tiers it does not mention keep their defaults
    assert config.execution == Config().execution


def test_seed_execution_example_loads_and_orders_the_chain() -> None:
    config = load_config(SEED / "execution.yaml")
    assert config.execution["simple"].models == [
        "gemini-2.0-flash",
        "gpt-3.5-turbo",
        "claude-3-haiku-20240307",
    ]
    assert config.execution["complex"].preferred == "gpt-4o"
    assert config.effective_baseline_model == "gpt-4o"


def test_seed_mcp_services_example_loads() -> None:
    config = load_config(SEED / "mcp-services.yaml")
    services = config.plugin_settings("mcp_services")["services"]  # the plugin's, now
    files = services["file_manager"]
    assert files["type"] == "stdio"
    assert files["command"] == ["node", "/path/to/file-manager.js"]
    assert files["capabilities"] == ["read", "write", "search"]
    assert services["code_analyzer"]["capabilities"] == ["analyze", "metrics"]


def test_the_three_examples_combine_in_one_file(tmp_path: Path) -> None:
    combined = tmp_path / "all.yaml"
    combined.write_text(
        "\n".join((SEED / n).read_text() for n in sorted(p.name for p in SEED.iterdir()))
    )
    config = load_config(combined)
    assert config.execution["moderate"].preferred == "gpt-4o-mini"
    assert "file_manager" in config.plugin_settings("mcp_services")["services"]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("use_claude_cod: true\n", "use_claude_cod: unknown key"),
        (
            "execution:\n  simple:\n    preferred: x\n    fallbak: [y]\n",
            "execution.simple.fallbak: unknown key",
        ),
        ("execution:\n  trivial:\n    fallback: [x]\n", "execution.trivial.preferred"),
        (
            "execution:\n  simple:\n    fallback: [a]\n",
            "execution.simple.preferred: Field required",
        ),
        ("providers:\n  openai:\n    base_url: 12\n", "providers.openai.base_url"),
        ("providers:\n  openai:\n    api_key: sk-123\n", "providers.openai.api_key: unknown key"),
        (
            "circuit_breaker:\n  failure_rate_threshold: 2\n",
            "circuit_breaker.failure_rate_threshold",
        ),
        (
            "mcp_services:\n  x:\n    type: stdio\n",
            "mcp_services.x: Value error, a stdio service needs 'command'",
        ),
        ("mcp_services:\n  x:\n    type: websocket\n    url: ws://a\n", "mcp_services.x.type"),
        ("claude_code_models:\n  simple: haiku\n", "claude_code_models.simple"),
        ("- a list\n", "the top level must be a mapping"),
    ],
)
def test_bad_config_errors_name_the_key_path(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_yaml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("execution:\n  simple: [unclosed\n")
    with pytest.raises(ConfigError, match=r"invalid YAML \(line \d+, column \d+\)"):
        load_config(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "dynamic-orchestrator.yaml"
    local.write_text("baseline_model: from-local\n")
    env_file = tmp_path / "env.yaml"
    env_file.write_text("baseline_model: from-env\n")
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("baseline_model: from-explicit\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DYNAMIC_ORCHESTRATOR_CONFIG", raising=False)
    assert load_config().baseline_model == "from-local"
    monkeypatch.setenv("DYNAMIC_ORCHESTRATOR_CONFIG", str(env_file))
    assert load_config().baseline_model == "from-env"
    assert load_config(explicit).baseline_model == "from-explicit"


def test_user_config_directory_is_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DYNAMIC_ORCHESTRATOR_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg" / "dynamic-orchestrator" / "config.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("baseline_model: from-user-dir\n")
    assert load_config().baseline_model == "from-user-dir"


def test_cache_ttl_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_TTL", "120")
    assert load_config(SEED / "execution.yaml").plugin_settings("breaker")["cache"]["ttl"] == 120
    monkeypatch.setenv("CACHE_TTL", "soon")
    with pytest.raises(ConfigError, match="CACHE_TTL: expected seconds"):
        load_config(SEED / "execution.yaml")


def test_stdio_command_may_be_a_shell_string() -> None:
    config = parse_config(
        {"mcp_services": {"git": {"command": "uvx mcp-server-git --repository ."}}}
    )
    git = config.plugin_settings("mcp_services")["services"]["git"]
    assert git["command"] == ["uvx", "mcp-server-git", "--repository", "."]


# --- file edges: what is read, and what is refused before it is read -------------------


def test_a_file_that_is_not_utf8_is_named_with_the_offending_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("retry:\n  attempts: 2 # caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: not UTF-8 text (byte 0xe9 at offset 26)"


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    from dynamic_orchestrator.config import MAX_CONFIG_BYTES

    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match=rf"^{path}: {MAX_CONFIG_BYTES + 1} bytes, larger"):
        load_config(path)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_or_device_is_refused_without_waiting(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)  # no writer: a blocking open would wait for ever
    with pytest.raises(ConfigError, match=rf"^{fifo}: not a regular file$"):
        load_config(fifo)
    if Path("/dev/zero").exists():  # endless: read to the end, it never ends
        with pytest.raises(ConfigError, match=r"^/dev/zero: not a regular file$"):
            load_config("/dev/zero")
    with pytest.raises(ConfigError, match=rf"^{tmp_path}: not a regular file$"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"providers": {"openai": {"timeout": float("inf")}}}, "providers.openai.timeout"),
        ({"retry": {"max_wait": float("inf")}}, "retry.max_wait"),
        ({"retry": {"max_retry_after": float("nan")}}, "retry.max_retry_after"),
        ({"tools": {"tool_timeout": float("inf")}}, "tools.tool_timeout"),
        ({"redis": {"timeout": float("inf")}}, "redis.timeout"),
    ],
)
def test_infinite_timeouts_and_waits_are_refused_by_name(data: dict, where: str) -> None:
    with pytest.raises(ConfigError, match=rf"^<config>: {where}: Input should be a finite"):
        parse_config(data)


def test_yaml_inf_in_a_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "inf.yaml"
    path.write_text("providers:\n  openai:\n    timeout: .inf\n")
    with pytest.raises(ConfigError, match=rf"^{path}: providers.openai.timeout: "):
        load_config(path)


# --- plugins' settings: each plugin's own model, the seed's keys as aliases ---------------


def test_the_seed_keys_and_the_plugin_sections_mean_the_same() -> None:
    seed = parse_config(
        {
            "circuit_breaker": {"minimum_calls": 3, "models": {"m": {"open_duration": 5}}},
            "cache": {"ttl": 60},
            "budget": {"period": "1d", "limit_usd": 2},
            "redis": {"key_prefix": "x:"},
            "metrics": {"persist": False, "prometheus_port": 9100},
            "mcp_services": {"git": {"command": "uvx mcp-server-git"}},
        }
    )
    plugins = parse_config(
        {
            "plugins": {
                "breaker": {
                    "circuit_breaker": {"minimum_calls": 3, "models": {"m": {"open_duration": 5}}},
                    "cache": {"ttl": 60},
                    "budget": {"period": "1d", "limit_usd": 2},
                    "redis": {"key_prefix": "x:"},
                },
                "sqlite": {"persist": False},
                "prometheus": {"port": 9100},
                "mcp_services": {"services": {"git": {"command": "uvx mcp-server-git"}}},
            }
        }
    )
    for name in ("breaker", "sqlite", "prometheus", "mcp_services"):
        assert seed.plugin_settings(name) == plugins.plugin_settings(name), name
    assert seed.plugin_settings("sqlite")["persist"] is False
    assert seed.plugin_settings("breaker")["circuit_breaker"]["minimum_calls"] == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"plugins": {"breaker": {"cahce": {}}}}, "plugins.breaker.cahce: unknown key"),
        (
            {"plugins": {"breaker": {"cache": {"ttl": -1}}}},
            "plugins.breaker.cache.ttl: Input should be greater than or equal to 0",
        ),
        ({"metrics": {"persits": True}}, "metrics.persits: unknown key"),
        ({"cahce": {"ttl": 1}}, "cahce: unknown key"),
        ({"plugins": {"nosuch": {"a": 1}}}, "plugins.nosuch: unknown key"),
        (
            {"providers": {"openai": {"options": {"max_tokens_feild": "max_tokens"}}}},
            "providers.openai.options.max_tokens_feild: unknown key",
        ),
        (
            {"providers": {"local": {"type": "openai", "options": {"max_tokens_field": 3}}}},
            "providers.local.options.max_tokens_field",
        ),
    ],
)
def test_plugin_settings_errors_name_the_path(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert message in str(info.value)


def test_free_form_settings_stay_free_form() -> None:
    config = parse_config({"plugins": {"settings": {"third-party": {"anything": [1, 2]}}}})
    assert config.plugin_settings("third-party") == {"anything": [1, 2]}


def test_a_tier_of_your_own_is_accepted_beside_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text("execution:\n  local:\n    preferred: llama3.2\n")
    config = load_config(path)
    assert list(config.execution) == ["simple", "moderate", "complex", "local"]
    assert config.execution["local"].models == ["llama3.2"]
