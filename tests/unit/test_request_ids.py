"""Every answer carries a request id (the client's when sane), error pages show it, and with
JSON logs each request is one line naming it with the decision it answered."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from service.engine import Registry
from service.http.logsetup import JsonFormatter
from service.settings import Settings
from tests.auth import make_client
from tests.fixtures import RULES
from tests.pagetree import parse

ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        rules_dir=RULES, watch="off", spool_dir=tmp_path, neo4j_uri=None, log_format="json"
    )


def test_the_answer_names_the_request_and_keeps_a_sane_client_id(
    settings: Settings, rules_registry: Registry
) -> None:
    with make_client(settings, rules_registry) as client:
        mine = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a:91.2"})
        assert mine.headers["x-request-id"] == "lb-7f3a:91.2"
        made = [client.get("/healthz").headers["x-request-id"] for _ in range(2)]
        assert made[0] != made[1]
        for insane in ("has space", "x" * 200, "new\\nline"):
            given = client.get("/healthz", headers={"X-Request-Id": insane})
            assert given.headers["x-request-id"] not in (insane, "")


def test_an_error_page_shows_the_request_id(settings: Settings, rules_registry: Registry) -> None:
    with make_client(settings, rules_registry) as client:
        page = client.get(
            "/v1/rulesets/nope", headers={"Accept": "text/html", "X-Request-Id": "req-404-page"}
        )
        assert page.status_code == 404
        assert page.headers["x-request-id"] == "req-404-page"
        assert "req-404-page" in parse(page.text).one("p", cls="request-id").text()


def test_one_json_line_per_request_with_its_decision(
    settings: Settings, rules_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(settings, rules_registry) as client, caplog.at_level(logging.INFO):
        answer = client.post(
            "/v1/decisions/invoice-approval", json=ROUTINE, headers={"X-Request-Id": "req-1"}
        )
        assert answer.status_code == 200
        refused = client.post("/v1/decisions/invoice-approval", json={"amount": "lots"})
        assert refused.status_code == 422
    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "casewise.access"
    ]
    decided = [line for line in lines if line["request_id"] == "req-1"]
    assert len(decided) == 1
    line = decided[0]
    assert line["decision_id"] == answer.json()["id"]
    assert line["ruleset"] == "invoice-approval"
    assert line["version"] == answer.json()["version"]
    assert line["caller"] == "system"  # the shared test key's name
    assert line["status"] == 200 and line["duration_ms"] > 0
    assert line["method"] == "POST" and line["path"] == "/v1/decisions/invoice-approval"
    failed = [x for x in lines if x["request_id"] == refused.headers["x-request-id"]]
    assert failed[0]["status"] == 422 and "decision_id" not in failed[0]
