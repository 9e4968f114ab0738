"""Escalation: a decision with ``open_case: true`` opens one case, linked to the decision."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from service.graph.db import Graph
from service.settings import Settings
from tests.auth import as_role, make_app

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

RULES = Path(__file__).parents[2] / "rules"
FRAUD = {"amount": 20000, "department": "IT", "vendor": {"risk": "high", "name": "Shady Ltd"}}
ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}
DECISION_OF_CASE = """
MATCH (d:RoutingDecision)-[:OPENED]->(c:Case {id: $id})
RETURN d {.*} AS d, c {.*} AS c
"""


def settings_for(uri: str, server: Neo4jServer | None = None) -> Settings:
    extra = {}
    if server is not None:
        extra = {"neo4j_user": server.user, "neo4j_password": server.password}
    return Settings(rules_dir=RULES, neo4j_uri=uri, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api(neo4j_server: Neo4jServer) -> Iterator[TestClient]:
    with as_role(
        TestClient(make_app(settings_for(neo4j_server.uri, neo4j_server))), "system"
    ) as client:
        yield client


def decide(client: TestClient, data: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/v1/decisions/invoice-approval", json=data, headers=headers)


def test_a_case_opening_decision_creates_one_case(api: TestClient, graph: Graph) -> None:
    response = decide(api, FRAUD)
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["outputs"]["open_case"] is True
    assert decision["case_id"] == f"case-{decision['id']}"
    [row] = graph.read(DECISION_OF_CASE, id=decision["case_id"])
    case, routing = row["c"], row["d"]
    assert case["type"] == "invoice-fraud" and case["status"] == "open"
    assert case["priority"] == 3
    assert routing["id"] == decision["id"] and routing["ruleset"] == "invoice-approval"
    assert routing["version"] == decision["version"]
    assert json.loads(routing["input"]) == FRAUD
    assert json.loads(routing["outputs"]) == decision["outputs"]
    assert [f["rule"] for f in json.loads(routing["fired"])] == [
        f["rule"] for f in decision["fired"]
    ]
    page = api.get(f"/v1/cases/{decision['case_id']}/timeline").json()
    assert [e["type"] for e in page["entries"]] == ["decision"]
    assert page["entries"][0]["item"]["outputs"] == decision["outputs"]  # JSON again, not text
    got = api.get(f"/v1/cases/{decision['case_id']}").json()
    assert [d["id"] for d in got["decisions"]] == [decision["id"]]


def test_same_idempotency_key_gives_the_same_case_once(api: TestClient, graph: Graph) -> None:
    key = f"k-{uuid.uuid4().hex}"
    first = decide(api, FRAUD, key).json()
    again = decide(api, FRAUD, key).json()
    assert first["id"] == again["id"] == key
    assert first["case_id"] == again["case_id"] == f"case-{key}"
    rows = graph.read(
        "MATCH (d:RoutingDecision {id: $id})-[:OPENED]->(c:Case) RETURN c.id AS id", id=key
    )
    assert rows == [{"id": f"case-{key}"}]


def test_routine_decisions_open_no_case(api: TestClient, graph: Graph) -> None:
    key = f"k-{uuid.uuid4().hex}"
    decision = decide(api, ROUTINE, key).json()
    assert decision["outputs"]["open_case"] is False and "case_id" not in decision
    # The decision log records it (service.decisionlog), but it opens nothing.
    assert graph.read("MATCH (d:RoutingDecision {id: $id})-[:OPENED]->() RETURN d", id=key) == []


def test_batch_opens_a_case_per_item_that_asks(api: TestClient, graph: Graph) -> None:
    key = f"k-{uuid.uuid4().hex}"
    body = {"items": [ROUTINE, FRAUD, {"amount": -1}]}
    for _ in range(2):
        response = api.post(
            "/v1/decisions/invoice-approval/batch", json=body, headers={"Idempotency-Key": key}
        )
        results = response.json()["results"]
        assert "case_id" not in results[0]["decision"]
        assert results[1]["decision"]["case_id"] == f"case-{key}.1"
        assert results[2]["error"]["code"] == "invalid-input"
    rows = graph.read(
        "MATCH (d:RoutingDecision)-[:OPENED]->(c:Case) WHERE d.id STARTS WITH $key "
        "RETURN c.id AS id",
        key=key,
    )
    assert rows == [{"id": f"case-{key}.1"}]


def test_a_bad_idempotency_key_is_422(api: TestClient) -> None:
    response = decide(api, ROUTINE, "no spaces please")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_neo4j_down_still_answers_a_case_opening_decision_with_its_case_to_be() -> None:
    uri = f"bolt://127.0.0.1:{_free_port()}"
    with as_role(TestClient(make_app(settings_for(uri))), "system") as client:
        assert decide(client, ROUTINE).status_code == 200
        started = time.monotonic()
        fraud = decide(client, FRAUD)
        assert fraud.status_code == 200, fraud.text
        # the decision log keeps the record; its flusher opens the case when Neo4j is back
        assert fraud.json()["case_id"] == f"case-{fraud.json()['id']}"
        assert time.monotonic() - started < 15
        started = time.monotonic()
        batch = client.post(
            "/v1/decisions/invoice-approval/batch", json={"items": [FRAUD, ROUTINE]}
        )
        results = batch.json()["results"]
        assert results[0]["decision"]["case_id"] == f"case-{results[0]['decision']['id']}"
        assert results[1]["decision"]["outputs"]["route"] == "auto"
        assert time.monotonic() - started < 2  # known down: no second wait for the driver
        assert client.get("/v1/cases").status_code == 503


def test_neo4j_down_without_the_decision_log_answers_503_for_case_decisions() -> None:
    uri = f"bolt://127.0.0.1:{_free_port()}"
    settings = settings_for(uri).model_copy(update={"decision_log": "off"})
    with as_role(TestClient(make_app(settings)), "system") as client:
        routine = decide(client, ROUTINE)
        assert routine.status_code == 200, routine.text
        started = time.monotonic()
        fraud = decide(client, FRAUD)
        assert fraud.status_code == 503, fraud.text
        error = fraud.json()["error"]
        assert error["code"] == "graph-unavailable" and "not reachable" in error["message"]
        assert time.monotonic() - started < 15
        batch = client.post(
            "/v1/decisions/invoice-approval/batch", json={"items": [FRAUD, ROUTINE]}
        )
        results = batch.json()["results"]
        assert results[0]["error"]["code"] == "graph-unavailable"
        assert results[1]["decision"]["outputs"]["route"] == "auto"
        assert client.get("/v1/cases").status_code == 503


def test_without_a_graph_decisions_still_answer() -> None:
    settings = Settings(rules_dir=RULES, neo4j_uri=None)
    with as_role(TestClient(make_app(settings, Registry())), "system") as client:
        assert client.get("/readyz").status_code in {200, 503}
    with as_role(TestClient(make_app(settings)), "system") as client:
        decision = decide(client, FRAUD).json()
        assert decision["outputs"]["open_case"] is True and decision["case_id"] is None
