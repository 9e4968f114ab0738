"""A real `casewise serve` (uvicorn, two worker processes) answering decisions over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Neo4jServer
from tests.fixtures import RULES
from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer, graph_key: str
) -> Iterator[str]:
    """Two workers on the session's Neo4j, which holds the users and the key."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = served_env(neo4j_server)
    with casewise_serve(["--workers", "2", "--rules", str(RULES)], env, log) as url:
        yield url


@pytest.fixture
def key(graph_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {graph_key}"}


def test_health_and_readiness(server: str) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server}/readyz").json() == {"status": "ready", "rulesets": 2}


def test_decisions_over_http(server: str, key: dict[str, str]) -> None:
    assert httpx.post(f"{server}/v1/decisions/invoice-approval", json={}).status_code == 401
    with httpx.Client(base_url=server, timeout=10, headers=key) as client:
        for amount, route in [(120, "auto"), (20000, "cfo")]:
            data = {"amount": amount, "department": "IT", "vendor": {"risk": "low"}}
            response = client.post("/v1/decisions/invoice-approval", json=data)
            assert response.status_code == 200, response.text
            assert response.json()["outputs"]["route"] == route
        bad = client.post("/v1/decisions/invoice-approval", json={"amount": "lots"})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid-input"
        missing = client.post("/v1/decisions/nope", json={})
        assert missing.status_code == 404


def test_batch_over_http(server: str, key: dict[str, str]) -> None:
    items = [{"amount": i * 1000, "department": "Ops"} for i in range(50)]
    response = httpx.post(
        f"{server}/v1/decisions/invoice-approval/batch",
        json={"items": items},
        timeout=10,
        headers=key,
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 50
    assert results[-1]["decision"]["outputs"]["route"] == "cfo"


def test_oversized_body_over_http(server: str, key: dict[str, str]) -> None:
    body = b'{"amount": 1, "department": "IT", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = httpx.post(
        f"{server}/v1/decisions/invoice-approval",
        content=body,
        headers={"content-type": "application/json", **key},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload-too-large"
