"""The dashboard page: server-rendered HTML, inline CSS and SVG, no script, no network.

One page per period (``?period=1h|1d|30d``). Each headline figure sits in an element with
a ``data-figure`` attribute naming the ``get_metrics`` field it shows and a ``data-value``
holding the exact value, so a test (or a scraper) reads what a person sees. The layout
is a grid of cards that wraps to one column on a phone.
"""

from __future__ import annotations

import time
from html import escape

from . import charts
from .figures import PERIODS, Figures

CSS = """
:root{--fg:#111827;--muted:#6b7280;--bg:#f9fafb;--card:#fff;--line:#e5e7eb;--ok:#16a34a;
--warn:#d97706;--bad:#dc2626;--accent:#2563eb}
@media (prefers-color-scheme:dark){:root{--fg:#e5e7eb;--muted:#9ca3af;--bg:#111827;
--card:#1f2937;--line:#374151}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:baseline;
padding:1rem 1.25rem;border-bottom:1px solid var(--line);background:var(--card)}
h1{font-size:1.15rem;margin:0}
nav a{display:inline-block;padding:.25rem .7rem;margin-right:.25rem;border-radius:999px;
color:var(--accent);text-decoration:none;border:1px solid var(--line)}
nav a.on{background:var(--accent);color:#fff;border-color:var(--accent)}
.meta{color:var(--muted);font-size:.85rem}
main{padding:1rem 1.25rem;display:grid;gap:1rem;
grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr))}
.cards{grid-column:1/-1;display:grid;gap:.75rem;
grid-template-columns:repeat(auto-fit,minmax(min(100%,10.5rem),1fr))}
.card,section{background:var(--card);border:1px solid var(--line);border-radius:.6rem;
padding:.8rem 1rem}
.card .v{font-size:1.45rem;font-weight:600;font-variant-numeric:tabular-nums}
.card .k{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}
.card .s{color:var(--muted);font-size:.8rem}
section h2{font-size:.95rem;margin:0 0 .5rem}
section.wide{grid-column:1/-1}
svg{width:100%;height:auto;display:block}
svg text{fill:var(--muted);font-size:12px}
svg .label{fill:var(--fg);font-size:13px}
svg .value{fill:var(--fg);font-size:12px}
svg .axis{stroke:var(--muted)}svg .grid{stroke:var(--line);stroke-dasharray:3 3}
table{width:100%;border-collapse:collapse;font-size:.85rem}
th,td{text-align:left;padding:.35rem .4rem;border-bottom:1px solid var(--line);
vertical-align:top}
th{color:var(--muted);font-weight:500}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.scroll svg.chart{min-width:560px}
.scroll table.failures{min-width:44rem}
.state-open{color:var(--bad);font-weight:600}.state-half_open{color:var(--warn);font-weight:600}
.state-closed{color:var(--ok)}
.empty,.note{color:var(--muted);font-size:.85rem;margin:.25rem 0}
code{font-size:.8rem;word-break:break-all}
"""


def _usd(value: float) -> str:
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _card(field: str, title: str, shown: str, value: object, sub: str = "") -> str:
    return (
        f'<div class="card"><div class="k">{escape(title)}</div>'
        f'<div class="v" data-figure="{field}" data-value="{escape(str(value))}">'
        f"{escape(shown)}</div>" + (f'<div class="s">{sub}</div>' if sub else "") + "</div>"
    )


def _cards(f: Figures) -> str:
    s = f.summary
    measured, estimated = s.measured, s.estimated
    baseline = s.baseline_model or ", ".join(s.extra.get("baseline_models") or []) or "n/a"
    return (
        '<div class="cards">'
        + _card(
            "total_requests",
            "Requests",
            f"{s.total_requests:,}",
            s.total_requests,
            f'<span data-figure="failed_requests" data-value="{s.failed_requests}">'
            f"{s.failed_requests:,} failed</span> · "
            f'<span data-figure="delegated_requests" data-value="{s.delegated_requests}">'
            f"{s.delegated_requests:,} delegated</span>",
        )
        + _card(
            "success_rate",
            "Success rate",
            f"{100 * s.success_rate:.1f}%",
            s.success_rate,
            f"{s.requests_per_minute:.3f} requests/min",
        )
        + _card(
            "total_cost_usd",
            "Cost",
            _usd(s.total_cost_usd),
            s.total_cost_usd,
            f"{_usd(s.avg_cost_usd)} per priced request",
        )
        + _card(
            "total_saved_usd",
            "Saved vs baseline",
            _usd(s.total_saved_usd),
            s.total_saved_usd,
            f"measured usage {_usd(measured.saved_usd)} · estimated usage "
            f"{_usd(estimated.saved_usd)}; baseline {escape(baseline)} "
            "(an estimate)",
        )
        + _card(
            "p50_duration_ms",
            "Latency p50",
            f"{s.p50_duration_ms:,.1f} ms",
            s.p50_duration_ms,
            f'p95 <span data-figure="p95_duration_ms" data-value="{s.p95_duration_ms}">'
            f"{s.p95_duration_ms:,.1f} ms</span> · p99 "
            f'<span data-figure="p99_duration_ms" data-value="{s.p99_duration_ms}">'
            f"{s.p99_duration_ms:,.1f} ms</span>",
        )
        + _card(
            "cache_hit_rate",
            "Cache hit rate",
            f"{100 * s.cache_hit_rate:.1f}%",
            s.cache_hit_rate,
            f'<span data-figure="total_tokens" data-value="{s.total_tokens}">'
            f"{s.total_tokens:,} tokens</span> · "
            f'<span data-figure="total_tokens_saved" data-value="{s.total_tokens_saved}">'
            f"{s.total_tokens_saved:,} saved</span>",
        )
        + "</div>"
    )


def _series(f: Figures) -> str:
    width = PERIODS[f.period][1]
    starts = [b.start for b in f.buckets]

    def at(i: int) -> str:
        b = f.buckets[i]
        return (
            f"{_when(b.start)} (+{f.bucket_label}): {b.requests} requests, {b.failed} failed, "
            f"cost {_usd(b.cost_usd)}, saved {_usd(b.saved_usd)}"
        )

    requests = charts.bars(
        "requests over time",
        starts,
        [b.requests for b in f.buckets],
        width_s=width,
        overlay=[b.failed for b in f.buckets],
        describe=at,
        size=(800, 220),
    )
    cost = charts.bars(
        "cost over time",
        starts,
        [b.cost_usd for b in f.buckets],
        width_s=width,
        money=True,
        color=charts.PALETTE[2],
        describe=at,
        size=(420, 200),
    )
    saved = charts.bars(
        "saving over time",
        starts,
        [max(0.0, b.saved_usd) for b in f.buckets],
        width_s=width,
        money=True,
        color=charts.PALETTE[1],
        describe=at,
        size=(420, 200),
    )
    per = f"per {f.bucket_label}"
    return (
        f'<section class="wide"><h2>Requests {per} (failed in red)</h2>'
        f'<div class="scroll">{requests}</div></section>'
        f"<section><h2>Cost {per}</h2>{cost}</section>"
        f"<section><h2>Saving vs baseline {per}</h2>{saved}</section>"
    )


def _breakers(f: Figures) -> str:
    refusals = {r.model: r for r in f.refusals}
    states = f.breaker_states
    models = sorted(set(refusals) | set(f.errors_by_model) | set(states or {}))
    if states is not None:
        models = [m for m in models if m in refusals or m in f.errors_by_model] + [
            m for m in models if m not in refusals and m not in f.errors_by_model
        ]
    if not models:
        return (
            "<section><h2>Circuit breakers</h2>"
            '<p class="empty">no breaker refusal and no failed call in this period</p></section>'
        )
    rows = []
    for model in models[:20]:
        state = (states or {}).get(model)
        refusal = refusals.get(model)
        reason = (
            f"{escape(refusal.reason)} <span class='meta'>({refusal.refusals}×, last "
            f"{_when(refusal.timestamp)})</span>"
            if refusal
            else ""
        )
        shown = state or "n/a"
        rows.append(
            f'<tr data-model="{escape(model)}"><td><code>{escape(model)}</code></td>'
            f'<td class="state-{escape(shown)}">{escape(shown)}</td>'
            f'<td class="num">{f.errors_by_model.get(model, 0)}</td><td>{reason}</td></tr>'
        )
    note = (
        "State: live, from this server."
        if states is not None
        else "State: n/a here (no server running in this process); refusals come from the "
        "stored requests."
    )
    return (
        '<section><h2>Circuit breakers</h2><div class="scroll"><table>'
        "<tr><th>model</th><th>state</th><th>failed calls</th><th>last refusal</th></tr>"
        + "".join(rows)
        + f'</table></div><p class="note">{note}</p></section>'
    )


def _failures(f: Figures) -> str:
    if not f.failures:
        return (
            '<section class="wide"><h2>Last failures</h2>'
            '<p class="empty">no failed request in this period</p></section>'
        )
    rows = "".join(
        f'<tr data-request="{escape(x.request_id)}"><td>{_when(x.timestamp)}</td>'
        f"<td>{escape(x.intent or '')}</td><td>{escape(x.tier or '')}</td>"
        f"<td><code>{escape(' → '.join(x.models))}</code></td>"
        f"<td>{escape(x.error_kind or '')}</td><td>{escape(x.error or '')}</td></tr>"
        for x in f.failures
    )
    return (
        '<section class="wide"><h2>Last failures</h2><div class="scroll"><table class="failures">'
        "<tr><th>when</th><th>intent</th><th>tier</th><th>models tried</th><th>kind</th>"
        f"<th>error</th></tr>{rows}</table></div></section>"
    )


def render(f: Figures) -> str:
    """The whole page for one period's figures."""
    s = f.summary
    nav = "".join(
        f'<a href="?period={p}"{" class=on" if p == f.period else ""}>{p}</a>' for p in PERIODS
    )
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in s.notes)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Dynamic Orchestrator · last {escape(f.period)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>Dynamic Orchestrator</h1><nav>{nav}</nav>"
        f'<span class="meta">last {escape(f.period)} to {_when(f.now)} · '
        f'<span data-figure="period" data-value="{escape(f.period)}">{escape(f.period)}</span>'
        "</span></header><main>"
        + _cards(f)
        + _series(f)
        + f"<section><h2>Model mix</h2>{charts.mix('model mix', s.model_distribution)}</section>"
        + f"<section><h2>Intent mix</h2>{charts.mix('intent mix', s.intent_distribution)}"
        "</section>"
        + _breakers(f)
        + _failures(f)
        + (f'<section class="wide"><h2>Notes</h2>{notes}</section>' if notes else "")
        + "</main></body></html>"
    )
