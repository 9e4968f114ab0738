"""/metrics names every ruleset and version: only an admin, or a key for every ruleset, reads it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.auth.store import create_key
from service.engine import Registry
from service.settings import Settings
from tests.auth import as_role, make_app, memory
from tests.fixtures import RULES


@pytest.fixture(scope="module")
def scoped_key() -> str:
    store, _ = memory()
    return create_key(store, "metrics-scoped", ["invoice-approval"])


@pytest.fixture(scope="module")
def rules_registry() -> Registry:
    registry = Registry()
    assert registry.load_dir(RULES) == []
    return registry


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        rules_dir=RULES, watch="off", neo4j_uri=None, spool_dir=tmp_path_factory.mktemp("spool")
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("expert", 403), ("author", 403), ("admin", 200), ("system", 200)],
)
def test_metrics_are_for_admins_and_keys_for_every_ruleset(
    settings: Settings, rules_registry: Registry, role: str, status: int
) -> None:
    with TestClient(make_app(settings, rules_registry)) as client:
        answer = as_role(client, role).get("/metrics")
        assert answer.status_code == status, answer.text
        if status == 200:
            assert answer.headers["content-type"].startswith("text/plain")
            assert "casewise_http_request_seconds_bucket" in answer.text
        else:
            assert "casewise_" not in answer.text


def test_a_key_for_some_rulesets_may_not_read_the_metrics(
    settings: Settings, rules_registry: Registry, scoped_key: str
) -> None:
    with TestClient(make_app(settings, rules_registry)) as client:
        answer = as_role(client, "system", key=scoped_key).get("/metrics")
        assert answer.status_code == 403
        error = answer.json()["error"]
        assert error["code"] == "forbidden" and "--rulesets '*'" in error["message"]
        assert "casewise_" not in answer.text
