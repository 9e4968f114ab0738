"""Where each circle of the picture goes: networkx's spring layout from a radial start.

The case is pinned at the centre and the seed fixed, so the same neighbourhood always gives the
same layout; the layout is stretched to fill the canvas and overlapping circles pushed apart.
Only what the page draws by default is laid out so: the kinds it hides until asked (``HIDDEN``,
the events) are placed afterwards in free room near the case (``place_aside``), so hiding them
leaves no hole and showing them covers nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import networkx as nx  # type: ignore[import-untyped]

from service.graph.neighbourhood import Edge, Neighbourhood, Node

SEED = 7
GAP = 3.0  # between two circles, and between a circle and its label
RADIUS = {"focus": 16.0, "Case": 11.0, "hub": 13.0, "other": 8.0}
MARGIN = 18.0  # between the canvas edge and a circle's centre
STRETCH = 1.5  # most one side of the case is stretched more than the other
SEPARATE_ROUNDS = 20  # of pushing overlapping circles apart
HIDDEN = frozenset({"Event"})  # kinds the page hides until "Show events" is ticked

Box = tuple[float, float, float, float]  # left, top, right, bottom


def edges(n: Neighbourhood) -> list[Edge]:
    """The edges whose both ends are nodes of the neighbourhood."""
    keys = {node.key for node in n.nodes}
    return [e for e in n.edges if e.source in keys and e.target in keys]


def radius(node: Node, focus: bool) -> float:
    """The radius of a node's circle (the case's, ``focus``, is the largest)."""
    if focus:
        return RADIUS["focus"]
    return RADIUS["Case" if node.kind == "Case" else "hub" if node.hub else "other"]


def shown(n: Neighbourhood) -> Neighbourhood:
    """Give the neighbourhood as drawn by default: without the ``HIDDEN`` kinds (the case kept)."""
    kept = tuple(node for i, node in enumerate(n.nodes) if not i or node.kind not in HIDDEN)
    return Neighbourhood(n.case_id, kept, n.edges, n.reachable)


def layout(n: Neighbourhood, width: float, height: float) -> dict[str, tuple[float, float]]:
    """Give the centre of each node drawn by default on a ``width`` by ``height`` canvas.

    A radial start (each ring of distance ordered by the angle of its nearer neighbours) refined
    by networkx's spring layout with the case pinned at the centre, then stretched to fill the
    canvas. Nodes of the ``HIDDEN`` kinds get no centre here: ``place_aside`` gives theirs.
    """
    n = shown(n)
    if not n.nodes:
        return {}
    g = nx.Graph()
    g.add_nodes_from(node.key for node in n.nodes)
    g.add_edges_from((e.source, e.target) for e in edges(n) if e.source != e.target)
    focus = n.nodes[0].key
    pos = nx.spring_layout(
        g,
        pos=_radial_start(g, n),
        fixed=[focus],
        k=1.6 / math.sqrt(len(n.nodes)),
        iterations=80,
        seed=SEED,
    )
    radii = {node.key: radius(node, node.key == focus) for node in n.nodes}
    points = [(float(pos[k][0]), float(pos[k][1])) for k in g.nodes]
    xs = _stretch([x for x, _ in points], width / 2 - MARGIN)
    ys = _stretch([y for _, y in points], height / 2 - MARGIN)
    centres = [(width / 2 + x, height / 2 + y) for x, y in zip(xs, ys, strict=True)]
    _separate(centres, [radii[k] for k in g.nodes], width, height)
    return dict(zip(g.nodes, centres, strict=True))


def place_aside(
    n: Neighbourhood,
    centres: dict[str, tuple[float, float]],
    width: float,
    height: float,
    clear: Sequence[Box] = (),
) -> dict[str, tuple[float, float]]:
    """Give a centre to each node ``centres`` lacks (the hidden kinds), nearest the case first.

    Each goes to the first free place on rings around the case: clear of every circle and of
    the ``clear`` boxes (the labels drawn by default), inside the canvas. Where there is none,
    the place nearest the case inside the canvas.
    """
    if not n.nodes:
        return {}
    focus = n.nodes[0]
    fx, fy = centres[focus.key]
    taken = [
        (*centres[node.key], radius(node, node is focus)) for node in n.nodes if node.key in centres
    ]
    placed: dict[str, tuple[float, float]] = {}
    for node in n.nodes:
        if node.key in centres:
            continue
        r = radius(node, False)
        spots = list(_spots(fx, fy, radius(focus, True) + GAP + r, r, width, height))
        free = (
            (x, y)
            for x, y in spots
            if all(math.hypot(x - ox, y - oy) >= r + orad + GAP for ox, oy, orad in taken)
            and not any(_hits((x - r, y - r, x + r, y + r), box) for box in clear)
        )
        placed[node.key] = next(free, spots[0] if spots else (fx, fy))
        taken.append((*placed[node.key], r))
    return placed


def _spots(
    fx: float, fy: float, start: float, r: float, width: float, height: float
) -> Iterator[tuple[float, float]]:
    """Give places for a circle of radius ``r`` on rings around (fx, fy), inner rings first."""
    step = 2 * r + GAP
    reach = math.hypot(width, height)
    distance = start
    while distance < reach:
        count = max(8, int(2 * math.pi * distance / step))
        for i in range(count):
            a = 2 * math.pi * i / count
            x, y = fx + distance * math.cos(a), fy + distance * math.sin(a)
            if MARGIN <= x <= width - MARGIN and MARGIN <= y <= height - MARGIN:
                yield x, y
        distance += step


def _hits(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


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
