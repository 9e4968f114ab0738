"""The case routes over HTTP (FastAPI's TestClient, lifespan on) against the real Neo4j."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from tests.auth import as_role, make_app
from tests.graphs import settings_for

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]


@pytest.fixture(scope="module")
def api(neo4j_server: Neo4jServer) -> Iterator[TestClient]:
    app = make_app(settings_for(neo4j_server, max_batch=5, link_depth=3), Registry())
    with as_role(TestClient(app), "system") as client:
        yield client


def case(p: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{p}c{n}",
        "type": "customer-complaint",
        "opened_at": "2025-05-01T08:00:00Z",
        "due_at": "2025-05-20T08:00:00Z",
        "parties": [
            {
                "id": f"{p}joe",
                "kind": "person",
                "name": "Joe",
                "role": "complainant",
                "identifiers": [{"kind": "email", "value": f"joe@{p}mail.test"}],
            }
        ],
        "events": [
            {"id": f"{p}c{n}-e1", "kind": "complaint received", "at": "2025-05-01T08:00:00Z"}
        ],
        **extra,
    }


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


def test_write_read_and_close_a_case(api: TestClient, p: str) -> None:
    response = api.post("/v1/cases", json={"cases": [case(p, 1), case(p, 2)]})
    assert response.status_code == 200, response.text
    written = {"cases": 2, "parties": 2, "identifiers": 2, "evidence": 0, "events": 2}
    assert response.json() == {"written": written}
    assert api.post("/v1/cases", json={"cases": [case(p, 1), case(p, 2)]}).json() == {
        "written": written
    }

    evidence = {
        "id": f"{p}ev",
        "kind": "statement",
        "received_at": "2025-05-02T08:00:00Z",
        "concerns": [f"{p}joe"],
    }
    assert api.post(f"/v1/cases/{p}c1/evidence", json={"evidence": [evidence]}).status_code == 200
    party = {"id": f"{p}shop", "kind": "organisation", "name": "Shop", "role": "respondent"}
    assert api.post(f"/v1/cases/{p}c1/parties", json={"parties": [party]}).status_code == 200
    event = {"id": f"{p}c1-e2", "kind": "reply sent", "at": "2025-05-03T08:00:00Z"}
    assert api.post(f"/v1/cases/{p}c1/events", json={"events": [event]}).status_code == 200

    got = api.get(f"/v1/cases/{p}c1").json()
    assert got["type"] == "customer-complaint" and got["status"] == "open"
    assert sorted(x["id"] for x in got["parties"]) == [f"{p}joe", f"{p}shop"]
    assert [e["id"] for e in got["evidence"]] == [f"{p}ev"]
    assert [e["id"] for e in got["events"]] == [f"{p}c1-e1", f"{p}c1-e2"]

    timeline = api.get(f"/v1/cases/{p}c1/timeline").json()
    assert [(e["type"], e["item"]["id"]) for e in timeline["entries"]] == [
        ("event", f"{p}c1-e1"),
        ("evidence", f"{p}ev"),
        ("event", f"{p}c1-e2"),
    ]

    linked = api.get(f"/v1/cases/{p}c1/links").json()
    assert linked["depth"] == 3
    assert [(x["case"]["id"], x["hops"]) for x in linked["links"]] == [(f"{p}c2", 1)]

    closed = api.post(f"/v1/cases/{p}c1/close", json={"outcome": "upheld"}).json()["case"]
    assert closed["status"] == "closed" and closed["outcome"] == "upheld"
    listed = api.get("/v1/cases", params={"type": "customer-complaint", "status": "closed"}).json()
    assert f"{p}c1" in [c["id"] for c in listed["items"]] or listed["total"] > listed["limit"]


def test_bad_payload_is_422_naming_every_bad_field(api: TestClient, p: str) -> None:
    bad = case(p)
    bad["parties"][0]["identifiers"].append({"kind": "fax", "value": "1"})
    bad["priority"] = 9
    bad["colour"] = "red"
    body = {"cases": [case(p, 2), bad]}
    error = error_of(api.post("/v1/cases", json=body), 422, "invalid-input")
    fields = {d["field"] for d in error["details"]}
    assert fields == {
        "cases[1].parties[0].identifiers[1].kind",
        "cases[1].priority",
        "cases[1].colour",
    }
    assert api.get(f"/v1/cases/{p}c2").status_code == 404  # the good case was not written


def test_a_partly_bad_batch_writes_nothing(api: TestClient, p: str) -> None:
    bad = case(p, 2)
    bad["evidence"] = [
        {"id": f"{p}ev", "kind": "photo", "received_at": "2025-05-01", "concerns": [f"{p}ghost"]}
    ]
    error = error_of(api.post("/v1/cases", json={"cases": [case(p, 1), bad]}), 422, "invalid-input")
    assert [d["field"] for d in error["details"]] == ["cases[1].evidence[0].concerns[0]"]
    assert api.get(f"/v1/cases/{p}c1").status_code == 404


def test_unknown_case_is_404_everywhere(api: TestClient, p: str) -> None:
    event = {"id": f"{p}e", "kind": "x", "at": "2025-05-01T00:00:00"}
    for method, path, body in [
        ("post", f"/v1/cases/{p}nope/events", {"events": [event]}),
        ("post", f"/v1/cases/{p}nope/parties", {"parties": []}),
        ("post", f"/v1/cases/{p}nope/evidence", {"evidence": []}),
        ("post", f"/v1/cases/{p}nope/close", {"outcome": "x"}),
        ("get", f"/v1/cases/{p}nope", None),
        ("get", f"/v1/cases/{p}nope/timeline", None),
        ("get", f"/v1/cases/{p}nope/links", None),
    ]:
        response = api.request(method, path, json=body)
        error = error_of(response, 404, "not-found")
        assert f"{p}nope" in error["message"], (method, path)


def test_limits_and_query_checks(api: TestClient, p: str) -> None:
    body = {"cases": [case(p, n) for n in range(6)]}
    error_of(api.post("/v1/cases", json=body), 413, "payload-too-large")
    api.post("/v1/cases", json={"cases": [case(p)]})
    error = error_of(api.get(f"/v1/cases/{p}c1/links", params={"depth": 4}), 422, "invalid-input")
    assert "CASEWISE_LINK_DEPTH" in error["message"]
    error = error_of(
        api.get("/v1/cases", params={"limit": 0, "status": "lost"}), 422, "invalid-input"
    )
    assert {d["field"] for d in error["details"]} == {"limit", "status"}
    error_of(api.get("/v1/cases/bad id!"), 422, "invalid-input")


def test_without_neo4j_uri_the_case_routes_answer_503() -> None:
    with as_role(TestClient(make_app(settings_for(None), Registry())), "system") as client:
        error = error_of(client.get("/v1/cases"), 503, "graph-unavailable")
        assert "NEO4J_URI" in error["message"]
        error_of(client.post("/v1/cases", json={"cases": []}), 503, "graph-unavailable")
