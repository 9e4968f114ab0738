"""The picture of a case's neighbourhood drawn as SVG, every text in it XML-escaped.

Circles coloured by kind (a shared identifier, a hub, larger and ringed; another case a link to
its page), relationships as lines (a contradiction dashed), the placed labels and a legend of the
kinds shown; events and their lines are marked (``data-kind``, ``data-ends``) so the page can
hide them (laid out after the rest, in the room it leaves, so hiding them leaves no hole);
every node and line has a tooltip with its full text, and the picture a title and a description
for people who cannot see it. Ids, names and values come from users, so every text is escaped
here and the result is ``Markup``.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Sequence
from urllib.parse import quote

from markupsafe import Markup

from service.graph.db import Graph
from service.graph.neighbourhood import NAMES, Neighbourhood, neighbourhood
from service.web.picture.labels import ASCENT, FONT, place_labels, text_width, width_of
from service.web.picture.layout import MARGIN, edges, layout, place_aside, radius

# Okabe-Ito colours first (told apart with colour blindness).
COLOURS = {
    "Case": "#0072B2",
    "Person": "#E69F00",
    "Organisation": "#D55E00",
    "Address": "#009E73",
    "Phone": "#56B4E9",
    "Email": "#CC79A7",
    "BankAccount": "#F0E442",
    "Evidence": "#8C564B",
    "Event": "#A0A0A0",
    "RoutingDecision": "#6A3D9A",
}
KINDS: dict[str, tuple[str, str]] = {kind: (COLOURS[kind], name) for kind, name in NAMES.items()}
"""Each kind's colour and legend name, in the legend's order."""

LEGEND_ROW = 18.0
FONT_FAMILY = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """``text`` made safe for XML text and attribute values (characters XML forbids replaced)."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def _legend(kinds: Sequence[str], canvas: float) -> list[tuple[str, float, float]]:
    """Give each kind's legend entry position (circle centre), flowing in rows at the bottom."""
    entries: list[tuple[str, float, float]] = []
    x, row = MARGIN, 0
    for kind in kinds:
        size = 16 + text_width(KINDS[kind][1]) + 14
        if x + size > canvas - MARGIN and x > MARGIN:
            x, row = MARGIN, row + 1
        entries.append((kind, x + 5, row * LEGEND_ROW))
        x += size
    return entries


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def describe(n: Neighbourhood) -> str:
    """Give a sentence summarising the neighbourhood, for people who cannot see the picture."""
    counts = Counter(node.kind for node in n.nodes[1:])
    parts = [
        _plural(counts["Person"] + counts["Organisation"], "party", "parties"),
        _plural(counts["Case"], "linked case", "linked cases"),
        _plural(
            sum(counts[k] for k in ("Address", "Phone", "Email", "BankAccount")),
            "identifier",
            "identifiers",
        ),
        _plural(counts["Evidence"], "piece of evidence", "pieces of evidence"),
        _plural(counts["Event"], "recent event", "recent events"),
    ]
    if counts["RoutingDecision"]:
        parts.append(_plural(counts["RoutingDecision"], "routing decision", "routing decisions"))
    flagged = sum(node.flagged for node in n.nodes)
    if flagged:
        parts.append(_plural(flagged, "flagged party", "flagged parties"))
    text = f"Case {n.case_id}: " + ", ".join(parts) + "."
    if n.reachable > len(n.nodes):
        text += f" The {len(n.nodes)} nearest of {n.reachable} nodes within reach are shown."
    return text


def _f(value: float) -> str:
    return f"{value:.1f}"


def render_svg(n: Neighbourhood, width: int = 1000, height: int = 680) -> Markup:
    """Draw the neighbourhood as an SVG document (the same neighbourhood, the same bytes).

    Markup, because every text in it is escaped here: a page shows it as it is.
    """
    kinds = [kind for kind in KINDS if any(node.kind == kind for node in n.nodes)]
    legend = _legend(kinds, width)
    legend_height = (legend[-1][2] + LEGEND_ROW + 8) if legend else 0.0
    plot_height = height - legend_height
    # what is drawn by default first; the events (hidden until asked) then go where room is left
    area = (2.0, 2.0, width - 2.0, plot_height - 2.0)
    centres = layout(n, width, plot_height)
    labels = place_labels(n, centres, area)
    aside = place_aside(n, centres, width, plot_height, [label.box for label in labels])
    centres.update(aside)
    labels += place_labels(n, centres, area, clear=[label.box for label in labels], only=aside)
    focus = n.nodes[0].key if n.nodes else ""
    names = {node.key: node.name for node in n.nodes}
    kind_of = {node.key: node.kind for node in n.nodes}
    uid = "nb-" + hashlib.sha1(n.case_id.encode("utf-8", "replace")).hexdigest()[:10]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="neighbourhood" '
        f'aria-labelledby="{uid}-title {uid}-desc">',
        f'<title id="{uid}-title">{_xml(f"Neighbourhood of case {n.case_id} in the graph")}'
        "</title>",
        f'<desc id="{uid}-desc">{_xml(describe(n))}</desc>',
        f'<rect class="background" width="{width}" height="{height}" fill="#ffffff"/>',
        '<g class="edges" stroke="#8a949e" stroke-width="1.2">',
    ]
    for edge in edges(n):
        (x1, y1), (x2, y2) = centres[edge.source], centres[edge.target]
        kind = edge.type + (f" ({edge.detail})" if edge.detail else "")
        tip = f"{names[edge.source]} —{kind}→ {names[edge.target]}"
        dash = ' stroke-dasharray="4 3"' if edge.type == "CONTRADICTS" else ""
        event = "Event" in (kind_of[edge.source], kind_of[edge.target])
        ends = ' data-ends="Event"' if event else ""  # hidden with the events
        coords = f'x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}"'
        out.append(
            f'<g class="edge" data-type="{_xml(edge.type)}"{ends}><title>{_xml(tip)}</title>'
            f"<line {coords}{dash}/>"
            f'<line {coords} stroke-width="8" stroke-opacity="0"/></g>'
        )
    out.append('</g>\n<g class="nodes" stroke="#2b2b2b" stroke-width="1">')
    for node in n.nodes:
        x, y = centres[node.key]
        is_focus = node.key == focus
        stroke = (
            ' stroke="#111111" stroke-width="3"'
            if is_focus
            else ' stroke="#C00000" stroke-width="2.5"'
            if node.flagged
            else ' stroke="#111111" stroke-width="3" stroke-dasharray="5 2"'
            if node.hub
            else ""
        )
        classes = "node" + (" focus" if is_focus else "") + (" hub" if node.hub else "")
        shape = (
            f'<g class="{classes}" data-kind="{node.kind}" data-key="{_xml(node.key)}">'
            f"<title>{_xml(node.title)}</title>"
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(radius(node, is_focus))}" '
            f'fill="{KINDS[node.kind][0]}"{stroke}/></g>'
        )
        if node.kind == "Case" and not is_focus:  # another case: a link to its page
            href = "/cases/" + quote(node.key.split(":", 1)[1], safe=":")
            shape = f'<a href="{_xml(href)}" class="case-link">{shape}</a>'
        out.append(shape)
    hubs = {node.key for node in n.nodes if node.hub}
    out.append(
        f'</g>\n<g class="labels" font-family="{_xml(FONT_FAMILY)}" font-size="{FONT}" '
        'fill="#1a1a1a" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" '
        'paint-order="stroke">'
    )
    for label in labels:
        bold = ' font-weight="bold"' if label.key == focus or label.key in hubs else ""
        out.append(
            f'<text data-kind="{kind_of[label.key]}" x="{_f(label.x)}" y="{_f(label.y)}" '
            f'textLength="{_f(width_of(label))}" '
            f'lengthAdjust="spacingAndGlyphs"{bold}>{_xml(label.text)}</text>'
        )
    out.append(f'</g>\n<g class="legend" font-size="{FONT}" font-family="{_xml(FONT_FAMILY)}">')
    for kind, x, row in legend:
        colour, name = KINDS[kind]
        y = plot_height + 8 + row + LEGEND_ROW / 2
        out.append(
            f'<g data-kind="{kind}"><circle cx="{_f(x)}" cy="{_f(y)}" r="5" fill="{colour}" '
            f'stroke="#2b2b2b"/><text x="{_f(x + 9)}" y="{_f(y + ASCENT / 2 - 1)}" '
            f'fill="#1a1a1a">{_xml(name)}</text></g>'
        )
    out.append("</g>\n</svg>\n")
    return Markup("\n".join(out))


def neighbourhood_svg(graph: Graph, case_id: str, limit: int = 50) -> Markup:
    """Give the SVG picture of the case's neighbourhood; CaseNotFound for an unknown case."""
    return render_svg(neighbourhood(graph, case_id, limit))
