"""Case writes against the real Neo4j: idempotent, all-or-nothing, references checked."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from service.graph.cases import (
    CaseNotFound,
    InvalidReference,
    WriteSummary,
    add_events,
    add_evidence,
    add_parties,
    close_case,
    upsert_cases,
)
from service.graph.db import Graph, UnsupportedServer, apply_schema, check_agent
from service.graph.models import CaseIn, CloseIn, Event, Evidence, Party
from tests.graphs import SCHEMA

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

# Everything a test wrote: its nodes (by id prefix or identifier value) with their properties,
# and every relationship touching them.
SNAPSHOT_NODES = """
MATCH (n) WHERE n.id STARTS WITH $prefix OR toLower(n.value) CONTAINS $prefix
RETURN labels(n) AS labels, properties(n) AS props
"""
SNAPSHOT_RELS = """
MATCH (a)-[r]->(b) WHERE a.id STARTS WITH $prefix OR b.id STARTS WITH $prefix
RETURN type(r) AS type, coalesce(a.id, a.value) AS start, coalesce(b.id, b.value) AS end,
       properties(r) AS props
"""


def snapshot(graph: Graph, prefix: str) -> tuple[list[str], list[str]]:
    nodes = sorted(repr(sorted(r.items())) for r in graph.read(SNAPSHOT_NODES, prefix=prefix))
    rels = sorted(repr(sorted(r.items())) for r in graph.read(SNAPSHOT_RELS, prefix=prefix))
    return nodes, rels


def case(p: str, n: int = 1, **extra: Any) -> CaseIn:
    data: dict[str, Any] = {
        "id": f"{p}case-{n}",
        "type": "insurance-claim",
        "opened_at": "2025-03-01T09:00:00",
        "due_at": "2025-03-15T17:00:00+01:00",
        "priority": 2,
        "attributes": {"amount": 4200.5, "channel": "web"},
        "parties": [
            {
                "id": f"{p}ann",
                "kind": "person",
                "name": "Ann Smith",
                "role": "claimant",
                "identifiers": [
                    {"kind": "phone", "value": f"+44 20 {n}"},
                    {"kind": "email", "value": f" Ann@{p}Example.org "},
                    {"kind": "bank_account", "value": f"gb29 {p}01"},
                ],
            },
            {"id": f"{p}acme", "kind": "organisation", "name": "Acme Ins", "role": "insurer"},
        ],
        "evidence": [
            {
                "id": f"{p}ev-{n}",
                "kind": "police-report",
                "received_at": "2025-03-02T10:00:00Z",
                "verified": True,
                "source": "police",
                "concerns": [f"{p}ann"],
            }
        ],
        "events": [
            {"id": f"{p}e{n}-1", "kind": "claim received", "at": "2025-03-01T09:00:00"},
            {"id": f"{p}e{n}-2", "kind": "assessor assigned", "at": "2025-03-01T11:00:00"},
        ],
    }
    data.update(extra)
    return CaseIn.model_validate(data)


def test_check_agent_refuses_old_or_foreign_servers() -> None:
    assert check_agent("Neo4j/5.26.30", "bolt://x") == "Neo4j/5.26.30"
    assert check_agent("Neo4j/2025.01.0", "bolt://x")
    with pytest.raises(UnsupportedServer, match=r"runs Neo4j/4\.4\.1; Casewise needs Neo4j 5\.6"):
        check_agent("Neo4j/4.4.1", "bolt://x")
    with pytest.raises(UnsupportedServer, match="not Neo4j"):
        check_agent("Memgraph/2.1", "bolt://x")


def test_server_is_checked_and_schema_applies_twice(graph: Graph) -> None:
    assert graph.check_server().startswith("Neo4j/5.")
    assert apply_schema(graph, SCHEMA) == apply_schema(graph, SCHEMA) > 10
    names = {r["name"] for r in graph.read("SHOW CONSTRAINTS YIELD name RETURN name")}
    assert {"case_id", "party_id", "event_id", "bank_account_value"} <= names


def test_workers_starting_together_on_an_empty_graph_all_apply_the_schema(
    graph: Graph, tmp_path: Path
) -> None:
    # `casewise serve --workers 2` on an empty Neo4j: each worker applies the schema at once;
    # IF NOT EXISTS does not stop two of them creating the same index at the same moment
    tag = uuid.uuid4().hex[:8]
    schema = tmp_path / "schema.cypher"
    schema.write_text(
        f"CREATE INDEX race_{tag} IF NOT EXISTS FOR (n:Race{tag}) ON (n.x);\n"
        f"CREATE CONSTRAINT race_id_{tag} IF NOT EXISTS\n"
        f"FOR (n:RaceId{tag}) REQUIRE n.id IS UNIQUE;\n"
    )
    start = threading.Barrier(4)
    failures: list[Exception] = []

    def worker() -> None:
        start.wait()
        try:
            apply_schema(graph, schema)
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            failures.append(exc)

    try:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        names = {r["name"] for r in graph.read("SHOW INDEXES YIELD name RETURN name")}
        assert {f"race_{tag}", f"race_id_{tag}"} <= names
    finally:
        graph.write(f"DROP INDEX race_{tag} IF EXISTS")
        graph.write(f"DROP CONSTRAINT race_id_{tag} IF EXISTS")


def test_same_payload_twice_changes_nothing(graph: Graph, p: str) -> None:
    first = upsert_cases(graph, [case(p, 1), case(p, 2)])
    assert first == WriteSummary(cases=2, parties=4, identifiers=6, evidence=2, events=4)
    before = snapshot(graph, p)
    assert upsert_cases(graph, [case(p, 1), case(p, 2)]) == first
    assert snapshot(graph, p) == before
    nodes, rels = before
    # 2 cases, 2 parties shared by both, 2 evidence, 4 events, email 1, account 1 (the phones
    # hold only digits, not the prefix)
    assert len(nodes) == 2 + 2 + 2 + 4 + 1 + 1
    stored = graph.read("MATCH (c:Case {id: $id}) RETURN c {.*} AS c", id=f"{p}case-1")[0]["c"]
    assert stored["due_at"].iso_format().startswith("2025-03-15T17:00:00")
    assert stored["opened_at"].tzinfo is not None  # naive input is stored as UTC
    assert stored["attributes"] == '{"amount":4200.5,"channel":"web"}'


def test_identifiers_are_normalised_so_variants_are_one_node(graph: Graph, p: str) -> None:
    upsert_cases(graph, [case(p, 1)])
    bob = Party.model_validate(
        {
            "id": f"{p}bob",
            "kind": "person",
            "name": "Bob",
            "role": "witness",
            "identifiers": [
                {"kind": "email", "value": f"ANN@{p}example.ORG"},
                {"kind": "bank_account", "value": f"GB29{p.upper()}01"},
                {"kind": "phone", "value": "+44 (20) 1"},
            ],
        }
    )
    add_parties(graph, f"{p}case-1", [bob])
    rows = graph.read(
        """
        MATCH (a:Party {id: $ann})-[:HAS_EMAIL|HAS_ACCOUNT|HAS_PHONE]->(i)<--(b:Party {id: $bob})
        RETURN labels(i)[0] AS label, i.value AS value ORDER BY label
        """,
        ann=f"{p}ann",
        bob=f"{p}bob",
    )
    assert [r["label"] for r in rows] == ["BankAccount", "Email", "Phone"]
    assert {r["value"] for r in rows} == {f"GB29{p.upper()}01", f"ann@{p}example.org", "+44201"}


def test_a_bad_element_writes_nothing_of_the_batch(graph: Graph, p: str) -> None:
    good = case(p, 1)
    bad = case(
        p,
        2,
        evidence=[
            {
                "id": f"{p}ev-x",
                "kind": "photo",
                "received_at": "2025-03-02T10:00:00Z",
                "concerns": [f"{p}nobody"],
            }
        ],
    )
    with pytest.raises(InvalidReference) as caught:
        upsert_cases(graph, [good, bad])
    assert caught.value.details == [
        {
            "field": "cases[1].evidence[0].concerns[0]",
            "message": f"no party '{p}nobody' in this payload or in the graph; add the party first",
            "value": f"{p}nobody",
        }
    ]
    assert snapshot(graph, p) == ([], [])


def test_writes_to_an_unknown_case_are_not_found(graph: Graph, p: str) -> None:
    event = Event.model_validate({"id": f"{p}e", "kind": "call", "at": "2025-01-01T00:00:00"})
    with pytest.raises(CaseNotFound, match=f"no case '{p}missing'"):
        add_events(graph, f"{p}missing", [event])
    with pytest.raises(CaseNotFound):
        add_events(graph, f"{p}missing", [])
    with pytest.raises(CaseNotFound):
        close_case(graph, f"{p}missing", CloseIn(outcome="paid"))
    assert snapshot(graph, p) == ([], [])


def test_party_kind_and_ids_of_other_cases_are_refused(graph: Graph, p: str) -> None:
    upsert_cases(graph, [case(p, 1), case(p, 2, events=[], evidence=[])])
    org_ann = Party.model_validate(
        {"id": f"{p}ann", "kind": "organisation", "name": "Ann Ltd", "role": "insurer"}
    )
    with pytest.raises(InvalidReference, match="already in the graph as a person"):
        add_parties(graph, f"{p}case-2", [org_ann])
    reused = Event.model_validate({"id": f"{p}e1-1", "kind": "x", "at": "2025-01-01T00:00:00"})
    with pytest.raises(InvalidReference) as caught:
        add_events(graph, f"{p}case-2", [reused])
    assert caught.value.details[0]["field"] == "events[0].id"
    assert "belongs to another case" in caught.value.details[0]["message"]


def test_evidence_effect_can_change_and_concerns_known_parties(graph: Graph, p: str) -> None:
    upsert_cases(graph, [case(p, 1)])
    evidence = Evidence.model_validate(
        {
            "id": f"{p}ev-1",
            "kind": "police-report",
            "received_at": "2025-03-02T10:00:00Z",
            "effect": "contradicts",
            "concerns": [f"{p}ann", f"{p}acme"],
        }
    )
    assert add_evidence(graph, f"{p}case-1", [evidence]).evidence == 1
    rows = graph.read(
        "MATCH (:Evidence {id: $id})-[r]->(n) RETURN type(r) AS type, n.id AS to ORDER BY to",
        id=f"{p}ev-1",
    )
    assert [(r["type"], r["to"]) for r in rows] == [
        ("CONCERNS", f"{p}acme"),
        ("CONCERNS", f"{p}ann"),
        ("CONTRADICTS", f"{p}case-1"),
    ]


def test_flagged_is_not_cleared_by_a_payload_that_does_not_know(graph: Graph, p: str) -> None:
    flagged = case(p, 1).model_dump()
    flagged["parties"][0]["flagged"] = True
    upsert_cases(graph, [CaseIn.model_validate(flagged)])
    upsert_cases(graph, [case(p, 2)])
    rows = graph.read("MATCH (n:Party {id: $id}) RETURN n.flagged AS f", id=f"{p}ann")
    assert rows == [{"f": True}]


def test_close_is_idempotent_and_adds_a_closed_event(graph: Graph, p: str) -> None:
    upsert_cases(graph, [case(p, 1)])
    first = close_case(graph, f"{p}case-1", CloseIn(outcome="paid", reason="valid claim"))
    assert first["status"] == "closed" and first["outcome"] == "paid"
    before = snapshot(graph, p)
    assert close_case(graph, f"{p}case-1", CloseIn(outcome="paid", reason="valid claim")) == first
    assert snapshot(graph, p) == before
    events = graph.read(
        "MATCH (e:Event)-[:IN_CASE]->(:Case {id: $id}) WHERE e.kind = 'closed' RETURN e.id AS id",
        id=f"{p}case-1",
    )
    assert events == [{"id": f"{p}case-1:closed"}]


def test_every_bad_reference_is_named_and_ids_are_not_shared_in_a_batch(
    graph: Graph, p: str
) -> None:
    ghost = f"{p}ghost"
    evidence = [
        {"id": f"{p}ev-{n}", "kind": "photo", "received_at": "2025-03-02", "concerns": [ghost]}
        for n in range(2)
    ]
    first = case(p, 1, evidence=evidence)
    second = case(p, 2, evidence=[], events=[{"id": f"{p}e1-1", "kind": "x", "at": "2025-03-01"}])
    with pytest.raises(InvalidReference) as caught:
        upsert_cases(graph, [first, second])
    assert [d["field"] for d in caught.value.details] == [
        "cases[0].evidence[0].concerns[0]",
        "cases[0].evidence[1].concerns[0]",
        "cases[1].events[0].id",
    ]
    assert "also given to case" in caught.value.details[2]["message"]
    assert snapshot(graph, p) == ([], [])
