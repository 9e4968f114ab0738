"""The seeded situations of the demo data get the recommendations the playbooks promise.

A fraud ring's open claims are referred to special investigations with the link paths as
evidence, unverified evidence is to be verified, overdue cases get their priority raised.
The demo is loaded under a prefix of its own, so its rings link to nothing else.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from service.demo.cases import DemoSet, generate_set, write_demo
from service.graph.db import Graph
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend
from tests.graphs import KNOWLEDGE

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

CASES = 80
SEED = 5

UNVERIFIED = """
MATCH (e:Evidence {verified: false})-[:SUPPORTS|CONTRADICTS]->(c:Case)
WHERE c.id STARTS WITH $prefix AND c.status <> 'closed'
RETURN c.id AS id, collect(e.id) AS evidence ORDER BY id
"""
OVERDUE = """
MATCH (c:Case) WHERE c.id STARTS WITH $prefix AND c.status <> 'closed' AND c.due_at < datetime()
RETURN c.id AS id, c.type AS type, c.priority AS priority ORDER BY id
"""
STATUS = "MATCH (c:Case) WHERE c.id IN $ids RETURN c.id AS id, c.status AS status"


@pytest.fixture(scope="module")
def demo(graph: Graph) -> DemoSet:
    prefix = f"r-{uuid.uuid4().hex[:10]}-"
    data = generate_set(CASES, SEED, prefix=prefix, as_of=datetime.now(UTC))
    write_demo(graph, data)
    return data


@pytest.fixture(scope="module")
def registry() -> PlaybookRegistry:
    registry = PlaybookRegistry.load(KNOWLEDGE)
    assert registry.problems == []
    return registry


def prefix_of(demo: DemoSet) -> str:
    return demo.cases[0].id.split("CLM-")[0].split("CMP-")[0]


def actions(graph: Graph, registry: PlaybookRegistry, case_id: str) -> dict[str, dict[str, Any]]:
    items = recommend(graph, registry, registry.actions, case_id)
    return {item["action"]: item for item in items}


def open_ids(graph: Graph, ids: list[str]) -> list[str]:
    rows = graph.read(STATUS, ids=ids)
    return sorted(r["id"] for r in rows if r["status"] != "closed")


def test_open_ring_claims_are_referred_with_the_link_paths(
    graph: Graph, registry: PlaybookRegistry, demo: DemoSet
) -> None:
    assert len(demo.rings) == 3
    referred = 0
    for ring in demo.rings:
        members = set(ring)
        for case_id in open_ids(graph, ring):
            found = actions(graph, registry, case_id)
            if "refer-to-siu" not in found:
                continue
            item = found["refer-to-siu"]
            assert item["rule"] == "fraud-ring"
            paths = item["evidence"]["linked_claims"]
            assert len(paths) == item["facts"]["linked_claims"] >= 2
            for path in paths:
                nodes = path["nodes"]
                assert nodes[0] == {"kind": "Case", "id": case_id}
                assert nodes[-1]["kind"] == "Case" and nodes[-1]["id"] in members - {case_id}
                assert len(path["relationships"]) == len(nodes) - 1
            referred += 1
    assert referred >= 3  # most open ring claims link to two others or more


def test_ring_of_one_payout_account_refers_every_open_claim(
    graph: Graph, registry: PlaybookRegistry, demo: DemoSet
) -> None:
    ring = demo.rings[0]  # ring 0 pays every claim into one bank account
    members = open_ids(graph, ring)
    assert members, "the seed should leave some of ring 0's claims open"
    for case_id in members:
        item = actions(graph, registry, case_id)["refer-to-siu"]
        assert item["facts"]["linked_claims"] == len(ring) - 1
        kinds = {n["kind"] for p in item["evidence"]["linked_claims"] for n in p["nodes"]}
        assert "BankAccount" in kinds


def test_claims_outside_the_rings_are_not_referred_as_a_ring(
    graph: Graph, registry: PlaybookRegistry, demo: DemoSet
) -> None:
    in_rings = {c for ring in demo.rings for c in ring}
    claims = [c.id for c in demo.cases if c.type == "insurance-claim" and c.id not in in_rings]
    for case_id in open_ids(graph, claims)[:15]:
        found = actions(graph, registry, case_id)
        assert found.get("refer-to-siu", {}).get("rule") != "fraud-ring"


def test_unverified_evidence_is_to_be_verified(
    graph: Graph, registry: PlaybookRegistry, demo: DemoSet
) -> None:
    rows = graph.read(UNVERIFIED, prefix=prefix_of(demo))
    assert rows
    for row in rows[:10]:
        item = actions(graph, registry, row["id"])["verify-evidence"]
        assert sorted(item["evidence"]["unverified_evidence"]) == sorted(row["evidence"])
        assert item["trigger"] == f"{len(row['evidence'])} evidence items are unverified"
        assert len(item["reasons"]) == len(row["evidence"])  # each item named with its state
        assert all(" is unverified and " in reason for reason in item["reasons"])


def test_overdue_cases_get_their_priority_raised(
    graph: Graph, registry: PlaybookRegistry, demo: DemoSet
) -> None:
    rows = graph.read(OVERDUE, prefix=prefix_of(demo))
    # a case already at priority 1 (the demo's headline is one) cannot be raised further
    urgent = [r["id"] for r in rows if r["priority"] == 1]
    overdue = [r["id"] for r in rows if r["id"] not in urgent]
    assert overdue and demo.headline in urgent
    for case_id in overdue[:10]:
        assert actions(graph, registry, case_id)["raise-priority"]["rule"] == "overdue"
    for case_id in urgent:
        assert "raise-priority" not in actions(graph, registry, case_id)


def test_closed_demo_cases_get_none(
    graph: Graph, registry: PlaybookRegistry, demo: DemoSet
) -> None:
    closed = sorted(demo.closings)[:5]
    assert closed
    for case_id in closed:
        assert recommend(graph, registry, registry.actions, case_id) == []
