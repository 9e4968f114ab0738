"""The neighbourhood picture read from the real Neo4j: rings, nearest first, unknown cases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from service.demo.cases import generate_set, write_demo
from service.graph import reads
from service.graph.cases import CaseNotFound, upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn
from service.graph.neighbourhood import group_links, neighbourhood
from service.web.picture.svg import neighbourhood_svg

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

SVG = "{http://www.w3.org/2000/svg}"
AS_OF = datetime(2026, 3, 2, tzinfo=UTC)


def person(pid: str, role: str = "claimant", **identifiers: str) -> dict[str, Any]:
    return {
        "id": pid,
        "kind": "person",
        "name": f"Name of {pid}",
        "role": role,
        "identifiers": [{"kind": k, "value": v} for k, v in identifiers.items()],
    }


def mk(cid: str, *parties: dict[str, Any], **extra: Any) -> CaseIn:
    data = {"id": cid, "type": "insurance-claim", "opened_at": "2025-01-01T00:00:00"}
    return CaseIn.model_validate({**data, "parties": list(parties), **extra})


def test_the_picture_of_a_ring_claim_shows_its_ring(graph: Graph, p: str) -> None:
    data = generate_set(30, 5, prefix=p, as_of=AS_OF)
    write_demo(graph, data)
    assert data.rings
    for ring in data.rings:
        n = neighbourhood(graph, ring[0])
        assert n.nodes[0].key == f"Case:{ring[0]}"
        cases = {node.key for node in n.nodes if node.kind == "Case"}
        assert cases == {f"Case:{case_id}" for case_id in ring}
        root = ET.fromstring(neighbourhood_svg(graph, ring[0]))
        titles = [g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g")]
        for case_id in ring:
            assert any(t.startswith(f"Case {case_id} (insurance-claim") for t in titles)
        assert f"{len(ring) - 1} linked cases" in (root.findtext(f"{SVG}desc") or "")


def test_nearest_first_with_the_relationships_between_them(graph: Graph, p: str) -> None:
    events = [
        {"id": f"{p}ev{i}", "kind": f"step-{i}", "at": f"2025-01-0{i + 1}T00:00:00"}
        for i in range(7)
    ]
    evidence = [
        {
            "id": f"{p}x1",
            "kind": "photo",
            "received_at": "2025-01-02T00:00:00",
            "effect": "contradicts",
            "concerns": [f"{p}a"],
        }
    ]
    upsert_cases(
        graph,
        [
            mk(
                f"{p}one",
                person(f"{p}a", email=f"{p}shared@example.com"),
                person(f"{p}w", role="witness"),
                events=events,
                evidence=evidence,
            ),
            mk(f"{p}two", person(f"{p}b", email=f"{p}shared@example.com")),
            mk(f"{p}three", person(f"{p}w")),
        ],
    )
    n = neighbourhood(graph, f"{p}one")
    kinds = [(node.kind, node.distance) for node in n.nodes]
    assert kinds[0] == ("Case", 0)
    assert [d for _, d in kinds] == sorted(d for _, d in kinds)
    # the latest five events only
    assert sorted(node.name for node in n.nodes if node.kind == "Event") == [
        f"step-{i}" for i in range(2, 7)
    ]
    by_key = {node.key: node for node in n.nodes}
    assert by_key[f"Case:{p}three"].distance == 2  # a shared party
    assert by_key[f"Person:{p}b"].distance == 3  # a shared e-mail
    assert by_key[f"Case:{p}two"].distance == 4
    assert n.reachable == len(n.nodes) == 1 + 2 + 1 + 5 + 1 + 1 + 1 + 1
    edges = {(e.source, e.target, e.type, e.detail) for e in n.edges}
    assert (f"Person:{p}a", f"Case:{p}one", "PARTY_TO", "claimant") in edges
    assert (f"Person:{p}w", f"Case:{p}three", "PARTY_TO", "claimant") in edges
    assert (f"Evidence:{p}x1", f"Case:{p}one", "CONTRADICTS", "") in edges
    assert (f"Evidence:{p}x1", f"Person:{p}a", "CONCERNS", "") in edges
    assert (f"Person:{p}b", f"Email:{p}shared@example.com", "HAS_EMAIL", "") in edges

    nearest = neighbourhood(graph, f"{p}one", limit=4)
    assert [node.distance for node in nearest.nodes] == [0, 1, 1, 1]
    assert nearest.reachable == n.reachable
    assert all({e.source, e.target} <= {node.key for node in nearest.nodes} for e in nearest.edges)


def test_a_case_alone_a_hostile_name_and_an_unknown_case(graph: Graph, p: str) -> None:
    hostile = {**person(f"{p}h"), "name": "<script>alert(1)</script>"}
    upsert_cases(graph, [mk(f"{p}alone"), mk(f"{p}named", hostile)])
    n = neighbourhood(graph, f"{p}alone")
    assert [node.key for node in n.nodes] == [f"Case:{p}alone"] and n.edges == ()
    svg = neighbourhood_svg(graph, f"{p}named")
    assert "<script" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    ET.fromstring(svg)
    with pytest.raises(CaseNotFound, match="no case"):
        neighbourhood(graph, f"{p}missing")
    with pytest.raises(ValueError):
        neighbourhood(graph, f"{p}alone", limit=0)


def test_a_shared_bank_account_is_a_hub_and_its_cases_one_group(graph: Graph, p: str) -> None:
    account = f"GB29{p}".upper().replace("-", "")
    phone = f"+44{int(p[1:11], 16) % 10**10:010d}"
    upsert_cases(
        graph,
        [
            mk(f"{p}a", person(f"{p}pa", bank_account=account, phone=phone)),
            mk(f"{p}b", person(f"{p}pb", bank_account=account)),
            mk(f"{p}c", person(f"{p}pc", bank_account=account), person(f"{p}pe", "witness")),
            mk(f"{p}d", person(f"{p}pe", "witness")),  # reached through case c's witness
        ],
    )
    n = neighbourhood(graph, f"{p}a")
    hubs = [node for node in n.nodes if node.hub]
    assert [(h.kind, h.shared_by) for h in hubs] == [("BankAccount", 3)]
    assert hubs[0].name.startswith("Bank account ")
    held = next(node for node in n.nodes if node.kind == "Phone")
    assert not held.hub  # held by one party only

    groups = group_links(reads.links(graph, f"{p}a", 3))
    assert len(groups) == 1 and groups[0]["name"].startswith("bank account ")
    seen = [(c["case"]["id"], c["hops"], c["through"]) for c in groups[0]["cases"]]
    assert seen == [(f"{p}b", 1, []), (f"{p}c", 1, []), (f"{p}d", 2, [f"{p}c"])]
