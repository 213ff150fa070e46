"""Opt-in provider that runs your own installed ``claude`` CLI (Claude Code) for a call.

Inactive until the configuration names it, even when installed::

    providers:
      claude-code: {}                      # opt in
    execution:
      simple: {preferred: haiku, fallback: [gemini-2.5-flash-lite]}

It serves the aliases ``haiku``, ``sonnet`` and ``opus`` (registered as models of provider
``claude-code``), the models of ``claude_code_models`` and any listed in
``providers.claude-code.models`` (listing a ``claude-*`` model there routes it here rather
than to the Anthropic API). Each call runs, as an async subprocess::

    claude -p --output-format json --model <model> --strict-mcp-config [--system-prompt S]

with the prompt on stdin, in an empty working directory (no project ``CLAUDE.md``), with
no MCP servers (``--strict-mcp-config``), and with an environment that carries no
provider keys: only ``PATH``, ``HOME``, locale, proxy and certificate variables and
Claude's own ``CLAUDE_*`` settings pass, plus the names in ``options.env``. Cancellation
and timeouts kill the process group.

The cost is the ``total_cost_usd`` the CLI reports, as reported: under a Claude
subscription it is the CLI's own API-price figure for the run, not proof of a charge, and
it is never reported as zero unless the CLI says zero. The CLI takes no function schemas,
so tools in a call are not sent; the model answers in text.

Options (``providers.claude-code.options``): ``command`` (default ``claude``), ``cwd``,
``args`` (extra CLI arguments, e.g. ``["--no-session-persistence"]``), ``env`` (extra
variable names to pass through, e.g. ``["ANTHROPIC_API_KEY"]`` to bill your API key).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from typing import Any

import anyio
from anyio.abc import Process
from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import ModelInfo, lookup_prices
from dynamic_orchestrator.config import Config, ProviderConfig
from dynamic_orchestrator.contract import PluginSettings
from dynamic_orchestrator.errors import ErrorKind, ProviderError, redact, register_secret
from dynamic_orchestrator.models import ChatMessage, Completion
from dynamic_orchestrator.provider_errors import classify_status
from dynamic_orchestrator.providers import ProviderCall, check_options, options_settings
from dynamic_orchestrator.tokens import estimate_tokens

__all__ = [
    "NAME",
    "ClaudeCodeProvider",
    "parse_result",
    "plugin_settings",
    "register_models",
    "register_providers",
    "shutdown",
]

NAME = "claude-code"
ALIASES: dict[str, str] = {
    "haiku": "claude-haiku-4-5",
    "sonnet": "claude-sonnet-4-6",
    "opus": "claude-opus-4-6",
}
"""Each alias and the model whose list price stands in as its estimate before a call."""

OPTIONS: dict[str, type] = {"command": str, "cwd": str, "args": list, "env": list}

PASSED_ENV = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ",
        "TMPDIR", "TMP", "TEMP", "SYSTEMROOT", "COMSPEC", "PATHEXT", "APPDATA",
        "LOCALAPPDATA", "USERPROFILE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
        "http_proxy", "https_proxy", "no_proxy", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)  # fmt: skip
PASSED_PREFIXES = ("LC_", "XDG_", "CLAUDE_")
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
MAX_ARGUMENT_CHARS = 100_000

_AUTH_TEXT = re.compile(
    r"not logged in|/login|invalid api key|failed to authenticate|authentication|oauth",
    re.IGNORECASE,
)
_LIMIT_TEXT = re.compile(
    r"session limit|usage limit|limit reached|requires usage credits|credit balance",
    re.IGNORECASE,
)
_CONTEXT_TEXT = re.compile(r"prompt is too long|context window|context length", re.IGNORECASE)


def subprocess_env(environ: Mapping[str, str], extra: list[str]) -> dict[str, str]:
    """The environment ``claude`` runs with: an allow-list, so no other provider's key."""
    wanted = set(extra)
    return {
        key: value
        for key, value in environ.items()
        if key in PASSED_ENV or key in wanted or key.startswith(PASSED_PREFIXES)
    }


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The CLI's ``result`` object from its JSON output, or None when there is none."""
    text = stdout.strip()
    if not text:
        return None
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            return data
    except json.JSONDecodeError:
        pass
    for line in reversed(text.splitlines()):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("type") == "result":
            return data
    return None


def _prompt(messages: list[ChatMessage]) -> str:
    """The conversation as one prompt: the user text alone, or a labelled transcript."""
    turns = [m for m in messages if m.role != "system"]
    if len(turns) == 1 and turns[0].role == "user":
        return turns[0].content
    labels = {"user": "User", "assistant": "Assistant", "tool": "Tool result"}
    return "\n\n".join(f"{labels[m.role]}: {m.content}" for m in turns)


def _usage(data: dict[str, Any]) -> tuple[int, int, str | None] | None:
    """(input tokens, output tokens, main model) from ``modelUsage``, else ``usage``."""
    per_model = data.get("modelUsage")
    if isinstance(per_model, dict) and per_model:
        input_tokens = output_tokens = 0
        main: tuple[float, str] | None = None
        for name, item in per_model.items():
            if not isinstance(item, dict):
                continue
            out = int(item.get("outputTokens") or 0)
            input_tokens += sum(
                int(item.get(k) or 0)
                for k in ("inputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")
            )
            output_tokens += out
            if main is None or out > main[0]:
                main = (out, re.sub(r"\[.*\]$", "", str(name)))
        return input_tokens, output_tokens, main[1] if main else None
    usage = data.get("usage")
    if isinstance(usage, dict) and "output_tokens" in usage:
        input_tokens = sum(
            int(usage.get(k) or 0)
            for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        )
        return input_tokens, int(usage.get("output_tokens") or 0), None
    return None


def _error(data: dict[str, Any], code: int, model: str) -> ProviderError:
    """The CLI's error result as a :class:`ProviderError` of the shared taxonomy."""
    subtype = str(data.get("subtype") or "")
    errors = data.get("errors")
    message = str(data.get("result") or "") or (
        "; ".join(map(str, errors)) if isinstance(errors, list) and errors else subtype
    )
    status = data.get("api_error_status")
    status = status if isinstance(status, int) else None
    if _AUTH_TEXT.search(message):
        kind = ErrorKind.AUTH
    elif _LIMIT_TEXT.search(message) or subtype == "error_max_budget_usd":
        kind = ErrorKind.QUOTA_EXHAUSTED
    elif status is not None:
        kind = classify_status(status, message)
    elif _CONTEXT_TEXT.search(message):
        kind = ErrorKind.CONTEXT_OVERFLOW
    elif subtype == "error_max_turns":
        kind = ErrorKind.UNAVAILABLE
    else:
        kind = ErrorKind.TRANSIENT
    detail = " ".join(message.split())[:300] or "no message"
    exit_note = f", exit status {code}" if code else ""
    return ProviderError(
        kind,
        f"claude reported an error ({subtype or 'error'}{exit_note}): {detail}",
        provider=NAME,
        model=model,
        status_code=status,
    )


class ClaudeCodeProvider:
    """Runs one call on the user's own ``claude`` CLI."""

    name = NAME

    def __init__(self, config: Config) -> None:
        self.settings = config.providers.get(NAME) or ProviderConfig()
        self._options_error = check_options(self.settings, NAME, OPTIONS)
        options = self.settings.options if self._options_error is None else {}
        self.command = str(options.get("command", "claude"))
        self.args = [str(a) for a in options.get("args", [])]
        self.extra_env = [str(e) for e in options.get("env", [])]
        self._cwd = options.get("cwd")
        self._own_cwd: str | None = None
        self.served = set(ALIASES) | set(self.settings.models)
        self.served |= {m for models in config.claude_code_models.values() for m in models}

    def __repr__(self) -> str:
        return f"ClaudeCodeProvider(command={self.command!r})"

    def executable(self) -> str | None:
        """The resolved ``claude`` executable, or None when it is not on PATH."""
        return shutil.which(self.command)

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        """None when ``claude`` is on PATH and serves ``model``; else why not."""
        if self._options_error:
            return self._options_error
        if model.name not in self.served:
            return (
                f"{NAME} serves {', '.join(sorted(self.served))}; add {model.name!r} to "
                f"providers.{NAME}.models to run it here"
            )
        if self.executable() is None:
            return (
                f"the {self.command!r} command is not on PATH: install Claude Code, or set "
                f"providers.{NAME}.options.command"
            )
        return None

    def _workdir(self) -> str:
        if self._cwd:
            return str(self._cwd)
        if self._own_cwd is None:
            self._own_cwd = tempfile.mkdtemp(prefix="dynamic-orchestrator-claude-")
        return self._own_cwd

    async def complete(self, call: ProviderCall) -> Completion:
        """Run ``claude -p`` once; its error results become :class:`ProviderError`."""
        model = call.model.name
        executable = self.executable()
        if executable is None:
            raise ProviderError(
                ErrorKind.UNAVAILABLE,
                f"the {self.command!r} command is not on PATH",
                provider=NAME,
                model=model,
            )
        parts = [call.system] if call.system else []
        parts += [m.content for m in call.messages if m.role == "system"]
        system = "\n\n".join(parts)
        prompt = _prompt(call.messages)
        argv = [executable, "-p", "--output-format", "json", "--model", model]
        argv.append("--strict-mcp-config")
        if system and len(system) <= MAX_ARGUMENT_CHARS:
            argv += ["--system-prompt", system]
        elif system:
            prompt = f"{system}\n\n{prompt}"
        argv += self.args
        env = subprocess_env(os.environ, self.extra_env)
        for key, value in env.items():
            if key.startswith("CLAUDE_") and ("TOKEN" in key or "KEY" in key):
                register_secret(value)
        code, stdout, stderr = await _run(argv, prompt.encode(), env, self._workdir())
        data = parse_result(stdout)
        if data is None:
            what = f"exited with status {code}" if code else "printed no JSON result"
            shown = " ".join(redact(stderr or stdout).split())[:300] or "no output"
            raise ProviderError(
                ErrorKind.TRANSIENT, f"claude {what}: {shown}", provider=NAME, model=model
            )
        if code != 0 or data.get("is_error") or data.get("subtype", "success") != "success":
            raise _error(data, code, model)
        text = data.get("result")
        reported = _usage(data)
        if reported is None:
            input_tokens = estimate_tokens(system) + estimate_tokens(prompt)
            output_tokens = estimate_tokens(str(text or ""))
            answered = None
        else:
            input_tokens, output_tokens, answered = reported
        cost = data.get("total_cost_usd")
        return Completion(
            text=str(text) if text is not None else None,
            model=answered or model,
            provider=NAME,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            usage_estimated=reported is None,
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
            finish_reason=str(data.get("stop_reason") or data.get("subtype") or "") or None,
        )

    async def aclose(self) -> None:
        """Remove the working directory this provider made."""
        own, self._own_cwd = self._own_cwd, None
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


async def _run(
    argv: list[str], stdin: bytes, env: dict[str, str], cwd: str
) -> tuple[int, str, str]:
    """Run ``argv`` with ``stdin``; kill its process group if cancelled or timed out."""
    process = await anyio.open_process(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    out = bytearray()
    err = bytearray()

    async def drain(stream: Any, sink: bytearray) -> None:
        async for chunk in stream:
            sink.extend(chunk)
            if len(sink) > MAX_OUTPUT_BYTES:
                _kill(process)
                return

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(drain, process.stdout, out)
            group.start_soon(drain, process.stderr, err)
            assert process.stdin is not None
            try:
                await process.stdin.send(stdin)
                await process.stdin.aclose()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                pass  # it exited without reading: its output says why
        code = await process.wait()
    except BaseException:
        _kill(process)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await process.aclose()  # closes the pipes and reaps the process
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _kill(process: Process) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _configured(config: Config) -> bool:
    settings = config.providers.get(NAME)
    return settings is not None and settings.enabled


@hookimpl
def plugin_settings() -> PluginSettings:
    """``providers.claude-code.options``, checked by name and type when the file loads."""
    return options_settings(NAME, OPTIONS)


@hookimpl(trylast=True)
def register_providers(register: Any, config: Config) -> None:
    """Register the ``claude-code`` provider, only when ``providers.claude-code`` is set."""
    if _configured(config):
        register(ClaudeCodeProvider(config))


@hookimpl(trylast=True)
def register_models(register: Any, config: Config) -> None:
    """Register ``haiku``, ``sonnet`` and ``opus`` as models of ``claude-code`` (when set).

    Their prices are the list prices of the model each alias names today, for estimates
    before a call; after a call the cost is what the CLI reports.
    """
    if not _configured(config):
        return
    chosen = [m for models in config.claude_code_models.values() for m in models]
    for alias, default in ALIASES.items():
        target = next((m for m in chosen if alias in m), default)
        listed = lookup_prices(target)
        register(
            ModelInfo(
                name=alias,
                provider=NAME,
                input_price=listed.input_price if listed else None,
                output_price=listed.output_price if listed else None,
                context_window=listed.context_window if listed else None,
                supports_tools=False,
                price_source=f"estimate: list price of {target}; the claude CLI reports the cost",
                source=NAME,
            )
        )


@hookimpl
def shutdown(orchestrator: Any) -> Any:
    """Remove the working directories the providers made."""
    provider = orchestrator.providers.get(NAME)
    return provider.aclose() if isinstance(provider, ClaudeCodeProvider) else None
