"""Where each label of the picture goes: next to its circle, clear of every circle and label.

Labels are measured in monospace cells (wide characters take two) and shortened with an
ellipsis; a label with no free place is left out, its node keeping its tooltip. An identifier's
label keeps the start and the end of its value ("GB29NW…926819"); a shared one (a hub) is
named by its kind too and may be longer ("Bank account GB29NWBK…1331926819").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from service.graph.neighbourhood import NAMES, Neighbourhood, Node
from service.web.picture.layout import GAP, radius

FONT = "13"  # FONT_SIZE as the SVG writes it
FONT_SIZE = 13.0
CHAR_WIDTH = 0.6 * FONT_SIZE  # a monospace cell; textLength holds every label to it
ASCENT, DESCENT = 0.8 * FONT_SIZE, 0.25 * FONT_SIZE  # of a label's box above/below its baseline
LABEL_CELLS = 26  # the most a label takes (in monospace cells)
SHORT_CELLS = 12  # a label with no room at full length is tried again this short
HUB_CELLS = 36  # a hub's label: its kind and its value (at least SHORT_CELLS of it)
IDENTIFIERS = frozenset({"Address", "Phone", "Email", "BankAccount"})
# Kinds whose end tells them apart (ids, numbers): a shortened label keeps the end.
_KEEP_END = frozenset({"Case", "Phone", "BankAccount", "RoutingDecision"})

Box = tuple[float, float, float, float]  # left, top, right, bottom


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


def shorten_middle(text: str, cells: int) -> str:
    """Give ``text`` in at most ``cells`` cells, keeping its start and its end ("GB29…6819")."""
    text = " ".join(text.split())
    if sum(_cells(ch) for ch in text) <= cells:
        return text
    budget = cells - 1  # the ellipsis
    head = shorten(text, (budget + 1) // 2 + 1).removesuffix("…")
    tail = shorten(text, budget - sum(_cells(ch) for ch in head) + 1, keep_end=True)
    return head + "…" + tail.removeprefix("…")


def label_texts(node: Node) -> list[str]:
    """Give the texts a node's label tries, longest first.

    An identifier keeps the start and end of its value; a shared one (a hub) says its kind
    first, never shortened away ("Bank account GB29NW…926819").
    """
    if node.kind not in IDENTIFIERS:
        keep_end = node.kind in _KEEP_END
        return list(
            dict.fromkeys(
                shorten(node.name, cells, keep_end=keep_end) for cells in (LABEL_CELLS, SHORT_CELLS)
            )
        )
    kind = NAMES[node.kind]
    value = node.name.removeprefix(f"{kind} ") if node.hub else node.name
    if not node.hub:
        return list(dict.fromkeys(shorten_middle(value, c) for c in (LABEL_CELLS, SHORT_CELLS)))
    room = max(HUB_CELLS - len(kind) - 1, SHORT_CELLS)
    return list(dict.fromkeys(f"{kind} {shorten_middle(value, c)}" for c in (room, SHORT_CELLS)))


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grow(box: Box, by: float = 1.0) -> Box:
    """Give ``box`` with a clearance around it."""
    # Coordinates are drawn rounded: boxes that just touch must not come to overlap.
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


@dataclass(frozen=True)
class Label:
    """A label placed on the canvas: its text, baseline start and box."""

    key: str
    text: str
    x: float
    y: float
    box: Box


def width_of(label: Label) -> float:
    """The width a placed label is drawn at (its box's)."""
    return label.box[2] - label.box[0]


def place_labels(
    n: Neighbourhood,
    centres: dict[str, tuple[float, float]],
    area: Box,
    *,
    clear: Sequence[Box] = (),
    only: Collection[str] | None = None,
) -> list[Label]:
    """Place a label next to each node where it overlaps no circle and no other label.

    Only the nodes with a centre count (circles and labels), of them only the ``only`` keys
    get a label, clear of the ``clear`` boxes too. The case first, then the hubs and other
    cases, then nearest first; a label tries eight places around its node, at full length and
    then shorter, and is left out if none is free (its node keeps its tooltip).
    """
    focus = n.nodes[0].key if n.nodes else ""
    drawn = [node for node in n.nodes if node.key in centres]
    circles = [
        (x - r - 1, y - r - 1, x + r + 1, y + r + 1)
        for node in drawn
        for x, y in [centres[node.key]]
        for r in [radius(node, node.key == focus)]
    ]
    taken = list(clear)
    labels: list[Label] = []
    # the case, then the shared identifiers (hubs) and the other cases, then the rest
    wanted = [node for node in drawn if only is None or node.key in only]
    order = sorted(wanted, key=lambda m: (m.key != focus, not m.hub, m.kind != "Case", m.distance))
    for node in order:
        x, y = centres[node.key]
        r = radius(node, node.key == focus) + GAP
        for text in label_texts(node):
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
