"""The single-decision route is served ahead of the router (service/api/direct.py) and answers
every error as the router's routes do: the app's handlers, the one shape, the edge's headers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.engine import Registry
from service.settings import Settings
from tests.auth import make_client
from tests.fixtures import RULES
from tests.pagetree import parse

DECIDE = "/v1/decisions/invoice-approval"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(rules_dir=RULES, watch="off", spool_dir=tmp_path, neo4j_uri=None)


def test_errors_of_the_direct_route_take_the_apps_handlers(
    settings: Settings, rules_registry: Registry
) -> None:
    with make_client(settings, rules_registry) as client:
        unknown = client.post("/v1/decisions/nope", json={"amount": 1})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not-found"
        assert unknown.headers["x-frame-options"] == "DENY"
        bad = client.post(DECIDE, json={"amount": "lots", "department": "IT"})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"] == "amount"
        page = client.post(
            "/v1/decisions/nope",
            json={"amount": 1},
            headers={"Accept": "text/html", "X-Request-Id": "direct-404"},
        )
        assert page.status_code == 404
        assert "direct-404" in parse(page.text).one("p", cls="request-id").text()


def test_other_methods_and_paths_still_reach_the_router(
    settings: Settings, rules_registry: Registry
) -> None:
    with make_client(settings, rules_registry) as client:
        wrong = client.get(DECIDE + "/batch")
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "method-not-allowed"
        assert wrong.headers["allow"] == "POST"
        batch = client.post(DECIDE + "/batch", json={"items": [{"amount": 5, "department": "IT"}]})
        assert batch.status_code == 200
        assert batch.json()["results"][0]["decision"]["ruleset"] == "invoice-approval"


def test_an_unexpected_error_is_a_500_with_an_id_and_the_headers(
    settings: Settings, rules_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(settings, rules_registry) as client:
        target = rules_registry.get("invoice-approval")

        def explode(*args: object, **kwargs: object) -> None:
            raise RuntimeError("a detail the client must not see")

        original = target.evaluate
        target.evaluate = explode  # type: ignore[method-assign,assignment]
        try:
            with caplog.at_level(logging.ERROR, logger="casewise"):
                answer = client.post(DECIDE, json={"amount": 5, "department": "IT"})
        finally:
            target.evaluate = original  # type: ignore[method-assign]
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["code"] == "internal" and "a detail" not in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert answer.headers["x-request-id"]
    logged = [r for r in caplog.records if error["details"][0]["error_id"] in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
