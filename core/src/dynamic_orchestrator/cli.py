"""The ``dynamic-orchestrator`` command line: a thin door onto :class:`Orchestrator`.

Exit status: 0 on success, 1 when a request failed, 2 on bad usage or bad config.
``--json`` prints exactly the JSON of the matching MCP tool.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import finite_json
from .commands import UsageFailure

if TYPE_CHECKING:  # pydantic and the config models are imported by the commands that load one
    from .config import Config

T = TypeVar("T")

BUILTIN_COMMANDS = (
    "analyze",
    "run",
    "metrics",
    "plugins",
    "models",
    "config",
    "demo",
)

COMMANDS_ELSEWHERE = {
    "serve": "dynamic-orchestrator-mcp-server",
    "gateway": "dynamic-orchestrator-mcp-server",
    "claude": "dynamic-orchestrator-mcp-server",
    "dashboard": "dynamic-orchestrator-sqlite",
}
"""Commands that first-party distributions register, named when run without them installed."""


def _load(config_path: str | None) -> Config:
    from .config import load_config
    from .errors import ConfigError

    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise UsageFailure(f"bad config: {exc}") from None


def _run_async(func: Callable[[], Awaitable[T]]) -> T:
    import anyio

    from .errors import ConfigError, OrchestratorError, RequestError

    try:
        return anyio.run(func)
    except (RequestError, ConfigError) as exc:
        raise UsageFailure(str(exc)) from None
    except OrchestratorError as exc:
        raise click.ClickException(str(exc)) from None


def _json_object(value: str | None, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageFailure(f"{name}: not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(parsed, dict):
        raise UsageFailure(f"{name}: expected a JSON object, got {type(parsed).__name__}")
    return parsed


def _echo_json(data: Any) -> None:
    click.echo(finite_json.dumps(data))


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:.6f}"


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: the lookup order, else embedded defaults).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the tool's JSON.")


class PluginCommands(click.Group):
    """Built-in commands, plus those plugins register; plugins load only when needed."""

    _plugin_commands: dict[str, click.Command] | None = None

    def _load_plugin_commands(self) -> dict[str, click.Command]:
        if self._plugin_commands is None:
            from .errors import OrchestratorError
            from .hooks import Hooks
            from .plugins import make_plugin_manager

            found: dict[str, click.Command] = {}
            try:
                for command in Hooks(make_plugin_manager()).register_commands():
                    if command.name and command.name not in BUILTIN_COMMANDS:
                        found[command.name] = command
            except OrchestratorError as exc:
                click.echo(f"warning: plugin commands unavailable: {exc}", err=True)
            self._plugin_commands = found
        return self._plugin_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._load_plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name) or _declared_command(cmd_name)
        if command is None:
            command = self._load_plugin_commands().get(cmd_name)
        if command is None and cmd_name in COMMANDS_ELSEWHERE:
            distribution = COMMANDS_ELSEWHERE[cmd_name]
            raise UsageFailure(
                f"'{cmd_name}' comes with {distribution}, which is not installed (or its plugin "
                f"is disabled): pip install {distribution}, or pip install dynamic-orchestrator "
                "for everything"
            )
        return command


def _declared_command(name: str) -> click.Command | None:
    """A command a plugin names in its entry points: its module alone is imported."""
    from .plugins import command_entry_point

    entry_point = command_entry_point(name)
    if entry_point is None:
        return None
    try:
        command = entry_point.load()
    except Exception as exc:  # a broken plugin: its register_commands is the fallback
        click.echo(f"warning: command {name!r} failed to load: {exc}", err=True)
        return None
    return command if isinstance(command, click.Command) and command.name == name else None


@click.group(cls=PluginCommands)
@click.version_option(package_name="dynamic-orchestrator-core")
def cli() -> None:
    """Route each LLM request to the cheapest model that is good enough."""


# --- analyze / run -------------------------------------------------------------------------


@cli.command()
@click.argument("request")
@click.option("--context", help="Context as a JSON object.")
@config_option
@json_option
def analyze(request: str, context: str | None, config_path: str | None, as_json: bool) -> None:
    """Analyse REQUEST without running it (every cost is an estimate)."""
    from .orchestrator import Orchestrator

    config = _load(config_path)
    ctx = _json_object(context, "--context")

    async def go() -> Any:
        async with Orchestrator(config) as orch:
            return await orch.analyze(request, ctx)

    result = _run_async(go)
    if as_json:
        _echo_json(result.model_dump(mode="json"))
        return
    click.echo(f"intent:       {result.intent} (confidence {result.intent_confidence:.2f})")
    click.echo(f"complexity:   {result.complexity} (score {result.complexity_score:.2f})")
    click.echo(f"model:        {result.recommended_model} ({result.tier} tier)")
    if result.fallback_models:
        click.echo(f"fallbacks:    {', '.join(result.fallback_models)}")
    click.echo(
        f"tokens:       ~{result.estimated_input_tokens} in, ~{result.estimated_output_tokens} out"
        " (estimated)"
    )
    click.echo(f"cost:         {_usd(result.estimated_cost_usd)} (estimated)")
    click.echo(
        f"baseline:     {_usd(result.baseline_cost_usd)} on {result.baseline_model} (estimated)"
    )
    if result.services:
        click.echo(f"services:     {', '.join(result.services)}")
    for reason in result.reasons:
        click.echo(f"  - {reason}")


@cli.command()
@click.argument("request")
@click.option("--context", help="Context as a JSON object.")
@click.option("--max-cost", type=float, help="Hard ceiling in USD for this request.")
@click.option("--model", help="Force this model.")
@click.option("--max-tokens", type=int, help="Cap on output tokens.")
@click.option("--plan-only", is_flag=True, help="Return the plan without running a model.")
@config_option
@json_option
def run(
    request: str,
    context: str | None,
    max_cost: float | None,
    model: str | None,
    max_tokens: int | None,
    plan_only: bool,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Orchestrate REQUEST: analyse, select, prompt, execute (or hand back a plan)."""
    from .orchestrator import Orchestrator

    config = _load(config_path)
    ctx = _json_object(context, "--context")
    options: dict[str, Any] = {}
    if max_cost is not None:
        options["max_cost"] = max_cost
    if model:
        options["model"] = model
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if plan_only:
        options["execute"] = False

    async def go() -> Any:
        async with Orchestrator(config) as orch:
            if model and orch.catalog.get(model) is None:
                raise UsageFailure(
                    f"--model {model!r}: unknown model, not in genai-prices nor in the config "
                    "('dynamic-orchestrator models' lists the known ones)"
                )
            return await orch.orchestrate(request, ctx, options)

    result = _run_async(go)
    if as_json:
        _echo_json(result.model_dump(mode="json"))
    else:
        _print_result(result)
    if result.status == "failed":
        sys.exit(1)


def _print_result(result: Any) -> None:
    click.echo(f"status:   {result.status}")
    if result.status == "completed":
        click.echo(f"model:    {result.model} via {result.provider}")
        kind = "estimated" if result.usage.estimated else "measured"
        click.echo(
            f"tokens:   {result.usage.input_tokens} in, {result.usage.output_tokens} out ({kind})"
        )
        click.echo(f"cost:     {_usd(result.cost_usd)}")
        click.echo(f"baseline: {_usd(result.baseline_cost_usd)} (estimated)")
        click.echo(f"saved:    {_usd(result.saved_usd)} — {result.savings_basis}")
        click.echo("")
        click.echo(result.output or "")
    elif result.status == "delegated":
        plan = result.plan
        click.echo(f"plan:     run on your own model, {plan.model} ({plan.tier} tier)")
        click.echo(f"why:      {result.savings_basis}")
        click.echo(f"system:   {plan.system}")
        click.echo(f"prompt:   {plan.prompt}")
        if plan.tools:
            click.echo(f"tools:    {', '.join(t.name for t in plan.tools)}")
    else:
        click.echo(f"error:    {result.error}", err=True)
    for attempt in result.attempts:
        line = f"  attempt {attempt.model} via {attempt.provider}: {attempt.outcome}"
        if attempt.error:
            line += f" ({attempt.error})"
        click.echo(line, err=result.status == "failed")


# --- metrics -----------------------------------------------------------------------------


@cli.command()
@click.option("--period", type=click.Choice(["1m", "5m", "1h", "1d"]), default="1h")
@config_option
@json_option
def metrics(period: str, config_path: str | None, as_json: bool) -> None:
    """Metrics from the persistent store, across restarts and processes."""
    from .orchestrator import Orchestrator

    config = _load(config_path)

    async def go() -> Any:
        async with Orchestrator(config) as orch:
            return await orch.metrics(period, persistent=True)

    summary = _run_async(go)
    if as_json:
        _echo_json(summary.model_dump(mode="json"))
        return
    data = summary.model_dump(mode="json")
    for key, value in data.items():
        if key in ("extra",) and not value:
            continue
        click.echo(
            f"{key + ':':24}{json.dumps(value) if isinstance(value, dict | list) else value}"
        )


# --- plugins / models ------------------------------------------------------------------------


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the host's built-ins.")
@config_option
@json_option
def plugins(show_all: bool, config_path: str | None, as_json: bool) -> None:
    """List plugins: name, version, hooks."""
    from .plugins import make_plugin_manager

    config = _load(config_path)
    pm = make_plugin_manager(
        allow=config.plugins.load,
        disable=config.plugins.disable,
        strict=config.plugins.strict,
        order=config.plugins.order,
    )
    infos = [i for i in pm.plugin_infos() if show_all or not i.builtin]
    rows: list[dict[str, Any]] = [
        {
            "name": i.name,
            "distribution": i.distribution,
            "version": i.version,
            "hooks": i.hooks,
            "builtin": i.builtin,
        }
        for i in infos
    ]
    failed = [{"name": i.name, "error": i.error} for i in pm.report.failed]
    if as_json:
        _echo_json({"plugins": rows, "failed": failed})
        return
    for row in rows:
        click.echo(f"{row['name']} {row['version'] or ''} ({row['distribution'] or 'local'})")
        click.echo(f"  hooks: {', '.join(row['hooks'])}")
    for item in failed:
        click.echo(f"{item['name']}: failed to load: {item['error']}", err=True)


@cli.command()
@config_option
@json_option
def models(config_path: str | None, as_json: bool) -> None:
    """The model catalog: provider, tier, prices, context window, usable now or why not."""
    from .orchestrator import Orchestrator

    config = _load(config_path)

    async def go() -> list[dict[str, Any]]:
        async with Orchestrator(config) as orch:
            rows = []
            for model in orch.catalog.models.values():
                reason = orch.catalog.unusable_reason(model.name)
                rows.append(
                    {
                        "model": model.name,
                        "provider": model.provider,
                        "tiers": list(model.tiers),
                        "input_usd_per_mtok": model.input_price.base if model.input_price else None,
                        "output_usd_per_mtok": (
                            model.output_price.base if model.output_price else None
                        ),
                        "tiered_pricing": bool(model.input_price and model.input_price.tiers),
                        "context_window": model.context_window,
                        "price_source": model.price_source,
                        "usable": reason is None,
                        "unusable_reason": reason,
                    }
                )
            return rows

    rows = _run_async(go)
    if as_json:
        _echo_json({"models": rows})
        return
    header = (
        f"{'model':24} {'provider':10} {'tiers':18} {'in $/M':>8} {'out $/M':>8} "
        f"{'context':>9}  usable"
    )
    click.echo(header)
    for r in rows:
        price_in = "?" if r["input_usd_per_mtok"] is None else f"{r['input_usd_per_mtok']:g}"
        price_out = "?" if r["output_usd_per_mtok"] is None else f"{r['output_usd_per_mtok']:g}"
        usable = "yes" if r["usable"] else f"no: {r['unusable_reason']}"
        click.echo(
            f"{r['model']:24} {r['provider'] or '?':10} {','.join(r['tiers']):18} "
            f"{price_in:>8} {price_out:>8} {r['context_window'] or '?':>9}  {usable}"
        )
    click.echo("prices: list prices from genai-prices (or config), USD per million tokens")


# --- config check --------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Work with configuration files."""


@config_group.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@config_option
def config_check(path: str | None, config_path: str | None) -> None:
    """Validate a config file (default: the one the lookup order finds)."""
    from .config import find_config_path

    target = path or config_path
    found = find_config_path(target)
    if found is not None and not found.exists():
        raise UsageFailure(f"{found}: no such file")
    config = _load(str(found) if found else None)
    click.echo(f"ok: {config.source}")
    for tier, tier_config in config.execution.items():
        click.echo(f"  {tier}: {' -> '.join(tier_config.models)}")
    click.echo(f"  baseline: {config.effective_baseline_model}")
    if config.mcp_services:
        click.echo(f"  services: {', '.join(config.mcp_services)}")


# --- demo ------------------------------------------------------------------------------------


@cli.command()
@config_option
@json_option
def demo(config_path: str | None, as_json: bool) -> None:
    """The savings demo, offline: what routing would pick, every figure an estimate."""
    from .demo import run_demo

    config = _load(config_path)
    report = _run_async(lambda: run_demo(config))
    if as_json:
        _echo_json(report)
        return
    from .demo import render

    click.echo(render(report))


def main() -> None:
    """Entry point of the ``dynamic-orchestrator`` command.

    Logging (structlog, stderr, ``LOG_LEVEL``) configures itself on the first log call, so
    commands that log nothing, and the MCP server's start-up, do not import it; the SDKs'
    standard-library logging is routed through the same redaction when it is configured.
    """
    from . import log

    log.ROUTE_STDLIB = True
    log.route_stdlib_lazily()
    cli(prog_name="dynamic-orchestrator")
