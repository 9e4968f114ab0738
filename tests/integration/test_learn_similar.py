"""Actions taken in similar closed cases: expert decisions first, else what came next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from service.graph.cases import CaseNotFound, close_case, upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn, CloseIn
from service.recommend.similar import following, similar_actions
from tests.auth import as_role, make_app
from tests.graphs import settings_for

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)

# What an expert decided in a case (R1's feedback writes these; here they are seeded).
SEED_DECISION = """
MATCH (c:Case {id: $case_id})
MERGE (r:Recommendation {id: $id + ':rec'})
  ON CREATE SET r.action = $recommended, r.rule = 'r', r.playbook = $type, r.status = $outcome
MERGE (r)-[:FOR]->(c)
MERGE (d:ExpertDecision {id: $id})
  ON CREATE SET d.outcome = $outcome, d.recommended_action = $recommended, d.action = $action,
                d.reason = 'seeded for the test', d.rule = 'r', d.playbook = $type,
                d.case_type = $type, d.at = datetime()
MERGE (d)-[:ON]->(r)
MERGE (d)-[:IN_CASE]->(c)
"""


def a_case(
    p: str, name: str, case_type: str, evidence: list[str], events: list[str], roles: list[str]
) -> CaseIn:
    body: dict[str, Any] = {
        "id": p + name,
        "type": case_type,
        "opened_at": T0,
        "evidence": [
            {"id": f"{p}{name}:ev{i}", "kind": kind, "received_at": T0}
            for i, kind in enumerate(evidence)
        ],
        "events": [
            {"id": f"{p}{name}:e{i}", "kind": kind, "at": T0 + timedelta(hours=i)}
            for i, kind in enumerate(events)
        ],
        "parties": [
            {"id": f"{p}{name}:p{i}", "kind": "person", "name": "Someone", "role": role}
            for i, role in enumerate(roles)
        ],
    }
    return CaseIn.model_validate(body)


def test_following_finds_the_activity_after_the_point() -> None:
    assert following(["a", "b", "c", "d"], ["x", "b"]) == "c"
    assert following(["a", "b", "c"], ["a", "b", "c"]) is None
    assert following(["a", "b", "c"], ["zzz"]) == "b"  # not there: same position
    assert following(["a", "b", "a", "c"], ["q", "q", "q", "a"]) == "c"


def test_similar_cases_give_expert_actions_then_what_followed(
    graph: Graph, p: str, neo4j_server: Neo4jServer
) -> None:
    kind = "claim-" + p.rstrip("-")
    claim = ["photo", "police-report"]
    steps = ["received", "assessed"]
    roles = ["claimant", "witness"]
    closed = [
        a_case(p, "near1", kind, claim, [*steps, "paid"], roles),
        a_case(p, "near2", kind, claim, [*steps, "paid"], roles),
        a_case(p, "near3", kind, claim, [*steps, "referred"], roles),
        a_case(p, "far", kind, ["invoice"], ["received", "rejected"], ["insurer"]),
        a_case(p, "other", "complaint-" + p.rstrip("-"), claim, [*steps, "x"], roles),
    ]
    target = a_case(p, "open", kind, claim, steps, roles)
    upsert_cases(graph, [*closed, target])
    for case in closed:
        close_case(graph, case.id, CloseIn(outcome="done", closed_at=T0 + timedelta(days=3)))
    # experts decided in near1 and near2; near3 has only its history
    for name, outcome, action in [
        ("near1", "accepted", "pay-claim"),
        ("near2", "overridden", "refer-to-siu"),
    ]:
        graph.write(
            SEED_DECISION,
            case_id=p + name,
            id=f"{p}{name}:dec",
            type=kind,
            outcome=outcome,
            recommended="pay-claim",
            action=action,
        )

    found = similar_actions(graph, p + "open", k=3)
    assert {f["action"] for f in found} == {"pay-claim", "refer-to-siu", "referred"}
    assert all(f["count"] == 1 for f in found)
    by_action = {f["action"]: f["cases"] for f in found}
    assert by_action["referred"] == [p + "near3"]
    assert by_action["refer-to-siu"] == [p + "near2"]
    # the dissimilar case and the other type's case are never among the neighbours
    everything = similar_actions(graph, p + "open", k=10)
    cases = {c for f in everything for c in f["cases"]}
    assert p + "other" not in cases
    assert sorted(f["count"] for f in everything)[-1] >= 1
    with pytest.raises(CaseNotFound):
        similar_actions(graph, p + "missing")
    # the same over HTTP, for the case page and API clients
    app = make_app(settings_for(neo4j_server), Registry())
    with as_role(TestClient(app), "system") as client:
        answer = client.get(f"/v1/cases/{p}open/similar-actions")
        assert answer.status_code == 200, answer.text
        assert answer.json()["similar_actions"] == similar_actions(graph, p + "open")
        assert client.get(f"/v1/cases/{p}missing/similar-actions").status_code == 404


def test_events_rank_by_count_when_no_expert_decided(graph: Graph, p: str) -> None:
    kind = "complaint-" + p.rstrip("-")
    closed = [
        a_case(p, f"c{i}", kind, ["letter"], ["received", "acknowledged", then], ["complainant"])
        for i, then in enumerate(["refund", "refund", "refund", "apology"])
    ]
    upsert_cases(
        graph,
        [
            *closed,
            a_case(p, "open", kind, ["letter"], ["received", "acknowledged"], ["complainant"]),
        ],
    )
    for case in closed:
        close_case(graph, case.id, CloseIn(outcome="resolved"))
    found = similar_actions(graph, p + "open", k=5)
    assert [(f["action"], f["count"]) for f in found] == [("refund", 3), ("apology", 1)]
    assert sorted(found[0]["cases"]) == [p + "c0", p + "c1", p + "c2"]
