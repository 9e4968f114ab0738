"""The neighbourhood picture drawn from a built Neighbourhood (no Neo4j): parsed as XML."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.graph.neighbourhood import Edge, Neighbourhood, Node
from service.web.picture.labels import ASCENT, DESCENT, shorten, shorten_middle, text_width
from service.web.picture.layout import layout
from service.web.picture.svg import KINDS, describe, render_svg

SVG = "{http://www.w3.org/2000/svg}"
IDENTIFIERS = ("Address", "Phone", "Email", "BankAccount")
NAMES = (
    "Olivia Wardsworth-Smythe",
    "Tom Li",
    "Priya Ramanathan",
    "Bennett Motor Repairs Ltd",
    "Chloe Khan",
    "Daniel Williams",
    "Isla Jones",
)


def node(kind: str, ident: str, distance: int, name: str | None = None, **kw: object) -> Node:
    return Node(f"{kind}:{ident}", kind, name or ident, f"{kind} {ident}", distance, **kw)  # type: ignore[arg-type]


def build(
    case_id: str = "CLM-000001",
    parties: int = 6,
    identifiers: int = 3,
    evidence: int = 6,
    events: int = 5,
    linked: int = 14,
    limit: int = 50,
) -> Neighbourhood:
    """A claim with parties, their identifiers, evidence, events and linked cases."""
    case = node("Case", case_id, 0)
    nodes, edges = [case], []
    for i in range(parties):
        kind = "Organisation" if i % 3 == 0 else "Person"
        party = node(kind, f"P-{i}", 1, NAMES[i % len(NAMES)], flagged=i == 1)
        nodes.append(party)
        edges.append(Edge(party.key, case.key, "PARTY_TO", "claimant"))
    for i in range(evidence):
        item = node("Evidence", f"E-{i}", 1, ("photo", "statement", "police-report")[i % 3])
        nodes.append(item)
        edges.append(Edge(item.key, case.key, "SUPPORTS" if i % 2 else "CONTRADICTS"))
    for i in range(events):
        item = node("Event", f"V-{i}", 1, ("assessment-completed", "claim-registered")[i % 2])
        nodes.append(item)
        edges.append(Edge(item.key, case.key, "IN_CASE"))
    for i in range(parties):
        for j in range(identifiers):
            kind = IDENTIFIERS[(i + j) % 4]
            item = node(kind, f"value-{i}-{j}-rather-long@example.com", 2)
            nodes.append(item)
            edges.append(Edge(nodes[1 + i].key, item.key, "HAS_" + kind.upper()))
    for i in range(linked):
        other = node("Case", f"CLM-1000{i:02d}", 2)
        nodes.append(other)
        edges.append(Edge(nodes[1 + i % parties].key, other.key, "PARTY_TO", "witness"))
    return Neighbourhood(case_id, tuple(nodes[:limit]), tuple(edges), len(nodes))


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def circles(root: ET.Element) -> list[tuple[ET.Element, ET.Element]]:
    """Give (node group, circle) for every node (another case's group is inside its link)."""
    group = root.find(f"{SVG}g[@class='nodes']")
    assert group is not None
    groups = [child if child.tag == f"{SVG}g" else child.find(f"{SVG}g") for child in group]
    return [(g, g.find(f"{SVG}circle")) for g in groups]  # type: ignore[misc,union-attr]


def label_boxes(root: ET.Element) -> list[tuple[float, float, float, float]]:
    group = root.find(f"{SVG}g[@class='labels']")
    assert group is not None
    boxes = []
    for text in group.findall(f"{SVG}text"):
        x, y, w = (
            float(text.get("x", "")),
            float(text.get("y", "")),
            float(text.get("textLength", "")),
        )
        boxes.append((x, y - ASCENT, x + w, y + DESCENT))
    return boxes


def legend_top(root: ET.Element) -> float:
    group = root.find(f"{SVG}g[@class='legend']")
    assert group is not None
    return min(float(c.get("cy", "")) - 5 for c in group.iter(f"{SVG}circle"))


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_fifty_nodes_are_drawn_with_only_the_edges_between_them() -> None:
    n = build(linked=20)  # 56 nodes within reach: the last 6 linked cases are cut
    assert len(n.nodes) == 50 and n.reachable == 56
    root = parse(render_svg(n))
    assert len(circles(root)) == 50
    kept = {node.key for node in n.nodes}
    between = [e for e in n.edges if e.source in kept and e.target in kept]
    drawn = root.findall(f"{SVG}g[@class='edges']/{SVG}g[@class='edge']")
    assert len(drawn) == len(between) == len(n.edges) - 6


def test_same_neighbourhood_same_picture() -> None:
    assert render_svg(build()) == render_svg(build())
    assert render_svg(build()) != render_svg(build(linked=13))


def test_case_is_at_the_centre_and_outlined() -> None:
    n = build()
    assert layout(n, 900, 500)[n.nodes[0].key] == (450.0, 250.0)
    root = parse(render_svg(n))
    (focus_group, focus), *others = circles(root)
    assert focus_group.get("class") == "node focus"
    assert float(focus.get("cx", "")) == 500.0  # the centre of the 1000 px canvas
    assert float(focus.get("cy", "")) == pytest.approx(legend_top(root) / 2, abs=6)
    assert focus.get("stroke-width") == "3"
    assert all(float(focus.get("r", "")) > float(c.get("r", "")) for _, c in others)
    assert not [g for g, _ in others if "focus" in (g.get("class") or "")]


@pytest.mark.parametrize("size", [1, 2, 5, 20, 50])
def test_every_node_and_label_is_inside_the_canvas(size: int) -> None:
    root = parse(render_svg(build(limit=size), 900, 600))
    assert root.get("viewBox") == "0 0 900 600"
    bottom = legend_top(root)
    found = circles(root)
    assert len(found) == size
    for _, circle in found:
        x, y, r = (float(circle.get(a, "")) for a in ("cx", "cy", "r"))
        assert 0 <= x - r and x + r <= 900 and 0 <= y - r and y + r <= bottom
    for box in label_boxes(root):
        assert 0 <= box[0] and box[2] <= 900 and 0 <= box[1] and box[3] <= bottom


def test_labels_do_not_overlap_each_other_or_circles_at_fifty_nodes() -> None:
    root = parse(render_svg(build()))
    boxes = label_boxes(root)
    assert len(boxes) >= 40  # legible: most nodes keep a visible label
    for a, b in itertools.combinations(boxes, 2):
        assert not overlap(a, b), (a, b)
    for _, circle in circles(root):
        x, y, r = (float(circle.get(a, "")) for a in ("cx", "cy", "r"))
        for box in boxes:
            assert not overlap(box, (x - r, y - r, x + r, y + r))


def test_every_node_keeps_its_full_label_as_a_tooltip() -> None:
    n = build()
    root = parse(render_svg(n))
    titles = [g.findtext(f"{SVG}title") for g, _ in circles(root)]
    assert titles == [node.title for node in n.nodes]


def test_nodes_are_coloured_by_kind_and_the_legend_lists_the_kinds_present() -> None:
    root = parse(render_svg(build(evidence=0)))
    kinds = set()
    for group, circle in circles(root):
        kind = group.get("data-kind", "")
        kinds.add(kind)
        assert circle.get("fill") == KINDS[kind][0]
    legend = root.find(f"{SVG}g[@class='legend']")
    assert legend is not None
    assert {g.get("data-kind") for g in legend} == kinds
    assert "Evidence" not in kinds
    assert [g.findtext(f"{SVG}text") for g in legend][:2] == ["Case", "Person"]


def test_flagged_parties_are_ringed_in_red() -> None:
    root = parse(render_svg(build()))
    flagged = [c for g, c in circles(root) if c.get("stroke") == "#C00000"]
    assert len(flagged) == 1


def test_edges_are_lines_with_their_relationship_as_tooltip() -> None:
    n = build()
    root = parse(render_svg(n))
    edges = root.find(f"{SVG}g[@class='edges']")
    assert edges is not None
    drawn = list(edges)
    assert len(drawn) == sum(
        1 for e in n.edges if {e.source, e.target} <= {node.key for node in n.nodes}
    )
    party = drawn[0]
    assert party.get("data-type") == "PARTY_TO"
    assert (
        party.findtext(f"{SVG}title") == "Olivia Wardsworth-Smythe —PARTY_TO (claimant)→ CLM-000001"
    )
    assert party.find(f"{SVG}line") is not None
    contradicts = [g for g in drawn if g.get("data-type") == "CONTRADICTS"]
    assert contradicts and all(g.find(f"{SVG}line").get("stroke-dasharray") for g in contradicts)  # type: ignore[union-attr]


def test_hostile_ids_are_escaped() -> None:
    hostile = '<script>alert("x")</script>&\x00'
    case = node("Case", hostile, 0)
    party = node("Person", "p1", 1, name="</text><script>alert(1)</script>")
    n = Neighbourhood(hostile, (case, party), (Edge(party.key, case.key, "PARTY_TO", "<b>"),))
    svg = render_svg(n)
    assert "<script" not in svg
    assert "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    root = parse(svg)  # well-formed XML, the NUL replaced
    assert (
        root.findtext(f"{SVG}title")
        == 'Neighbourhood of case <script>alert("x")</script>&\ufffd in the graph'
    )
    assert circles(root)[1][0].findtext(f"{SVG}title") == "Person p1"
    labels = root.find(f"{SVG}g[@class='labels']")
    assert labels is not None
    assert any("<script>" in (t.text or "") for t in labels)


def test_accessible_title_and_description() -> None:
    n = build(linked=17)
    root = parse(render_svg(n))
    assert root.get("role") == "img"
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    assert root.find(f"{SVG}title").get("id") == title_id  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").get("id") == desc_id  # type: ignore[union-attr]
    assert root.findtext(f"{SVG}desc") == describe(n)
    assert describe(n) == (
        "Case CLM-000001: 6 parties, 14 linked cases, 18 identifiers, 6 pieces of evidence, "
        "5 recent events, 1 flagged party. The 50 nearest of 53 nodes within reach are shown."
    )
    alone = Neighbourhood("c", (node("Case", "c", 0),), (), 1)
    assert describe(alone) == (
        "Case c: 0 parties, 0 linked cases, 0 identifiers, 0 pieces of evidence, 0 recent events."
    )


def test_ids_of_two_pictures_on_one_page_differ() -> None:
    first = parse(render_svg(build("CLM-1"))).get("aria-labelledby")
    assert first != parse(render_svg(build("CLM-2"))).get("aria-labelledby")


def test_shorten_keeps_the_telling_end() -> None:
    assert shorten("CLM-000001", 16, keep_end=True) == "CLM-000001"
    assert shorten("t1234567890-CLM-000001", 11, keep_end=True) == "…CLM-000001"
    assert shorten("Olivia Wardsworth-Smythe", 12) == "Olivia Ward…"
    assert shorten("山田太郎さんの会社", 7) == "山田太…"
    assert text_width("山田") == text_width("abcd")


@settings(max_examples=30, deadline=None)
@given(
    parties=st.integers(0, 8),
    identifiers=st.integers(0, 4),
    evidence=st.integers(0, 8),
    events=st.integers(0, 5),
    linked=st.integers(0, 20),
    width=st.integers(300, 1200),
    height=st.integers(250, 900),
)
def test_any_neighbourhood_fits_without_overlapping_labels(
    parties: int, identifiers: int, evidence: int, events: int, linked: int, width: int, height: int
) -> None:
    n = build(
        parties=parties,
        identifiers=identifiers,
        evidence=evidence,
        events=events,
        linked=linked if parties else 0,
    )
    root = parse(render_svg(n, width, height))
    bottom = legend_top(root)
    for _, circle in circles(root):
        x, y, r = (float(circle.get(a, "")) for a in ("cx", "cy", "r"))
        assert 0 <= x - r and x + r <= width and 0 <= y - r and y + r <= bottom
    boxes = label_boxes(root)
    assert all(0 <= b[0] and b[2] <= width and 0 <= b[1] and b[3] <= bottom for b in boxes)
    for a, b in itertools.combinations(boxes, 2):
        assert not overlap(a, b)


def test_a_shared_identifier_is_a_hub_and_other_cases_link_to_their_pages() -> None:
    case = node("Case", "CLM-1", 0)
    hub = node("BankAccount", "GB29NWBK", 2, "Bank account GB29NWBK", shared_by=3)
    other = node("Case", "CLM-2", 2)
    event = node("Event", "V-1", 1, "assessment-completed")
    people = [node("Person", f"P-{i}", 1 + i // 2) for i in range(3)]
    edges = [Edge(p.key, hub.key, "HAS_ACCOUNT") for p in people]
    edges += [Edge(people[2].key, other.key, "PARTY_TO"), Edge(event.key, case.key, "IN_CASE")]
    root = parse(
        render_svg(Neighbourhood("CLM-1", (case, *people, hub, other, event), tuple(edges)))
    )
    drawn = {g.get("data-key"): (g, c) for g, c in circles(root)}
    group, circle = drawn[hub.key]
    assert group.get("class") == "node hub" and float(circle.get("r", "")) == 13.0
    labels = {t.text: t for t in root.iter(f"{SVG}text") if t.get("data-kind")}
    assert labels["Bank account GB29NWBK"].get("font-weight") == "bold"
    links = {a.get("href") for a in root.iter(f"{SVG}a")}
    assert links == {"/cases/CLM-2"}  # the case itself is not a link to the page it is on
    ends = [g.get("data-ends") for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert ends.count("Event") == 1  # hidden with the events


def centres_of(root: ET.Element) -> dict[str, tuple[float, float, float]]:
    return {
        str(g.get("data-key")): (
            float(c.get("cx", "")),
            float(c.get("cy", "")),
            float(c.get("r", "")),
        )
        for g, c in circles(root)
    }


def test_events_are_laid_out_after_the_rest_so_hiding_them_leaves_no_hole() -> None:
    with_events = build(events=5)
    without = Neighbourhood(
        with_events.case_id,
        tuple(n for n in with_events.nodes if n.kind != "Event"),
        with_events.edges,
        with_events.reachable,
    )
    root, bare = parse(render_svg(with_events)), parse(render_svg(without))
    drawn, default = centres_of(root), centres_of(bare)
    events = {key: c for key, c in drawn.items() if key.startswith("Event:")}
    assert len(events) == 5
    # what shows by default is placed exactly as if there were no events at all
    assert {k: c for k, c in drawn.items() if k not in events} == default
    shown_labels = [
        t.text for t in root.iter(f"{SVG}text") if t.get("data-kind") not in (None, "Event")
    ]
    assert shown_labels == [t.text for t in bare.iter(f"{SVG}text") if t.get("data-kind")]
    # shown, the events cover no circle and no label
    boxes = label_boxes(root)
    for key, (x, y, r) in events.items():
        for other, (ox, oy, orad) in drawn.items():
            if other != key:
                assert (x - ox) ** 2 + (y - oy) ** 2 >= (r + orad) ** 2, (key, other)
        assert not any(overlap((x - r, y - r, x + r, y + r), box) for box in boxes), key


def test_a_hubs_label_says_its_kind_and_the_start_and_end_of_its_value() -> None:
    iban = "GB38 BARC 2003 1234 5678 90"
    case = node("Case", "CLM-1", 0)
    hub = Node(f"BankAccount:{iban}", "BankAccount", f"Bank account {iban}",
               f"Bank account {iban}, shared by 3 parties", 2, shared_by=3)  # fmt: skip
    people = [node("Person", f"P-{i}", 1, NAMES[i]) for i in range(3)]
    edges = [Edge(p.key, hub.key, "HAS_ACCOUNT") for p in people]
    root = parse(render_svg(Neighbourhood("CLM-1", (case, *people, hub), tuple(edges))))
    label = next(
        t.text or "" for t in root.iter(f"{SVG}text") if t.get("data-kind") == "BankAccount"
    )
    assert label.startswith("Bank account GB38 BARC") and label.endswith("78 90")
    group = next(g for g, _ in circles(root) if g.get("data-kind") == "BankAccount")
    assert iban in (group.findtext(f"{SVG}title") or "")  # the full value in its tooltip


def test_shorten_middle_keeps_the_start_and_the_end() -> None:
    assert shorten_middle("GB29NWBK60161331926819", 30) == "GB29NWBK60161331926819"
    assert shorten_middle("GB29NWBK60161331926819", 12) == "GB29NW…26819"
    assert shorten_middle("山田太郎さんの会社ABCDEFG", 12) == "山田太…CDEFG"
    for cells in range(3, 22):
        assert text_width(shorten_middle("GB29NWBK60161331926819", cells)) <= cells * text_width(
            "a"
        )
