"""The HTTP API against the fixture rulesets, through the ASGI app."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from service.settings import Settings
from tests.auth import as_role, make_app, make_client, memory
from tests.fixtures import BROKEN, RULES

INVOICE_VERSION = hashlib.sha256((RULES / "invoice-approval.yaml").read_bytes()).hexdigest()


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    return dict(body["error"])


def fired(decision: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in decision["fired"]]


# --- decisions ---------------------------------------------------------------------------


def test_small_invoice_from_low_risk_vendor_is_approved_automatically(client: TestClient) -> None:
    data = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}
    response = client.post("/v1/decisions/invoice-approval", json=data)
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["ruleset"] == "invoice-approval"
    assert decision["version"] == INVOICE_VERSION
    assert decision["outputs"]["route"] == "auto"
    assert decision["outputs"]["sla_hours"] == 24
    assert decision["outputs"]["open_case"] is False
    assert fired(decision) == ["sla#2", "small-low-risk"]
    rule = decision["fired"][1]
    assert rule["values"] == {"amount": 120, "vendor.risk": "low"}
    assert decision["facts"] == []
    assert decision["id"]
    assert decision["duration_ms"] >= 0


def test_large_invoice_from_risky_vendor_goes_to_cfo_and_opens_a_case(client: TestClient) -> None:
    data = {"amount": 20000, "department": "IT", "vendor": {"risk": "high"}}
    decision = client.post("/v1/decisions/invoice-approval", json=data).json()
    assert decision["outputs"]["route"] == "cfo"
    assert decision["outputs"]["approvers"] == ["line-manager", "cfo"]
    assert decision["outputs"]["open_case"] is True
    assert decision["outputs"]["sla_hours"] == 48
    assert decision["facts"] == ["fraud-check"]
    rules = fired(decision)
    assert rules[0] == "sla#1"
    # The derived fact is asserted before the rule that matches it fires.
    assert rules.index("risky-vendor") < rules.index("fraud-case")
    assert set(rules) == {"sla#1", "large", "risky-vendor", "fraud-case"}


def test_each_decision_has_its_own_id(client: TestClient) -> None:
    data = {"amount": 1, "department": "Ops"}
    first = client.post("/v1/decisions/invoice-approval", json=data).json()
    second = client.post("/v1/decisions/invoice-approval", json=data).json()
    assert first["id"] != second["id"]
    assert first["outputs"] == second["outputs"]


def test_unknown_ruleset_is_404(client: TestClient) -> None:
    response = client.post("/v1/decisions/no-such-rules", json={"amount": 1})
    error = assert_error(response, 404, "not-found")
    assert "no-such-rules" in error["message"]


def test_invalid_input_names_every_bad_field(client: TestClient) -> None:
    data = {"amount": -5, "department": "Legal", "vendor": {"risk": "extreme"}, "colour": "red"}
    response = client.post("/v1/decisions/invoice-approval", json=data)
    error = assert_error(response, 422, "invalid-input")
    fields = {d["field"] for d in error["details"]}
    assert fields == {"amount", "department", "vendor.risk", "colour"}
    by_field = {d["field"]: d for d in error["details"]}
    assert by_field["amount"]["value"] == -5
    assert by_field["department"]["value"] == "Legal"
    assert all(d["message"] for d in error["details"])


def test_missing_required_fields_are_named(client: TestClient) -> None:
    response = client.post("/v1/decisions/invoice-approval", json={})
    error = assert_error(response, 422, "invalid-input")
    assert {d["field"] for d in error["details"]} == {"amount", "department"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'"text"', "must be a JSON object, not a string"),
        (b'{"amount": NaN, "department": "IT"}', "NaN"),
    ],
)
def test_body_that_is_not_a_json_object_is_422(
    client: TestClient, body: bytes, problem: str
) -> None:
    response = client.post(
        "/v1/decisions/invoice-approval",
        content=body,
        headers={"content-type": "application/json"},
    )
    error = assert_error(response, 422, "invalid-input")
    assert problem in error["message"]
    assert error["details"][0]["field"] == "(body)"


def test_decision_that_cannot_be_made_is_decision_failed(client: TestClient) -> None:
    response = client.post("/v1/decisions/discount", json={"tier": "silver", "amount": 5000})
    error = assert_error(response, 422, "decision-failed")
    assert error["details"][0] == {"code": "table-not-unique"}


def test_unique_table_with_one_match_decides(client: TestClient) -> None:
    decision = client.post("/v1/decisions/discount", json={"tier": "gold", "amount": 500}).json()
    assert decision["outputs"]["discount"] == 10
    assert fired(decision) == ["by-tier#1"]


# --- limits ------------------------------------------------------------------------------


def small_limits_client(rules_registry: Registry, **limits: int) -> TestClient:
    return make_client(Settings(rules_dir=RULES, **limits), rules_registry)


def test_body_over_the_limit_is_413_by_content_length(rules_registry: Registry) -> None:
    client = small_limits_client(rules_registry, max_body_bytes=100)
    data = {"amount": 1, "department": "IT", "padding": "x" * 200}
    response = client.post("/v1/decisions/invoice-approval", json=data)
    error = assert_error(response, 413, "payload-too-large")
    assert "100 bytes" in error["message"]


def test_body_over_the_limit_is_413_when_streamed(rules_registry: Registry) -> None:
    app = make_app(Settings(rules_dir=RULES, max_body_bytes=100), rules_registry)
    chunks = [b'{"amount": 1, "department": "IT", "padding": "', b"x" * 80, b"x" * 80, b'"}']
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/decisions/invoice-approval",
        "raw_path": b"/v1/decisions/invoice-approval",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Bearer {memory()[1]}".encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["code"] == "payload-too-large"


def test_batch_over_the_limit_is_413(rules_registry: Registry) -> None:
    client = small_limits_client(rules_registry, max_batch=3)
    items = [{"amount": i, "department": "IT"} for i in range(4)]
    response = client.post("/v1/decisions/invoice-approval/batch", json={"items": items})
    error = assert_error(response, 413, "payload-too-large")
    assert error["details"] == [{"limit": 3, "items": 4}]
    ok = client.post("/v1/decisions/invoice-approval/batch", json={"items": items[:3]})
    assert ok.status_code == 200


# --- batch -------------------------------------------------------------------------------


def test_batch_answers_each_item_separately_in_order(client: TestClient) -> None:
    items = [
        {"amount": 120, "department": "IT", "vendor": {"risk": "low"}},
        {"amount": -1, "department": "IT"},
        "not an object",
        {"amount": 20000, "department": "Sales"},
    ]
    response = client.post("/v1/decisions/invoice-approval/batch", json={"items": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 4
    assert results[0]["decision"]["outputs"]["route"] == "auto"
    assert results[1]["error"]["code"] == "invalid-input"
    assert [d["field"] for d in results[1]["error"]["details"]] == ["amount"]
    assert results[2]["error"]["code"] == "invalid-input"
    assert results[3]["decision"]["outputs"]["route"] == "cfo"
    assert all(len(r) == 1 for r in results)


def test_batch_item_that_cannot_be_decided_is_decision_failed(client: TestClient) -> None:
    items = [{"tier": "silver", "amount": 5000}, {"tier": "silver", "amount": 10}]
    results = client.post("/v1/decisions/discount/batch", json={"items": items}).json()["results"]
    assert results[0]["error"]["code"] == "decision-failed"
    assert results[0]["error"]["details"][0] == {"code": "table-not-unique"}
    assert results[1]["decision"]["outputs"]["discount"] == 5


@pytest.mark.parametrize(
    ("body", "fields"),
    [({}, ["items"]), ({"items": {}}, ["items"]), ({"items": [], "extra": 1}, ["extra"])],
)
def test_batch_body_problems_are_named(
    client: TestClient, body: dict[str, Any], fields: list[str]
) -> None:
    response = client.post("/v1/decisions/invoice-approval/batch", json=body)
    error = assert_error(response, 422, "invalid-input")
    assert [d["field"] for d in error["details"]] == fields


def test_batch_for_unknown_ruleset_is_404(client: TestClient) -> None:
    response = client.post("/v1/decisions/nope/batch", json={"items": []})
    assert_error(response, 404, "not-found")


# --- rulesets, probes, routes --------------------------------------------------------------


def test_rulesets_are_listed_with_version_and_counts(client: TestClient) -> None:
    listed = client.get("/v1/rulesets").json()["rulesets"]
    assert [r["name"] for r in listed] == ["discount", "invoice-approval"]
    invoice = listed[1]
    assert invoice["version"] == INVOICE_VERSION
    assert invoice["description"].startswith("Route supplier invoices")
    assert invoice["counts"] == {"inputs": 3, "outputs": 4, "rules": 4, "tables": 1}


def test_ruleset_is_described(client: TestClient) -> None:
    described = client.get("/v1/rulesets/invoice-approval").json()
    assert described["name"] == "invoice-approval"
    assert described["version"] == INVOICE_VERSION
    assert set(described["input"]) == {"amount", "department", "vendor"}
    assert "route" in described["output"]
    assert_error(client.get("/v1/rulesets/nope"), 404, "not-found")


def test_probes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "rulesets": 2}


def test_not_ready_without_rulesets(tmp_path: Any) -> None:
    client = make_client(Settings(rules_dir=tmp_path), Registry())
    assert client.get("/healthz").status_code == 200
    assert_error(client.get("/readyz"), 503, "not-ready")


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    assert_error(client.get("/v2/nothing"), 404, "not-found")
    error = assert_error(
        client.get("/v1/decisions/invoice-approval/batch"), 405, "method-not-allowed"
    )
    assert "POST" in error["message"]


def test_openapi_documents_the_decision_responses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    decide = spec["paths"]["/v1/decisions/{ruleset}"]["post"]
    assert decide["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DecisionOut"
    }
    assert {"404", "413", "422", "500"} <= set(decide["responses"])
    assert decide["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert "/v1/decisions/{ruleset}/batch" in spec["paths"]
    assert {"DecisionOut", "ErrorResponse", "BatchOut"} <= set(spec["components"]["schemas"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_openapi_documents_the_decision_route_as_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    decide = spec["paths"]["/v1/decisions/{ruleset}"]["post"]
    assert {"401", "403", "404", "409", "413", "422", "503"} <= set(decide["responses"])
    errors = {decide["responses"][s]["content"]["application/json"]["schema"]["$ref"]
              for s in ("401", "403", "409", "503")}  # fmt: skip
    assert errors == {"#/components/schemas/ErrorResponse"}
    assert decide["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "Idempotency-Key" in [p["name"] for p in decide["parameters"]]
    answer = spec["components"]["schemas"]["DecisionOut"]["properties"]
    assert {"case_id", "dry_run", "would_open_case"} <= set(answer)
    # One path per served ruleset, with that ruleset's input as its body.
    own = spec["paths"]["/v1/decisions/invoice-approval"]["post"]
    body = own["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["amount", "department"]
    assert body["properties"]["department"]["enum"] == ["IT", "Ops", "Sales"]
    assert body["additionalProperties"] is False
    assert own["security"] == [{"bearer": []}] and "ruleset" not in str(own["parameters"])
    # ...and what it documents is what the route answers.
    good = client.post("/v1/decisions/invoice-approval", json={"amount": 5, "department": "IT"})
    assert good.status_code == 200, good.text
    assert set(good.json()) <= set(answer)
    unknown = client.post("/v1/decisions/invoice-approval", json={"amount": 5, "x": 1})
    assert unknown.status_code == 422


# --- internal errors and start-up ----------------------------------------------------------


class _Exploding:
    name = "boom"

    def evaluate(self, data: dict[str, Any], **kwargs: Any) -> Any:
        raise RuntimeError("secret detail that must not reach the client")


class _ExplodingRegistry:
    def get(self, name: str) -> _Exploding:
        return _Exploding()


def test_internal_error_hides_the_traceback_and_logs_an_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.app.state.registry = _ExplodingRegistry()  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, logger="casewise"):
        response = client.post("/v1/decisions/boom", json={})
    error = assert_error(response, 500, "internal")
    error_id = error["details"][0]["error_id"]
    assert error_id in error["message"]
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    record = next(r for r in caplog.records if error_id in r.getMessage())
    assert record.exc_info is not None


def test_refused_rule_files_are_logged_and_not_served(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="casewise"):
        app = make_app(Settings(rules_dir=BROKEN))
    logged = caplog.text
    assert "typo.yaml:9:" in logged
    assert "amout" in logged
    client = as_role(TestClient(app), "system")
    assert [r["name"] for r in client.get("/v1/rulesets").json()["rulesets"]] == ["fine"]
    assert_error(client.post("/v1/decisions/typo", json={"amount": 1}), 404, "not-found")
