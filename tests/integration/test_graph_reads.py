"""Case reads against the real Neo4j: worklist, case page, timeline, and rings of linked cases."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from service.graph.cases import CaseNotFound, upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn
from service.graph.reads import get_case, links, list_cases, timeline

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]


def person(pid: str, role: str = "claimant", **identifiers: str) -> dict[str, Any]:
    return {
        "id": pid,
        "kind": "person",
        "name": pid,
        "role": role,
        "identifiers": [{"kind": k, "value": v} for k, v in identifiers.items()],
    }


def mk(cid: str, *parties: dict[str, Any], **extra: Any) -> CaseIn:
    data = {"id": cid, "type": "insurance-claim", "opened_at": "2025-01-01T00:00:00"}
    return CaseIn.model_validate({**data, "parties": list(parties), **extra})


def test_list_filters_orders_and_pages(graph: Graph, p: str) -> None:
    kind = f"type-{uuid.uuid4().hex[:8]}"
    upsert_cases(
        graph,
        [
            mk(f"{p}a", type=kind, due_at="2025-02-10T00:00:00", priority=3),
            mk(f"{p}b", type=kind, due_at="2025-02-01T00:00:00", priority=5),
            mk(f"{p}c", type=kind, due_at="2025-02-10T00:00:00", priority=1),
            mk(f"{p}d", type=kind, status="pending"),
            mk(f"{p}e", type=kind, due_at="2025-03-01T00:00:00", status="closed"),
        ],
    )
    page = list_cases(graph, type=kind, status="open")
    assert [c["id"] for c in page["items"]] == [f"{p}b", f"{p}c", f"{p}a"]
    assert page["total"] == 3 and page["limit"] == 50 and page["offset"] == 0
    due = dt.datetime(2025, 2, 5, tzinfo=dt.UTC)
    assert [c["id"] for c in list_cases(graph, type=kind, due_before=due)["items"]] == [f"{p}b"]
    second = list_cases(graph, type=kind, limit=2, offset=2)
    assert second["total"] == 5
    assert [c["id"] for c in second["items"]] == [f"{p}a", f"{p}e"]
    assert list_cases(graph, type=kind, status="pending")["items"][0]["due_at"] is None
    first = page["items"][0]
    assert first["due_at"].startswith("2025-02-01T00:00:00")
    assert first["attributes"] == {}


def test_case_has_its_parties_evidence_and_events(graph: Graph, p: str) -> None:
    upsert_cases(
        graph,
        [
            mk(
                f"{p}c",
                person(f"{p}ann", phone="+1 555 0100", email="ANN@x.org"),
                person(f"{p}ann", role="witness"),
                evidence=[
                    {
                        "id": f"{p}ev",
                        "kind": "photo",
                        "received_at": "2025-01-03T00:00:00",
                        "effect": "contradicts",
                        "concerns": [f"{p}ann"],
                    }
                ],
                events=[
                    {"id": f"{p}e2", "kind": "assessed", "at": "2025-01-02T00:00:00"},
                    {
                        "id": f"{p}e1",
                        "kind": "received",
                        "at": "2025-01-01T00:00:00",
                        "actor": "web",
                        "attributes": {"n": 1},
                    },
                ],
            )
        ],
    )
    case = get_case(graph, f"{p}c")
    assert case["id"] == f"{p}c" and case["status"] == "open" and case["priority"] == 3
    [ann] = case["parties"]
    assert ann["roles"] == ["claimant", "witness"] and ann["role"] == "claimant"
    assert ann["identifiers"] == [
        {"kind": "email", "value": "ann@x.org"},
        {"kind": "phone", "value": "+15550100"},
    ]
    assert ann["kind"] == "person" and ann["flagged"] is False
    [evidence] = case["evidence"]
    assert evidence["effect"] == "contradicts" and evidence["concerns"] == [f"{p}ann"]
    assert [e["id"] for e in case["events"]] == [f"{p}e1", f"{p}e2"]
    assert case["events"][0]["attributes"] == {"n": 1}
    assert case["decisions"] == []
    with pytest.raises(CaseNotFound):
        get_case(graph, f"{p}missing")


def test_timeline_interleaves_events_and_evidence_in_time_order(graph: Graph, p: str) -> None:
    upsert_cases(
        graph,
        [
            mk(
                f"{p}c",
                evidence=[{"id": f"{p}ev", "kind": "photo", "received_at": "2025-01-02T12:00:00"}],
                events=[
                    {"id": f"{p}e3", "kind": "paid", "at": "2025-01-03T00:00:00"},
                    {"id": f"{p}e1", "kind": "received", "at": "2025-01-01T00:00:00+02:00"},
                    {"id": f"{p}e2", "kind": "assessed", "at": "2025-01-02T00:00:00"},
                ],
            )
        ],
    )
    entries = timeline(graph, f"{p}c")
    assert [(e["type"], e["item"]["id"]) for e in entries] == [
        ("event", f"{p}e1"),
        ("event", f"{p}e2"),
        ("evidence", f"{p}ev"),
        ("event", f"{p}e3"),
    ]
    assert entries[0]["at"].startswith("2025-01-01T00:00:00")
    with pytest.raises(CaseNotFound):
        timeline(graph, f"{p}missing")


def seed_ring(graph: Graph, p: str) -> None:
    """A ring: A-B share a person, B-C share a bank account, C-D share a phone (via two people),
    E stands alone with look-alike but different identifiers; F shares nothing with the ring
    but has a person named like one in it."""
    digits = str(uuid.uuid4().int)[:9]
    upsert_cases(
        graph,
        [
            mk(f"{p}A", person(f"{p}ann", bank_account=f"{p}acc-1")),
            mk(f"{p}B", person(f"{p}ann"), person(f"{p}bob", bank_account=f"{p}acc-2")),
            mk(f"{p}C", person(f"{p}cid", bank_account=f"{p}acc-2", phone=f"+1{digits}")),
            mk(f"{p}D", person(f"{p}dan", phone=f"+1 {digits}")),
            mk(f"{p}E", person(f"{p}eve", bank_account=f"{p}acc-3", phone=f"+2{digits}")),
            mk(f"{p}F", {**person(f"{p}ann-2"), "name": f"{p}ann"}),
        ],
    )


def test_links_find_the_ring_step_by_step_and_nothing_else(graph: Graph, p: str) -> None:
    seed_ring(graph, p)
    one = links(graph, f"{p}A", depth=1)
    assert [(x["case"]["id"], x["hops"]) for x in one] == [(f"{p}B", 1)]
    assert one[0]["via"] == [
        {"kind": "Person", "id": f"{p}ann", "name": f"{p}ann", "flagged": False}
    ]
    three = links(graph, f"{p}A", depth=3)
    assert [(x["case"]["id"], x["hops"]) for x in three] == [
        (f"{p}B", 1),
        (f"{p}C", 2),
        (f"{p}D", 3),
    ]
    c_via = three[1]["via"]
    assert [(v["kind"], v.get("id") or v.get("value")) for v in c_via] == [
        ("Person", f"{p}ann"),
        ("Case", f"{p}B"),
        ("Person", f"{p}bob"),
        ("BankAccount", f"{p}ACC-2".upper()),
        ("Person", f"{p}cid"),
    ]
    assert links(graph, f"{p}E", depth=4) == []
    assert links(graph, f"{p}F", depth=4) == []
    from_d = links(graph, f"{p}D", depth=2)
    assert [x["case"]["id"] for x in from_d] == [f"{p}C", f"{p}B"]
    assert from_d[0]["via"][1]["kind"] == "Phone"
    with pytest.raises(CaseNotFound):
        links(graph, f"{p}missing", depth=1)
