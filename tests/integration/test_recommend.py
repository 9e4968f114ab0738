"""Recommendations over HTTP against the real Neo4j: ranked next actions, experts deciding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.auth.store import UserRecord
from service.engine import Registry
from service.graph.db import Graph
from service.settings import Settings
from tests.auth import as_role, make_app, memory
from tests.fixtures import RULES
from tests.graphs import KNOWLEDGE, settings_for

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

RECOMMENDATIONS = """
MATCH (r:Recommendation)-[:FOR]->(:Case {id: $case_id})
RETURN r.id AS id, r.status AS status ORDER BY r.id
"""
DECISIONS = """
MATCH (x:Expert)-[:DECIDED]->(d:ExpertDecision)-[:ON]->(r:Recommendation),
      (d)-[:IN_CASE]->(:Case {id: $case_id})
RETURN x.id AS expert, d.outcome AS outcome, d.action AS action, r.id AS rid
"""


@pytest.fixture(scope="module")
def api(neo4j_server: Neo4jServer) -> Iterator[TestClient]:
    settings = settings_for(neo4j_server, knowledge_dir=KNOWLEDGE)
    with as_role(TestClient(make_app(settings, Registry())), "system") as client:
        yield client


@pytest.fixture(autouse=True)
def experts(p: str) -> None:
    """The experts the tests' system key acts for: a key may name only an existing expert."""
    for name in (f"{p}kim", f"{p}lee", "kim"):
        memory()[0].save_user(UserRecord(name, "expert", "no password: never signs in"))


def claim(p: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    """An open claim, due in the future, with one verified and one unverified evidence item."""
    return {
        "id": f"{p}c{n}",
        "type": "insurance-claim",
        "opened_at": "2026-01-05T08:00:00Z",
        "due_at": "2099-01-01T00:00:00Z",
        "parties": [
            {
                "id": f"{p}c{n}-claimant",
                "kind": "person",
                "name": "Ann",
                "role": "claimant",
                "flagged": True,
                "identifiers": [{"kind": "email", "value": f"ann{n}@{p}mail.test"}],
            }
        ],
        "evidence": [
            {"id": f"{p}c{n}-ev1", "kind": "photo", "received_at": "2026-01-05T09:00:00Z",
             "verified": True},
            {"id": f"{p}c{n}-ev2", "kind": "invoice", "received_at": "2026-01-06T09:00:00Z"},
        ],
        "events": [{"id": f"{p}c{n}-e1", "kind": "claim-registered", "at": "2026-01-05T08:00:00Z"}],
        **extra,
    }  # fmt: skip


def put(api: TestClient, *cases: dict[str, Any]) -> None:
    response = api.post("/v1/cases", json={"cases": list(cases)})
    assert response.status_code == 200, response.text


def recommendations(api: TestClient, case_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/cases/{case_id}/recommendations")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["case_id"] == case_id
    items: list[dict[str, Any]] = body["recommendations"]
    return items


def by_action(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["action"]: item for item in items}


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


def test_ranked_recommendations_with_reason_facts_and_evidence(api: TestClient, p: str) -> None:
    put(api, claim(p))
    items = recommendations(api, f"{p}c1")
    actions = by_action(items)
    assert {"refer-to-siu", "verify-evidence", "assign-assessor"} <= set(actions)
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    siu = actions["refer-to-siu"]
    assert siu["rule"] == "flagged-party"
    assert siu["label"] == "Refer to special investigations"
    assert siu["trigger"] == "1 of the claim's parties flagged by an earlier investigation"
    assert siu["rationale"] == "Claimant Ann was flagged by an earlier investigation"
    assert siu["reasons"] == ["claimant Ann was flagged by an earlier investigation"]
    assert "gives this action a weight of 0.70" in siu["score_explained"]  # decisions: shared
    assert siu["evidence"] == {"flagged_parties": [f"{p}c1-claimant"]}
    assert siu["facts"]["flagged_parties"] == 1
    assert siu["playbook"] == "insurance-claim" and len(siu["version"]) == 64
    assert siu["id"].startswith("rec-") and siu["status"] == "open"
    verify = actions["verify-evidence"]
    assert verify["trigger"] == "1 evidence items are unverified"
    assert verify["rationale"] == "Invoice is unverified and supports the case"
    assert verify["evidence"] == {"unverified_evidence": [f"{p}c1-ev2"]}
    assert "raise-priority" not in actions  # due in the future


def test_asking_again_merges_the_same_recommendations(
    api: TestClient, graph: Graph, p: str
) -> None:
    put(api, claim(p))
    first = recommendations(api, f"{p}c1")
    second = recommendations(api, f"{p}c1")
    assert [i["id"] for i in first] == [i["id"] for i in second]
    stored = graph.read(RECOMMENDATIONS, case_id=f"{p}c1")
    assert sorted(r["id"] for r in stored) == sorted(i["id"] for i in first)


def test_overdue_case_gets_raise_priority(api: TestClient, p: str) -> None:
    put(api, claim(p, due_at="2026-01-10T00:00:00Z"))
    item = by_action(recommendations(api, f"{p}c1"))["raise-priority"]
    assert item["rule"] == "overdue" and item["trigger"] == "the claim is past its due date"
    assert item["rationale"] == "The case was due on 10 Jan 2026"


def test_closed_case_gets_none(api: TestClient, p: str) -> None:
    put(api, claim(p))
    closed = api.post(f"/v1/cases/{p}c1/close", json={"outcome": "paid"})
    assert closed.status_code == 200, closed.text
    assert recommendations(api, f"{p}c1") == []


def test_case_type_without_playbook_gets_none(api: TestClient, p: str) -> None:
    put(api, claim(p, type="warranty-return"))
    assert recommendations(api, f"{p}c1") == []


def test_unknown_case_is_404(api: TestClient, p: str) -> None:
    error_of(api.get(f"/v1/cases/{p}nope/recommendations"), 404, "not-found")


def test_taken_action_is_not_recommended_again_unless_repeatable(api: TestClient, p: str) -> None:
    put(api, claim(p))
    assert {"refer-to-siu", "verify-evidence"} <= set(by_action(recommendations(api, f"{p}c1")))
    events = [
        {"id": f"{p}c1-e2", "kind": "refer-to-siu", "at": "2026-01-07T08:00:00Z"},
        {"id": f"{p}c1-e3", "kind": "verify-evidence", "at": "2026-01-07T09:00:00Z"},
    ]
    assert api.post(f"/v1/cases/{p}c1/events", json={"events": events}).status_code == 200
    actions = by_action(recommendations(api, f"{p}c1"))
    assert "refer-to-siu" not in actions  # not repeatable
    assert "verify-evidence" in actions  # repeatable


def test_accept_is_recorded_with_an_event_in_the_timeline(
    api: TestClient, graph: Graph, p: str
) -> None:
    put(api, claim(p))
    rec = by_action(recommendations(api, f"{p}c1"))["refer-to-siu"]
    url = f"/v1/cases/{p}c1/recommendations/{rec['id']}"
    response = api.post(f"{url}/accept", json={"expert": f"{p}kim"})
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["outcome"] == "accepted"
    assert decision["action"] == decision["recommended_action"] == "refer-to-siu"
    assert decision["rule"] == "flagged-party" and decision["case_type"] == "insurance-claim"
    assert decision["expert"] == f"{p}kim" and decision["recommendation_id"] == rec["id"]
    stored = graph.read(DECISIONS, case_id=f"{p}c1")
    assert stored == [
        {"expert": f"{p}kim", "outcome": "accepted", "action": "refer-to-siu", "rid": rec["id"]}
    ]
    timeline = api.get(f"/v1/cases/{p}c1/timeline").json()["entries"]
    taken = [
        e["item"] for e in timeline if e["type"] == "event" and e["item"]["kind"] == "refer-to-siu"
    ]
    assert len(taken) == 1 and taken[0]["actor"] == f"{p}kim"
    assert taken[0]["attributes"]["recommendation"] == rec["id"]
    # Decided, and the action is taken and not repeatable: it is not recommended again.
    assert "refer-to-siu" not in by_action(recommendations(api, f"{p}c1"))
    # Deciding again, either way, is a conflict; the decision stays as it was.
    error_of(api.post(f"{url}/accept", json={"expert": f"{p}lee"}), 409, "already-decided")
    body = {"expert": f"{p}lee", "action": "request-documents", "reason": "not enough evidence yet"}
    error_of(api.post(f"{url}/override", json=body), 409, "already-decided")
    assert len(graph.read(DECISIONS, case_id=f"{p}c1")) == 1


def test_override_is_recorded_with_the_action_taken(api: TestClient, graph: Graph, p: str) -> None:
    put(api, claim(p))
    rec = by_action(recommendations(api, f"{p}c1"))["refer-to-siu"]
    body = {
        "expert": f"{p}kim",
        "action": "request-documents",
        "reason": "the flag was a false positive from last year",
    }
    url = f"/v1/cases/{p}c1/recommendations/{rec['id']}/override"
    response = api.post(url, json=body)
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["outcome"] == "overridden"
    assert decision["recommended_action"] == "refer-to-siu"
    assert decision["action"] == "request-documents"
    assert decision["reason"] == body["reason"]
    timeline = api.get(f"/v1/cases/{p}c1/timeline").json()["entries"]
    kinds = [e["item"]["kind"] for e in timeline if e["type"] == "event"]
    assert "request-documents" in kinds and "refer-to-siu" not in kinds
    # An overridden recommendation is not offered again.
    assert rec["id"] not in {i["id"] for i in recommendations(api, f"{p}c1")}


def test_bad_overrides_are_422_naming_the_field(api: TestClient, graph: Graph, p: str) -> None:
    put(api, claim(p))
    rec = by_action(recommendations(api, f"{p}c1"))["refer-to-siu"]
    url = f"/v1/cases/{p}c1/recommendations/{rec['id']}/override"
    cases = [
        ({"action": "request-documents", "reason": "false positive"}, "reason"),
        ({"action": "pay-everyone", "reason": "this is what we do"}, "action"),
        ({"action": "contact-customer", "reason": "a claim has no customer"}, "action"),
        ({"action": "refer-to-siu", "reason": "the same thing again"}, "action"),
    ]
    for fields, field in cases:
        error = error_of(api.post(url, json={"expert": f"{p}kim", **fields}), 422, "invalid-input")
        assert [d["field"] for d in error["details"]] == [field], error
    error = error_of(api.post(url, json={"expert": f"{p}kim"}), 422, "invalid-input")
    assert {d["field"] for d in error["details"]} == {"action", "reason"}
    error_of(api.post(url.replace("/override", "/accept"), json={}), 422, "invalid-input")
    assert graph.read(DECISIONS, case_id=f"{p}c1") == []


def test_unknown_recommendation_is_404(api: TestClient, p: str) -> None:
    put(api, claim(p, 1), claim(p, 2))
    other = by_action(recommendations(api, f"{p}c2"))["refer-to-siu"]["id"]
    for case_id, rid in ((f"{p}c1", "rec-0000000000000000"), (f"{p}c1", other)):
        response = api.post(
            f"/v1/cases/{case_id}/recommendations/{rid}/accept", json={"expert": f"{p}kim"}
        )
        error_of(response, 404, "not-found")
    response = api.post(
        f"/v1/cases/{p}nope/recommendations/{other}/accept", json={"expert": f"{p}kim"}
    )
    error_of(response, 404, "not-found")


def test_without_a_case_graph_the_routes_are_503() -> None:
    settings = Settings(rules_dir=RULES, knowledge_dir=KNOWLEDGE, neo4j_uri=None)
    with as_role(TestClient(make_app(settings, Registry())), "system") as client:
        error_of(client.get("/v1/cases/c1/recommendations"), 503, "graph-unavailable")
        response = client.post("/v1/cases/c1/recommendations/rec-1/accept", json={"expert": "kim"})
        error_of(response, 503, "graph-unavailable")
        paths = client.get("/openapi.json").json()["paths"]
        assert "/v1/cases/{case_id}/recommendations/{rid}/override" in paths
