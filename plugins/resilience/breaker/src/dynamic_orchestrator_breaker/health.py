"""``dynamic-orchestrator health [--json] [--config PATH]``.

Each model's breaker (state, failure rate and calls in this process's window, open-until,
why), whether Redis is reachable or local state stands in, the cache and the budget. A
fresh process has made no calls, so its windows are empty; open and half-open states are
shared through Redis and shown as every process sees them. Exit status 0 when every
breaker is closed and Redis (if configured) is reachable, 1 otherwise, 2 on bad config.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import anyio
import click


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(report: dict[str, Any]) -> str:
    """The human-readable form of a health report."""
    lines = []
    redis = report["redis"]
    lines.append(f"redis:    {redis['state']}" + (f" ({redis['url']})" if "url" in redis else ""))
    if redis.get("configured"):
        lines.append(
            f"          went local {redis['went_local']} time(s), "
            f"{redis['local_calls']} call(s) answered by local state "
            f"({redis.get('late_loop_timeouts', 0)} timed out while the event loop was late), "
            f"pool of {redis['max_connections']} connections"
        )
    cache = report["cache"]
    lines.append(
        f"cache:    {'on' if cache['enabled'] else 'off'}, {cache['backend']}, "
        f"ttl {cache['ttl_s']:g}s"
    )
    budget = report["budget"]
    if budget.get("enabled"):
        lines.append(
            f"budget:   ${budget['spent_usd']:.6f} of ${budget['limit_usd']:.6f} this "
            f"{budget['period']} period ({'shared' if budget['shared'] else 'this process'})"
        )
    if not report["circuit_breaker"]["enabled"]:
        lines.append("breakers: disabled (circuit_breaker.enabled: false)")
        return "\n".join(lines)
    lines.append("")
    lines.append(
        f"{'model':28} {'state':10} {'failures':>8} {'calls':>5}  {'open until':23}  reason"
    )
    for name, row in report["models"].items():
        lines.append(
            f"{name:28} {row['state']:10} {_rate(row['failure_rate']):>8} "
            f"{row['calls_in_window']:>5}  {_when(row['open_until']):23}  {row['reason'] or ''}"
        )
    lines.append("")
    lines.append("failure rate and calls: this process's window; open states: shared via Redis")
    return "\n".join(lines)


def healthy(report: dict[str, Any]) -> bool:
    """True when every breaker is closed and Redis, if configured, is reachable."""
    redis = report["redis"]
    if redis.get("configured") and redis["state"] != "reachable":
        return False
    return all(row["state"] == "closed" for row in report["models"].values())


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: the lookup order, else embedded defaults).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def health(config_path: str | None, as_json: bool) -> None:
    """Breaker state of every model, Redis reachable or local fallback, cache and budget."""
    from dynamic_orchestrator import Orchestrator, load_config
    from dynamic_orchestrator.errors import ConfigError

    import dynamic_orchestrator_breaker as plugin

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        click.echo(f"Error: bad config: {exc}", err=True)
        sys.exit(2)

    async def go() -> dict[str, Any]:
        async with Orchestrator(config) as orch:
            if not orch.pm.is_registered(plugin):
                raise click.ClickException("the breaker plugin is not loaded (see 'plugins')")
            return await plugin.state(orch).health()

    report = anyio.run(go)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render(report))
    if not healthy(report):
        sys.exit(1)
