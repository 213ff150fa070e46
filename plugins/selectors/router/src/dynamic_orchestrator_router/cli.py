"""``dynamic-orchestrator router``: train, predict, eval and calibrate.

Outcome files are given as arguments and read where they are. Exit status: 0 on success,
1 when some ``predict`` input lines failed, 2 on bad usage, bad files or bad options.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
from dynamic_orchestrator.commands import UsageFailure
from dynamic_orchestrator.progress import Progress

from .model import MODES, Router
from .outcomes import OutcomeError, OutcomeTable, PriceTable, file_digest, read_outcomes
from .settings import RouterFileError

price_option = click.option(
    "--price",
    "prices",
    multiple=True,
    metavar="MODEL=IN,OUT",
    help="USD per million input and output tokens for a model whose costs the files lack "
    "(default: genai-prices). Repeatable.",
)
output_tokens_option = click.option(
    "--output-tokens",
    type=click.IntRange(min=0),
    default=None,
    help="Output tokens to assume when a file has neither costs nor response text.",
)
files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False)
)


def _price_table(prices: Sequence[str], output_tokens: int | None) -> PriceTable:
    overrides: dict[str, tuple[float, float]] = {}
    for item in prices:
        model, sep, values = item.rpartition("=")
        parts = values.split(",")
        try:
            if not sep or not model or len(parts) != 2:
                raise ValueError
            price_in, price_out = float(parts[0]), float(parts[1])
            if price_in < 0 or price_out < 0:
                raise ValueError
        except ValueError:
            raise UsageFailure(
                f"--price {item!r}: expected MODEL=INPUT_USD_PER_MTOK,OUTPUT_USD_PER_MTOK"
            ) from None
        overrides[model] = (price_in, price_out)
    return PriceTable(overrides=overrides, output_tokens=output_tokens)


def _read(files: Sequence[str], prices: PriceTable) -> OutcomeTable:
    try:
        return read_outcomes(files, prices)
    except OutcomeError as exc:
        raise UsageFailure(str(exc)) from None


def _load(path: str) -> Router:
    try:
        return Router.load(path)
    except RouterFileError as exc:
        raise UsageFailure(str(exc)) from None


def _note(message: str) -> None:
    click.echo(message, err=True)


def _fold_progress(bar: Progress) -> Callable[[str], None]:
    """Each fold's note on the progress line (a terminal), or as a line (piped)."""

    def note(message: str) -> None:
        if bar.enabled:
            bar.advance(1 if bar.note else 0, message)  # a fold ended as the next begins
        else:
            _note(message)

    return note


def _usd(value: float) -> str:
    return f"${value:.6g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@click.group("router")
def router_group() -> None:
    """Learned cost-quality routing: train on outcome files, predict, evaluate, calibrate."""


# --- train -----------------------------------------------------------------------------------


@router_group.command("train")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Router file.")
@click.option(
    "--c",
    "c",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Inverse L2 strength of the success classifiers.",
)
@click.option(
    "--min-df",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Prompts a term must occur in.",
)
@price_option
@output_tokens_option
@files_argument
def train_command(
    out: str,
    c: float,
    min_df: int,
    prices: tuple[str, ...],
    output_tokens: int | None,
    files: tuple[str, ...],
) -> None:
    """Train a router on outcome FILES (RouterBench/RouteLLM CSV or outcome JSON lines)."""
    from .training import TrainOptions, train

    price_table = _price_table(prices, output_tokens)
    table = _read(files, price_table)
    started = time.perf_counter()
    try:
        with Progress(f"training on {len(table)} prompts"):
            router = train(table, TrainOptions(c=c, min_df=min_df))
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None
    router.meta["file_digests"] = {Path(f).name: file_digest(Path(f)) for f in files}
    router.meta["prices_usd_per_mtok"] = {m: list(v) for m, v in price_table.used.items()}
    router.save(out)
    seconds = time.perf_counter() - started
    click.echo(f"trained on {len(table)} prompts from {len(files)} file(s) in {seconds:.1f} s")
    for note in table.notes:
        click.echo(f"  note: {note}")
    for model, (price_in, price_out, source) in price_table.used.items():
        click.echo(
            f"  price of {model}: ${price_in:g} in, ${price_out:g} out per M tokens ({source})"
        )
    click.echo(f"{'model':44} {'outcomes':>8} {'mean score':>10} {'mean cost':>12}")
    for model, stats in router.meta["models"].items():
        click.echo(
            f"{model:44} {stats['outcomes']:>8} {stats['mean_success']:>10.3f} "
            f"{_usd(stats['mean_cost_usd']):>12}"
        )
    click.echo(f"terms: {len(router.vocabulary)}; template blocks: {len(router.terms.templates)}")
    defaults = router.defaults
    click.echo(
        f"default knobs: mode {defaults['mode']}, willingness_to_pay "
        f"{defaults['willingness_to_pay']} USD per success, target {defaults['target']}"
    )
    click.echo(f"wrote {out}")


# --- predict ---------------------------------------------------------------------------------


@router_group.command("predict")
@click.option("--router", "router_path", required=True, type=click.Path(dir_okay=False))
def predict_command(router_path: str) -> None:
    """Score JSON lines {"prompt": ...} from stdin: {"scores": {...}, "costs": {...}} each."""
    router = _load(router_path)
    failed = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            prompt = item.get("prompt") if isinstance(item, dict) else None
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError("expected an object with a non-empty string 'prompt'")
        except (json.JSONDecodeError, ValueError) as exc:
            failed += 1
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            click.echo(json.dumps({"error": f"line {number}: {message}"}))
            continue
        click.echo(json.dumps(router.scores(prompt)))
    if failed:
        sys.exit(1)


# --- eval ------------------------------------------------------------------------------------


@router_group.command("eval")
@click.option("--router", "router_path", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--folds",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="k of k-fold cross-validation; 0 scores the router file as it is "
    "(for files it was not trained on).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    default="router-eval.png",
    show_default=True,
    help="PNG of the cost-quality curves.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--cascade",
    is_flag=True,
    help="Also replay verifying cascades (files must carry <model>|model_response columns).",
)
@price_option
@output_tokens_option
@files_argument
def eval_command(
    router_path: str,
    folds: int,
    seed: int,
    plot_path: str,
    as_json: bool,
    cascade: bool,
    prices: tuple[str, ...],
    output_tokens: int | None,
    files: tuple[str, ...],
) -> None:
    """Cost-quality curve of the router on FILES beside the baselines, and a PNG plot."""
    from .evaluation import (
        as_is,
        at_budgets,
        cross_validate,
        discrimination,
        figures,
        measure_latency,
        sweeps,
    )
    from .plot import write_plot
    from .training import TrainOptions

    router = _load(router_path)
    full = _read(files, _price_table(prices, output_tokens))
    table = full.complete()
    if sorted(table.models) != sorted(router.models):
        raise UsageFailure(
            f"the files' models ({', '.join(table.models)}) are not the router's "
            f"({', '.join(router.models)})"
        )
    table = table.with_models(router.models)
    if len(table) < 2:
        raise UsageFailure("fewer than 2 prompts with every model's score")
    options = TrainOptions.from_meta(router.meta.get("options", {}))
    if folds:
        try:
            with Progress("cross-validation", folds) as bar:
                pred = cross_validate(table, options, folds, seed, progress=_fold_progress(bar))
                bar.advance(1, "done")
        except ValueError as exc:
            raise UsageFailure(str(exc)) from None
        protocol = (
            f"{folds}-fold cross-validation (seed {seed}): a router trained on {folds - 1} "
            f"folds with the router file's options {options.__dict__} scores the held-out fold"
        )
    else:
        trained_on = set(router.meta.get("file_digests", {}).values())
        overlap = [f for f in files if file_digest(Path(f)) in trained_on]
        protocol = "the router file as it is, no retraining"
        if overlap:
            protocol += (
                f" — IN-SAMPLE: it was trained on {', '.join(Path(f).name for f in overlap)}, "
                "so these figures are optimistic; use --folds"
            )
        pred = as_is(router, table)
        protocol += "; baselines chosen on these same files"
    all_sweeps = sweeps(table, pred)
    share_sweeps = sweeps(table, pred, flat=True)
    figs = figures(all_sweeps, share_sweeps)
    best_index = int(np.bincount(pred.best).argmax())
    best_name = table.models[best_index]
    best = all_sweeps["best_single"]
    latency = measure_latency(router, table.prompts[:2000])
    command = (
        "dynamic-orchestrator router " + " ".join(sys.argv[sys.argv.index("eval") :])
        if "eval" in sys.argv
        else None
    )
    names = ", ".join(Path(f).name for f in files[:4]) + ("…" if len(files) > 4 else "")
    title = f"{names}: {len(table)} prompts, {protocol.split(':')[0]}"
    plot = write_plot(Path(plot_path), table, all_sweeps, share_sweeps, title)
    report = {
        "command": command,
        "protocol": protocol,
        "files": [str(f) for f in files],
        "prompts": len(table),
        "notes": table.notes,
        "costs": "estimated from list prices"
        if table.cost_estimated
        else "measured (from the files)",
        "best_single_model": {
            "model": best_name,
            "quality": best.quality[0],
            "cost_usd": best.cost[0],
        },
        "figures": {key: fig.__dict__ for key, fig in figs.items()},
        "router_curve": [
            {"willingness_to_pay": s, "cost_usd": c, "quality": q, "strong_share": sh}
            for s, c, q, sh in _curve_rows(all_sweeps["router_utility"])
        ],
        "against_per_task": [
            {"budget_share": b, "router": q, "per_task": r}
            for b, q, r in at_budgets(all_sweeps, "router_utility")
        ],
        "auc": discrimination(table, pred.probability),
        "latency_us": latency.__dict__,
        "plot": str(plot),
    }
    cascade_report: dict[str, Any] | None = None
    if cascade:
        cascade_report = _cascade_report(full, table, max(folds, 2), seed)
        report["cascade"] = cascade_report
    if as_json:
        click.echo(json.dumps(_finite(report), indent=2, allow_nan=False))
        return
    _print_eval(report, figs, all_sweeps, latency)
    if cascade_report is not None:
        _print_cascade(cascade_report)


def _cascade_report(full: OutcomeTable, table: OutcomeTable, folds: int, seed: int) -> Any:
    from .cascade_eval import (
        KINDS,
        agreement,
        cross_validate_cascades,
        fit_scorers,
        in_sample_frontier,
        per_task_curve,
    )
    from .evaluation import value_at, x_to_reach

    if table.responses is None:
        raise UsageFailure("--cascade: the files carry no <model>|model_response columns")
    with Progress("comparing answers", len(table)) as bar:
        agree = agreement(table, progress=lambda done, _: bar.advance(done - bar.done))
    fixed = cross_validate_cascades(table, agree, folds, seed)
    best_q = float(table.success[:, int(np.argmax(table.success.mean(axis=0)))].mean())
    curves = {}
    for name, kinds in [*((k, (k,)) for k in KINDS), ("all", KINDS)]:
        path, chosen = per_task_curve(table, agree, kinds, folds, seed)
        within = [c for c, _ in path if c <= 0.35]
        curves[name] = {
            "points": [{"cost_share": c, "quality": q} for c, q in path],
            "quality_at_10": value_at(path, 0.10),
            "quality_at_35": value_at(path, 0.35),
            "cost_to_match": x_to_reach(path, best_q - 1e-12),
            "chosen_at_35": chosen[max(within)] if within else [],
        }
    frontier, bound, bound_cost, bound_match = in_sample_frontier(table, agree)
    report: dict[str, Any] = {
        "protocol": f"{folds}-fold cross-validation (seed {seed}); cascades chosen on the "
        "training folds, replayed on the held-out fold from the recorded answers",
        "self_check": "not evaluated: a self-check needs a model call the files do not record",
        "best_single_quality": best_q,
        "fixed_chain": [p.__dict__ for p in fixed],
        "per_task": curves,
        "scorer_settings": [f.__dict__ for f in fit_scorers(table, agree)],
        "in_sample": {
            "note": "an upper bound, not a held-out figure: every option scored on all rows",
            "frontier": [p.__dict__ for p in frontier],
            "best_at_35": bound,
            "its_cost_share": bound_cost,
            "cost_to_match": bound_match,
        },
    }
    report["best_point"] = best_point(report)
    return report


BUDGET = 0.35
"""The budget the cascade is judged at: the best single model's quality for at most 35%
of its cost."""


def best_point(report: dict[str, Any]) -> dict[str, Any]:
    """The honest best point of a ``--cascade`` report: the best held-out quality within
    35% of the best single model's cost (and which verifier gave it), whether it matches
    that model, and when it does not, whether the in-sample upper bound says it could.
    A tie goes to the first verifier listed (``all``, every verifier as an option, last)."""
    best_q = report["best_single_quality"]
    kind, quality = max(
        ((k, c["quality_at_35"]) for k, c in report["per_task"].items()),
        key=lambda kq: -1.0 if kq[1] is None else kq[1],
    )
    bound = report["in_sample"]
    if quality is not None and quality >= best_q - 1e-9:
        why = "matches the best single model"
    elif bound["best_at_35"] is not None and bound["best_at_35"] < best_q - 1e-9:
        why = (
            f"below the best single model's {best_q:.3f}, which is not reachable within 35% "
            f"with these models: the in-sample upper bound there is {bound['best_at_35']:.3f}"
        )
    else:
        why = (
            f"below the best single model's {best_q:.3f}; the in-sample upper bound within "
            "35% reaches it, so better choices among these options might"
        )
    return {"budget_share": BUDGET, "verifier": kind, "quality": quality, "reading": why}


def _print_cascade(report: dict[str, Any]) -> None:
    click.echo("")
    click.echo(f"verifying cascades ({report['protocol']}):")
    click.echo("  one chain for every prompt, chosen for a budget on the training folds:")
    click.echo(
        f"  {'verifier':8} {'budget':>6} {'cost':>6} {'quality':>7} {'accepted':>8}  chain (fold 1)"
    )
    for p in report["fixed_chain"]:
        click.echo(
            f"  {p['verifier']:8} {_pct(p['budget']):>6} {_pct(p['cost_share']):>6} "
            f"{p['quality']:>7.3f} {_pct(p['accepted']):>8}  {p['chains'][0]}"
        )
    click.echo(
        "  per task (eval_name): a single model or a cascade each, swept over price "
        f"(best single model: {report['best_single_quality']:.3f}):"
    )
    click.echo(f"  {'verifier':8} {'q@10%':>6} {'q@35%':>6} {'cost to match':>13}")
    for kind, c in report["per_task"].items():
        click.echo(
            f"  {kind:8} {_num(c['quality_at_10']):>6} {_num(c['quality_at_35']):>6} "
            f"{_pct(c['cost_to_match']):>13}"
        )
    click.echo("  chosen at 35% (all verifiers, fold 1):")
    for line in report["per_task"]["all"]["chosen_at_35"]:
        click.echo(f"    {line}")
    click.echo(
        "  cost: share of the best single model's cost on the same prompts; agree2: two "
        "cheap answers agree; agree3: three; vote: two agree, or a third sides with one; "
        "scorer: logistic regression on answer features above a threshold; code answers "
        "agree on equal normalised source or equal behaviour on their own examples"
    )
    click.echo(f"  self-check: {report['self_check']}")
    bound = report["in_sample"]
    click.echo(
        "  in-sample frontier per task (an upper bound: every option scored on all rows; "
        "cost: share of the best model's cost on all rows):"
    )
    for p in bound["frontier"]:
        click.echo(
            f"    {p['task']:14} {_pct(p['cost_share']):>6} {p['quality']:.3f} "
            f"accepted {_pct(p['accepted']):>6}  {p['option']}"
        )
    click.echo(
        f"  in-sample upper bound within 35%: {bound['best_at_35']:.3f} "
        f"at {_pct(bound['its_cost_share'])}; cost to match the best model: "
        f"{_pct(bound['cost_to_match'])}"
    )
    point = report["best_point"]
    click.echo(
        f"  honest best point: {_num(point['quality'])} at {_pct(point['budget_share'])} of "
        f"the best model's cost ({point['verifier']}, held out); {point['reading']}"
    )
    click.echo("  scorer settings fitted on all these rows, per task (for the cascade plugin):")
    for fit in report["scorer_settings"]:
        click.echo(
            f"    {fit['task']} ({' + '.join(fit['pair'])}): weights {fit['weights']}, "
            f"intercept {fit['intercept']}"
        )


def _finite(value: Any) -> Any:
    """JSON-ready: numpy scalars as numbers, infinities and NaN as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _curve_rows(sweep: Any, rows: int = 0) -> list[tuple[float, float, float, float]]:
    """The sweep's distinct points in knob order (about ``rows`` of them, evenly by cost)."""
    points: list[tuple[float, float, float, float]] = []
    for s, c, q, sh in zip(sweep.settings, sweep.cost, sweep.quality, sweep.share, strict=True):
        if not points or (c, q) != points[-1][1:3]:
            points.append((s, c, q, sh))
    if rows and len(points) > rows:
        marks = np.linspace(points[0][1], points[-1][1], rows)
        picked = {min(range(len(points)), key=lambda i: abs(points[i][1] - m)) for m in marks}
        points = [points[i] for i in sorted(picked)]
    return points


def _print_eval(
    report: dict[str, Any], figs: dict[str, Any], all_sweeps: dict[str, Any], latency: Any
) -> None:
    best = report["best_single_model"]
    if report["command"]:
        click.echo(f"command:  {report['command']}")
    click.echo(f"protocol: {report['protocol']}")
    click.echo(
        f"data:     {report['prompts']} prompts with every model's score; costs {report['costs']}"
    )
    for note in report["notes"]:
        click.echo(f"          note: {note}")
    click.echo(
        f"best single model (chosen on the training folds): {best['model']}, quality "
        f"{best['quality']:.3f} at {_usd(best['cost_usd'])}"
    )
    order = [
        "router_utility",
        "router_threshold",
        "per_task",
        "random_mix",
        "cheapest",
        "best_single",
        "oracle",
    ]
    click.echo("")
    click.echo("quality against cost (decisions use each prompt's predicted cost):")
    click.echo(f"  {'method':28} {'q@10%':>6} {'q@35%':>6} {'cost to match':>13} {'max q':>6}")
    for key in order:
        f = figs[key]
        click.echo(
            f"  {f.name:28} {_num(f.quality_at_10):>6} {_num(f.quality_at_35):>6} "
            f"{_pct(f.cost_to_match):>13} {f.best_quality:>6.3f}"
        )
    click.echo(
        "  q@10% / q@35%: the best quality within 10% / 35% of the best single model's cost; "
        "cost to match: the cost at which the curve first reaches its quality, as a share "
        "of its cost"
    )
    click.echo("")
    click.echo(
        f"strong-model calls, RouteLLM's metrics (decisions price every call to a model "
        f"alike; strong model: {best['model']}):"
    )
    click.echo(
        f"  {'method':28} {'CPT50':>6} {'CPT80':>6} {'CPT95':>6} "
        f"{'calls for 95% q':>15} {'APGR':>6}"
    )
    for key in order:
        f = figs[key]
        if f.apgr is None:
            continue
        click.echo(
            f"  {f.name:28} {_pct(f.cpt50):>6} {_pct(f.cpt80):>6} {_pct(f.cpt95):>6} "
            f"{_pct(f.share_95_quality):>15} {_num(f.apgr):>6}"
        )
    click.echo(
        "  CPTx: share of prompts sent to the strong model to recover x% of the quality gap "
        "from the cheapest model to it; calls for 95% q: share to reach 95% of its quality; "
        "APGR: the gap recovered, averaged over all shares"
    )
    click.echo("")
    click.echo("router (utility) against the best model per task, by budget:")
    click.echo(f"  {'budget':>8} {'router':>7} {'per task':>8} {'difference':>10}")
    for row in report["against_per_task"]:
        q, r = row["router"], row["per_task"]
        diff = "—" if q is None or r is None else f"{q - r:+.4f}"
        click.echo(f"  {100 * row['budget_share']:>7.0f}% {_num(q):>7} {_num(r):>8} {diff:>10}")
    click.echo(
        "  budget: share of the best single model's cost; one prompt is "
        f"{1 / report['prompts']:.4f} of quality"
    )
    click.echo("")
    click.echo("how well the router tells success from failure (ROC AUC; 0.5 = chance):")
    click.echo(f"  {'model':44} {'pooled':>7} {'within task':>11}")
    for model, auc in report["auc"].items():
        click.echo(f"  {model:44} {auc['pooled']:>7.3f} {auc['within_task']:>11.3f}")
    click.echo("")
    click.echo("router (utility) curve:")
    click.echo(
        f"  {'willingness_to_pay':>18} {'cost':>12} {'% of best':>9} "
        f"{'strong calls':>12} {'quality':>8}"
    )
    for s, c, q, sh in _curve_rows(all_sweeps["router_utility"], 16):
        click.echo(
            f"  {s:>18.6g} {_usd(c):>12} {100 * c / best['cost_usd']:>8.1f}% "
            f"{100 * sh:>11.1f}% {q:>8.3f}"
        )
    click.echo("")
    click.echo(
        f"decision latency (score + order, this router file, {latency.decisions} prompts): "
        f"p50 {latency.wall_p50_us:.0f} µs, p99 {latency.wall_p99_us:.0f} µs wall; "
        f"CPU time p50 {latency.cpu_p50_us:.0f} µs, p99 {latency.cpu_p99_us:.0f} µs"
    )
    click.echo(f"plot: {report['plot']}")


# --- calibrate -------------------------------------------------------------------------------


@router_group.command("calibrate")
@click.option("--router", "router_path", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--strong-share",
    type=click.FloatRange(0, 1),
    default=None,
    help="Wanted share of prompts sent to the strong model.",
)
@click.option(
    "--target-quality",
    type=click.FloatRange(0, 1),
    default=None,
    help="Wanted mean score on FILES, at the least cost.",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=None,
    help="Knob to set (default: the router file's mode).",
)
@click.option(
    "--strong",
    "strong_model",
    default=None,
    help="The strong model (default: the router's most accurate).",
)
@click.option(
    "--folds",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Use k-fold out-of-fold predictions (for the router's own training files).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--write", is_flag=True, help="Store the knob as the router file's default.")
@price_option
@output_tokens_option
@files_argument
def calibrate_command(
    router_path: str,
    strong_share: float | None,
    target_quality: float | None,
    mode: str | None,
    strong_model: str | None,
    folds: int,
    seed: int,
    write: bool,
    prices: tuple[str, ...],
    output_tokens: int | None,
    files: tuple[str, ...],
) -> None:
    """Set the knob to hit a share of strong-model calls or a quality on FILES."""
    from .calibration import calibrate
    from .training import TrainOptions

    if (strong_share is None) == (target_quality is None):
        raise UsageFailure("give exactly one of --strong-share and --target-quality")
    router = _load(router_path)
    mode = mode or router.defaults.get("mode", "utility")
    strong = strong_model or router.strongest()
    if strong not in router.models:
        raise UsageFailure(f"--strong {strong!r} is not one of the router's models")
    table = _read(files, _price_table(prices, output_tokens))
    try:
        result = calibrate(
            router,
            table,
            mode=mode,
            strong=strong,
            strong_share=strong_share,
            target_quality=target_quality,
            folds=folds,
            seed=seed,
            options=TrainOptions.from_meta(router.meta.get("options", {})),
            progress=_note,
        )
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None
    knob = "willingness_to_pay" if mode == "utility" else "target"
    wanted = (
        f"{100 * strong_share:.1f}% strong-model calls ({strong})"
        if strong_share is not None
        else f"quality {target_quality:.3f}"
    )
    click.echo(f"For {wanted}: {knob} = {result.knob:.6g} ({mode} mode)")
    measured = (
        f"measured on {result.prompts} prompts ({result.basis}): "
        f"{100 * result.share:.1f}% strong-model calls"
    )
    if result.quality is not None and result.cost is not None:
        measured += f", quality {result.quality:.3f}, cost {_usd(result.cost)}"
    click.echo(measured)
    click.echo("config:")
    click.echo(
        "  plugins:\n    settings:\n      router:\n"
        f"        mode: {mode}\n        {knob}: {result.knob:.6g}"
    )
    if write:
        router.set_defaults(mode=mode, **{knob: float(f"{result.knob:.6g}")})
        router.save(router_path)
        click.echo(f"stored as the default of {router_path}")


# --- feedback --------------------------------------------------------------------------------


@router_group.command("feedback")
@click.option(
    "--outcomes",
    "outcomes_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The outcome log (plugins.settings.router.outcomes).",
)
@click.argument("request_id")
@click.argument("verdict", type=click.Choice(["up", "down"]))
def feedback_command(outcomes_path: str, request_id: str, verdict: str) -> None:
    """Append a thumbs up or down on REQUEST_ID to the outcome log; 'router train' joins it."""
    line = {
        "request_id": request_id,
        "verdict": verdict == "up",
        "source": "feedback",
        "timestamp": time.time(),
    }
    try:
        with Path(outcomes_path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    except OSError as exc:
        raise UsageFailure(f"--outcomes {outcomes_path}: cannot write: {exc.strerror}") from None
    click.echo(f"recorded {verdict} for {request_id}")
