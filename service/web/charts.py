"""Charts drawn on the server as SVG: readable without JavaScript, and by screen readers.

Each chart has a ``<title>`` and a ``<desc>`` that say what it shows; the page puts the same
figures in a table next to it. Labels and values are escaped here (the markup is passed to the
templates as safe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 250  # "escalate-to-complaints-manager" (30 characters at 13 px) fits
VALUE_WIDTH = 90
COLUMN_HEIGHT = 160


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length (``value``) and the text shown at its end."""

    label: str
    value: float
    text: str
    kind: str = ""  # a CSS class suffix, e.g. "warn" for a bar worth a look


def _svg(width: int, height: int, title: str, desc: str, body: list[str], css: str) -> Markup:
    head = (
        f'<svg class="chart {css}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )
    return Markup(head + "".join(body) + "</svg>")


def bars(title: str, rows: Sequence[Bar], *, maximum: float | None = None) -> Markup:
    """A horizontal bar chart, one bar per row; lengths scale to ``maximum`` (or the largest)."""
    top = maximum if maximum is not None else max((r.value for r in rows), default=0.0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    body: list[str] = []
    for i, row in enumerate(rows):
        y = BAR_GAP + i * (BAR_HEIGHT + BAR_GAP)
        length = 0.0 if top <= 0 else max(row.value, 0.0) / top * span
        label = row.label if len(row.label) <= 30 else row.label[:29] + "…"
        middle = y + BAR_HEIGHT * 0.7
        body.append(
            f'<g class="bar {escape(row.kind)}"><title>{escape(row.label)}: {escape(row.text)}'
            f'</title><text x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{middle:.1f}">{escape(row.text)}</text>'
            "</g>"
        )
    if not rows:
        body.append(f'<text x="{LABEL_WIDTH}" y="{BAR_HEIGHT}">nothing yet</text>')
    described = "; ".join(f"{r.label}: {r.text}" for r in rows) or "nothing yet"
    return _svg(WIDTH, height, title, described, body, "bars")


def columns(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> Markup:
    """A stacked column chart: one column per label, one stacked part per series.

    ``series`` is (name, values) pairs, the values in the order of ``labels``. The first and the
    last labels are written under the axis, with the largest total at the top.
    """
    count = max(len(labels), 1)
    left, top_pad = 48, 12
    plot = WIDTH - left - 8
    step = plot / count
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top = max(totals, default=0.0)
    body: list[str] = [
        f'<line class="axis" x1="{left}" y1="{top_pad + COLUMN_HEIGHT}" x2="{WIDTH - 8}" '
        f'y2="{top_pad + COLUMN_HEIGHT}"/>',
        f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end">{_number(top)}</text>',
        f'<text x="{left - 6}" y="{top_pad + COLUMN_HEIGHT}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x = left + i * step + step * 0.1
        y = float(top_pad + COLUMN_HEIGHT)
        parts = []
        for s, (name, values) in enumerate(series):
            value = values[i]
            h = 0.0 if top <= 0 else value / top * COLUMN_HEIGHT
            y -= h
            parts.append(
                f'<rect class="s{s}" x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" '
                f'height="{h:.1f}"><title>{escape(label)} {escape(name)}: {_number(value)}'
                "</title></rect>"
            )
        body.append("<g>" + "".join(parts) + "</g>")
    if labels:
        base = top_pad + COLUMN_HEIGHT + 18
        body.append(f'<text x="{left}" y="{base}">{escape(labels[0])}</text>')
        if len(labels) > 1:
            body.append(
                f'<text x="{WIDTH - 8}" y="{base}" text-anchor="end">{escape(labels[-1])}</text>'
            )
    else:
        body.append(f'<text x="{left + 8}" y="{top_pad + 40}">nothing yet</text>')
    legend_y = top_pad + COLUMN_HEIGHT + 32
    for s, (name, _) in enumerate(series):
        x = left + s * 160
        body.append(
            f'<rect class="s{s}" x="{x}" y="{legend_y - 9}" width="10" height="10"/>'
            f'<text x="{x + 14}" y="{legend_y}">{escape(name)}</text>'
        )
    total_all = sum(totals)
    desc = (
        f"{len(labels)} columns from {labels[0]} to {labels[-1]}, {_number(total_all)} in all"
        if labels
        else "nothing yet"
    )
    return _svg(WIDTH, top_pad + COLUMN_HEIGHT + 40, title, desc, body, "cols")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
