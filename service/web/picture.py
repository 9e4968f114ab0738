"""A picture of a case's neighbourhood in the graph: read it, lay it out, draw it as SVG.

``neighbourhood`` reads the case and what is around it, nearest first, in one query.
``render_svg`` lays it out with networkx's spring layout (the case pinned at the centre, a
fixed seed, so the same neighbourhood always gives the same picture) and draws it: circles
coloured by kind, relationships as lines, short labels placed where they collide with nothing
(a label with no free place is left out; every node and line keeps a tooltip with its full
text), and a legend of the kinds shown. Ids, names and values come from users, so every text
is XML-escaped.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import networkx as nx  # type: ignore[import-untyped]
from markupsafe import Markup

from service.graph.cases import CaseNotFound
from service.graph.db import Graph

# --- reading ------------------------------------------------------------------------------

LAST_EVENTS = 5
"""Events of the case shown: the latest few; the timeline has them all."""

# Nearest first: the case (0); its parties, evidence, routing decisions and latest events (1);
# its parties' identifiers and the other cases of its parties (2); other parties sharing an
# identifier with its parties (3) and their cases (4). Within a distance, cases come first and
# events last, so that a limit keeps links to other cases before the case's own history. A node
# is kept only after every node nearer than it, so what is kept is connected to the case.
NEIGHBOURHOOD: LiteralString = """
MATCH (c:Case {id: $id})
WITH c, [{node: c, distance: 0}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO|SUPPORTS|CONTRADICTS|OPENED]-(n)
      WHERE n:Party OR n:Evidence OR n:RoutingDecision
      RETURN DISTINCT n
    } | {node: n, distance: 1}]
  + [n IN COLLECT {
      MATCH (c)<-[:IN_CASE]-(n:Event)
      RETURN n ORDER BY n.at DESC, n.id DESC LIMIT $events
    } | {node: n, distance: 1}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(:Party)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->(n)
      RETURN DISTINCT n
    } | {node: n, distance: 2}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(:Party)-[:PARTY_TO]->(n:Case)
      WHERE n <> c
      RETURN DISTINCT n
    } | {node: n, distance: 2}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(p:Party)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->()
            <-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]-(n:Party)
      WHERE n <> p
      RETURN DISTINCT n
    } | {node: n, distance: 3}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(p:Party)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->()
            <-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]-(q:Party)-[:PARTY_TO]->(n:Case)
      WHERE q <> p AND n <> c
      RETURN DISTINCT n
    } | {node: n, distance: 4}] AS reached
UNWIND reached AS r
WITH r.node AS n, min(r.distance) AS distance
WITH n, distance,
  CASE WHEN n:Case THEN 'Case' WHEN n:Person THEN 'Person'
       WHEN n:Organisation THEN 'Organisation' WHEN n:Address THEN 'Address'
       WHEN n:Phone THEN 'Phone' WHEN n:Email THEN 'Email'
       WHEN n:BankAccount THEN 'BankAccount' WHEN n:Evidence THEN 'Evidence'
       WHEN n:Event THEN 'Event' ELSE 'RoutingDecision' END AS kind
ORDER BY distance,
  CASE kind WHEN 'Case' THEN 0 WHEN 'Person' THEN 1 WHEN 'Organisation' THEN 1
            WHEN 'Evidence' THEN 3 WHEN 'RoutingDecision' THEN 4 WHEN 'Event' THEN 5
            ELSE 2 END,
  kind, coalesce(n.id, n.value)
WITH collect({node: n, kind: kind, distance: distance,
              props: n {.id, .value, .name, .type, .status, .kind, .flagged, .effect,
                        .verified, .ruleset, at: toString(n.at)}}) AS found
WITH found[..$limit] AS kept, size(found) AS reachable
WITH kept, reachable, [k IN kept | k.node] AS nodes
RETURN reachable,
  [k IN kept | {element: elementId(k.node), kind: k.kind, distance: k.distance,
                props: k.props}] AS nodes,
  COLLECT {
    UNWIND nodes AS a
    MATCH (a)-[r:PARTY_TO|HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT|SUPPORTS|CONTRADICTS
               |CONCERNS|IN_CASE|OPENED]->(b)
    WHERE b IN nodes
    RETURN {source: elementId(a), target: elementId(b), type: type(r), role: r.role} AS edge
  } AS edges
"""


@dataclass(frozen=True)
class Node:
    """One node of the picture."""

    key: str  # unique in the picture: kind and id (or value), "Case:CLM-000001"
    kind: str  # one of KINDS
    name: str  # what its label shows, shortened when drawn
    title: str  # the full description: its tooltip
    distance: int = 0  # steps from the case
    flagged: bool = False


@dataclass(frozen=True)
class Edge:
    """A relationship between two nodes of the picture (several roles make one edge)."""

    source: str  # node keys
    target: str
    type: str
    detail: str = ""  # the roles of PARTY_TO


@dataclass(frozen=True)
class Neighbourhood:
    """A case (the first node) and the nodes around it, nearest first, with their edges."""

    case_id: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    reachable: int = 0  # nodes within reach before the limit; more than len(nodes) if cut


KINDS: dict[str, tuple[str, str]] = {
    # kind: (colour, legend name). Okabe-Ito colours first (told apart with colour blindness).
    "Case": ("#0072B2", "Case"),
    "Person": ("#E69F00", "Person"),
    "Organisation": ("#D55E00", "Organisation"),
    "Address": ("#009E73", "Address"),
    "Phone": ("#56B4E9", "Phone"),
    "Email": ("#CC79A7", "E-mail"),
    "BankAccount": ("#F0E442", "Bank account"),
    "Evidence": ("#8C564B", "Evidence"),
    "Event": ("#A0A0A0", "Event"),
    "RoutingDecision": ("#6A3D9A", "Routing decision"),
}
# Kinds whose end tells them apart (ids, numbers): a shortened label keeps the end.
_KEEP_END = frozenset({"Case", "Phone", "BankAccount", "RoutingDecision"})


def _edges(n: Neighbourhood) -> list[Edge]:
    """The edges whose both ends are nodes of the neighbourhood."""
    keys = {node.key for node in n.nodes}
    return [e for e in n.edges if e.source in keys and e.target in keys]


def _node(kind: str, distance: int, props: dict[str, Any]) -> Node:
    ident = str(props.get("id") or props.get("value") or "?")
    flagged = bool(props.get("flagged"))
    legend = KINDS[kind][1]
    if kind == "Case":
        name = ident
        more = ", ".join(str(props[k]) for k in ("type", "status") if props.get(k))
        title = f"Case {ident}" + (f" ({more})" if more else "")
    elif kind in ("Person", "Organisation"):
        name = str(props.get("name") or ident)
        title = f"{legend} {name} ({ident})" + (", flagged" if flagged else "")
    elif kind == "Evidence":
        name = str(props.get("kind") or ident)
        verified = "verified" if props.get("verified") else "unverified"
        title = f"Evidence {ident}: {name}, {props.get('effect') or 'supports'}, {verified}"
    elif kind == "Event":
        name = str(props.get("kind") or ident)
        title = f"Event {ident}: {name}" + (f" at {props['at']}" if props.get("at") else "")
    elif kind == "RoutingDecision":
        name = str(props.get("ruleset") or ident)
        title = f"Routing decision {ident} ({name})"
    else:
        name = ident
        title = f"{legend} {ident}"
    return Node(f"{kind}:{ident}", kind, name, title, distance, flagged)


def neighbourhood(
    graph: Graph, case_id: str, limit: int = 50, *, events: int = LAST_EVENTS
) -> Neighbourhood:
    """Give the case and up to ``limit`` nodes around it (the case included), nearest first."""
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    rows = graph.read(NEIGHBOURHOOD, id=case_id, limit=limit, events=events)
    # The query aggregates, so it gives one row even without the case, with no nodes.
    row = rows[0] if rows else {"nodes": []}
    if not row["nodes"]:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    keys: dict[str, str] = {}
    nodes: list[Node] = []
    for item in row["nodes"]:
        node = _node(item["kind"], item["distance"], item["props"])
        keys[item["element"]] = node.key
        nodes.append(node)
    roles: dict[tuple[str, str, str], list[str]] = {}
    for edge in row["edges"]:
        found = roles.setdefault((keys[edge["source"]], keys[edge["target"]], edge["type"]), [])
        if edge["role"]:
            found.append(str(edge["role"]))
    edges = [Edge(s, t, kind, ", ".join(sorted(r))) for (s, t, kind), r in sorted(roles.items())]
    return Neighbourhood(case_id, tuple(nodes), tuple(edges), row["reachable"])


# --- drawing ------------------------------------------------------------------------------

SEED = 7
FONT = "11"
FONT_SIZE = 11.0
CHAR_WIDTH = 0.6 * FONT_SIZE  # a monospace cell; textLength holds every label to it
ASCENT, DESCENT = 0.8 * FONT_SIZE, 0.25 * FONT_SIZE  # of a label's box above/below its baseline
LABEL_CELLS = 16  # the most a label takes (in monospace cells)
SHORT_CELLS = 9  # a label with no room at full length is tried again this short
GAP = 3.0  # between a circle and its label
RADIUS = {"focus": 14.0, "Case": 10.0, "other": 7.0}
MARGIN = 18.0  # between the canvas edge and a circle's centre
LEGEND_ROW = 18.0
STRETCH = 1.5  # most one side of the case is stretched more than the other
SEPARATE_ROUNDS = 20  # of pushing overlapping circles apart
FONT_FAMILY = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"

Box = tuple[float, float, float, float]  # left, top, right, bottom
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """``text`` made safe for XML text and attribute values (characters XML forbids replaced)."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def _cells(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> float:
    """The width of ``text`` drawn as a label (monospace cells; wide characters take two)."""
    return sum(_cells(ch) for ch in text) * CHAR_WIDTH


def shorten(text: str, cells: int, *, keep_end: bool = False) -> str:
    """Give ``text`` in at most ``cells`` cells, with an ellipsis where it was cut."""
    text = " ".join(text.split())
    if sum(_cells(ch) for ch in text) <= cells:
        return text
    chars = list(reversed(text)) if keep_end else list(text)
    kept: list[str] = []
    used = 1  # the ellipsis
    for ch in chars:
        if used + _cells(ch) > cells:
            break
        kept.append(ch)
        used += _cells(ch)
    return "…" + "".join(reversed(kept)) if keep_end else "".join(kept) + "…"


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grow(box: Box, by: float = 1.0) -> Box:
    """Give ``box`` with a clearance around it."""
    # Coordinates are drawn rounded: boxes that just touch must not come to overlap.
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


def _radius(node: Node, focus: bool) -> float:
    return RADIUS["focus"] if focus else RADIUS["Case" if node.kind == "Case" else "other"]


@dataclass(frozen=True)
class Label:
    """A label placed on the canvas: its text, baseline start and box."""

    key: str
    text: str
    x: float
    y: float
    box: Box


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


def layout(n: Neighbourhood, width: float, height: float) -> dict[str, tuple[float, float]]:
    """Give each node's centre on a canvas of ``width`` by ``height`` (the case's at its centre).

    A radial start (each ring of distance ordered by the angle of its nearer neighbours) refined
    by networkx's spring layout with the case pinned, then stretched to fill the canvas.
    """
    if not n.nodes:
        return {}
    g = nx.Graph()
    g.add_nodes_from(node.key for node in n.nodes)
    g.add_edges_from((e.source, e.target) for e in _edges(n) if e.source != e.target)
    focus = n.nodes[0].key
    pos = nx.spring_layout(
        g,
        pos=_radial_start(g, n),
        fixed=[focus],
        k=1.6 / math.sqrt(len(n.nodes)),
        iterations=80,
        seed=SEED,
    )
    radius = {node.key: _radius(node, node.key == focus) for node in n.nodes}
    points = [(float(pos[k][0]), float(pos[k][1])) for k in g.nodes]
    xs = _stretch([x for x, _ in points], width / 2 - MARGIN)
    ys = _stretch([y for _, y in points], height / 2 - MARGIN)
    centres = [(width / 2 + x, height / 2 + y) for x, y in zip(xs, ys, strict=True)]
    _separate(centres, [radius[k] for k in g.nodes], width, height)
    return dict(zip(g.nodes, centres, strict=True))


def _radial_start(g: Any, n: Neighbourhood) -> dict[str, tuple[float, float]]:
    """Give each node a start on the circle of its distance, in the order of its neighbours."""
    focus = n.nodes[0].key
    start: dict[str, tuple[float, float]] = {focus: (0.0, 0.0)}
    angle: dict[str, float] = {}

    def towards(node: Node) -> float:
        """The mean angle of the node's neighbours on nearer circles (none: after the rest)."""
        near = [angle[m] for m in g.neighbors(node.key) if m in angle]
        if not near:
            return math.inf
        mean = math.atan2(sum(math.sin(a) for a in near), sum(math.cos(a) for a in near))
        return mean % (2 * math.pi)

    rings: dict[int, list[Node]] = {}
    for node in n.nodes[1:]:
        rings.setdefault(max(node.distance, 1), []).append(node)
    for distance, ring in sorted(rings.items()):
        order = sorted(range(len(ring)), key=lambda i: (towards(ring[i]), i))
        for slot, i in enumerate(order):
            a = 2 * math.pi * slot / len(ring) + distance * 0.35
            angle[ring[i].key] = a
            start[ring[i].key] = (distance * math.cos(a), distance * math.sin(a))
    return start


def _stretch(values: list[float], reach: float) -> list[float]:
    """Scale each side of 0 on its own towards ``reach``, so a lopsided layout fills the canvas.

    The emptier side is stretched at most ``STRETCH`` times as much as the fuller one, so
    that its few nodes are not flung to the edge.
    """
    high = max((v for v in values if v > 0), default=0.0)
    low = -min((v for v in values if v < 0), default=0.0)
    if not high and not low:
        return [0.0 for _ in values]
    up, down = reach / (high or low), reach / (low or high)
    up, down = min(up, down * STRETCH), min(down, up * STRETCH)
    return [v * (up if v > 0 else down) for v in values]


def _separate(
    centres: list[tuple[float, float]], radii: list[float], width: float, height: float
) -> None:
    """Push overlapping circles apart (the case's stays put), keeping them inside the canvas."""
    for _ in range(SEPARATE_ROUNDS):
        moved = False
        for i in range(len(centres)):
            for j in range(i + 1, len(centres)):
                (xi, yi), (xj, yj) = centres[i], centres[j]
                need = radii[i] + radii[j] + GAP
                dx, dy = xj - xi, yj - yi
                gap = math.hypot(dx, dy)
                if gap >= need:
                    continue
                if gap == 0:
                    dx, dy, gap = 1.0, 0.0, 1.0
                push = (need - gap) / gap
                # the case (index 0) never moves: its partner takes the whole push
                share_i = 0.0 if i == 0 else 0.5
                share_j = 1.0 - share_i
                centres[i] = _inside(
                    xi - dx * push * share_i, yi - dy * push * share_i, width, height
                )
                centres[j] = _inside(
                    xj + dx * push * share_j, yj + dy * push * share_j, width, height
                )
                moved = True
        if not moved:
            return


def _inside(x: float, y: float, width: float, height: float) -> tuple[float, float]:
    return min(max(x, MARGIN), width - MARGIN), min(max(y, MARGIN), height - MARGIN)


def place_labels(
    n: Neighbourhood, centres: dict[str, tuple[float, float]], area: Box
) -> list[Label]:
    """Place a label next to each node where it overlaps no circle and no other label.

    The case first, then nearest first; a label tries eight places around its node, at full
    length and then shorter, and is left out if none is free (its node keeps its tooltip).
    """
    focus = n.nodes[0].key if n.nodes else ""
    circles = [
        (x - r - 1, y - r - 1, x + r + 1, y + r + 1)
        for node in n.nodes
        for x, y in [centres[node.key]]
        for r in [_radius(node, node.key == focus)]
    ]
    taken: list[Box] = []
    labels: list[Label] = []
    for node in n.nodes:
        x, y = centres[node.key]
        r = _radius(node, node.key == focus) + GAP
        keep_end = node.kind in _KEEP_END
        texts = dict.fromkeys(
            shorten(node.name, cells, keep_end=keep_end) for cells in (LABEL_CELLS, SHORT_CELLS)
        )
        for text in texts:
            w, h = text_width(text), ASCENT + DESCENT
            spots = [  # top-left corners: right, left, below, above, then the diagonals
                (x + r, y - h / 2),
                (x - r - w, y - h / 2),
                (x - w / 2, y + r),
                (x - w / 2, y - r - h),
                (x + r * 0.7, y + r * 0.7),
                (x + r * 0.7, y - r * 0.7 - h),
                (x - r * 0.7 - w, y + r * 0.7),
                (x - r * 0.7 - w, y - r * 0.7 - h),
            ]
            placed = next(
                (
                    box
                    for left, top in spots
                    for box in [(left, top, left + w, top + h)]
                    if area[0] <= box[0]
                    and box[2] <= area[2]
                    and area[1] <= box[1]
                    and box[3] <= area[3]
                    and not any(_overlaps(_grow(box), other) for other in taken)
                    and not any(_overlaps(_grow(box), c) for c in circles)
                ),
                None,
            )
            if placed is not None:
                taken.append(placed)
                labels.append(Label(node.key, text, placed[0], placed[1] + ASCENT, placed))
                break
    return labels


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


def render_svg(n: Neighbourhood, width: int = 900, height: int = 600) -> Markup:
    """Draw the neighbourhood as an SVG document (the same neighbourhood, the same bytes).

    Markup, because every text in it is escaped here: a page shows it as it is.
    """
    kinds = [kind for kind in KINDS if any(node.kind == kind for node in n.nodes)]
    legend = _legend(kinds, width)
    legend_height = (legend[-1][2] + LEGEND_ROW + 8) if legend else 0.0
    plot_height = height - legend_height
    centres = layout(n, width, plot_height)
    labels = place_labels(n, centres, (2.0, 2.0, width - 2.0, plot_height - 2.0))
    focus = n.nodes[0].key if n.nodes else ""
    names = {node.key: node.name for node in n.nodes}
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
    for edge in _edges(n):
        (x1, y1), (x2, y2) = centres[edge.source], centres[edge.target]
        kind = edge.type + (f" ({edge.detail})" if edge.detail else "")
        tip = f"{names[edge.source]} —{kind}→ {names[edge.target]}"
        dash = ' stroke-dasharray="4 3"' if edge.type == "CONTRADICTS" else ""
        coords = f'x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}"'
        out.append(
            f'<g class="edge" data-type="{_xml(edge.type)}"><title>{_xml(tip)}</title>'
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
            else ""
        )
        out.append(
            f'<g class="node{" focus" if is_focus else ""}" data-kind="{node.kind}">'
            f"<title>{_xml(node.title)}</title>"
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(_radius(node, is_focus))}" '
            f'fill="{KINDS[node.kind][0]}"{stroke}/></g>'
        )
    out.append(
        f'</g>\n<g class="labels" font-family="{_xml(FONT_FAMILY)}" font-size="{FONT}" '
        'fill="#1a1a1a" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" '
        'paint-order="stroke">'
    )
    for label in labels:
        bold = ' font-weight="bold"' if label.key == focus else ""
        out.append(
            f'<text x="{_f(label.x)}" y="{_f(label.y)}" textLength="{_f(width_of(label))}" '
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


def width_of(label: Label) -> float:
    """The width a placed label is drawn at (its box's)."""
    return label.box[2] - label.box[0]


def neighbourhood_svg(graph: Graph, case_id: str, limit: int = 50) -> Markup:
    """Give the SVG picture of the case's neighbourhood; CaseNotFound for an unknown case."""
    return render_svg(neighbourhood(graph, case_id, limit))
