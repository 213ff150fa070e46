"""Inline SVG charts drawn in Python: no script, no network, readable at any width.

Each function returns one ``<svg>`` element whose ``viewBox`` scales with its container
(the page's CSS makes it 100% wide). Every bar carries a ``<title>``, so hovering (or a
long press on a phone) shows its exact figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from html import escape

WIDTH = 600
HEIGHT = 160
PAD_LEFT = 56
PAD_BOTTOM = 22
PAD_TOP = 8

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563")


def _tick(value: float, money: bool) -> str:
    if money:
        return f"${value:.4f}" if value < 1 else f"${value:,.2f}"
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def _when(timestamp: float, span: float) -> str:
    fmt = "%H:%M" if span <= 86_400 else "%d %b"
    return time.strftime(fmt, time.localtime(timestamp))


def bars(
    label: str,
    starts: Sequence[float],
    values: Sequence[float],
    *,
    width_s: float,
    money: bool = False,
    color: str = PALETTE[0],
    overlay: Sequence[float] | None = None,
    overlay_color: str = PALETTE[4],
    describe: Callable[[int], str] | None = None,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> str:
    """A bar per time bucket; ``overlay`` draws a second series (failures, say) on top.

    :param size: the ``viewBox`` (width, height): text keeps its size relative to it, so
        a chart meant for a narrow card gets a narrower box.
    """
    width, height = size
    n = max(1, len(values))
    top = max([*values, *(overlay or ()), 0.0]) or 1.0
    plot_w = width - PAD_LEFT - 4
    plot_h = height - PAD_BOTTOM - PAD_TOP
    step = plot_w / n
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{width - 4}" '
        f'y2="{PAD_TOP + plot_h}" class="axis"/>',
    ]
    for fraction in (0.5, 1.0):
        y = PAD_TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(_tick(top * fraction, money))}</text>"
        )
    for series, fill in ((values, color), (overlay or (), overlay_color)):
        for i, value in enumerate(series):
            if value <= 0:
                continue
            h = max(1.0, plot_h * value / top)
            x = PAD_LEFT + i * step + step * 0.1
            title = describe(i) if describe else _tick(value, money)
            parts.append(
                f'<rect x="{x:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{step * 0.8:.1f}" '
                f'height="{h:.1f}" fill="{fill}"><title>{escape(title)}</title></rect>'
            )
    if starts:
        span = width_s * n
        for i in (0, n // 2, n - 1):
            x = PAD_LEFT + i * step + step / 2
            anchor = "start" if i == 0 else ("end" if i == n - 1 else "middle")
            parts.append(
                f'<text x="{x:.1f}" y="{height - 6}" class="tick" text-anchor="{anchor}">'
                f"{escape(_when(starts[i], span))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


MIX_WIDTH = 400


def mix(label: str, counts: dict[str, int]) -> str:
    """Horizontal bars, one per key, largest first, with count and share."""
    total = sum(counts.values())
    if not total:
        return '<p class="empty">nothing in this period</p>'
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    row = 26
    height = row * len(items) + 4
    top = items[0][1]
    parts = [
        f'<svg class="mix" viewBox="0 0 {MIX_WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    for i, (name, count) in enumerate(items):
        y = 2 + i * row
        w = max(2.0, (MIX_WIDTH - 230) * count / top)
        share = 100 * count / total
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="0" y="{y + 17}" class="label">{escape(name[:22])}</text>'
            f'<rect x="150" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}">'
            f"<title>{escape(name)}: {count} ({share:.1f}%)</title></rect>"
            f'<text x="{156 + w:.1f}" y="{y + 17}" class="value">{count} '
            f"({share:.0f}%)</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
