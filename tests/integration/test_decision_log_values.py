"""A decision's intermediate values are in its log record: GET /v1/decisions/{id}, the JSONL
export and a replayed Idempotency-Key answer carry them, as the first answer did."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.graph.db import Graph
from service.settings import Settings
from tests.auth import as_role, make_app
from tests.graphs import Neo4jServer, cli_env
from tests.serving import CASEWISE

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

# A ruleset of its own name (so the export can select it): a table decides the value `base`,
# a rule the value `surcharge`, and the output reads both.
SHIPPING = """
ruleset: {name}
input:
  zone: {{type: string, enum: [domestic, world], required: true}}
  weight_kg: {{type: number, minimum: 0, required: true}}
  express: {{type: boolean, default: false}}
values:
  base: {{type: number, description: price per kg for the zone}}
  surcharge: {{type: number, default: 0}}
output:
  dear: {{type: boolean, default: false}}
rules:
  - id: express-costs-more
    when: express
    then: {{set: {{surcharge: 15}}}}
  - id: dear
    when: weight_kg * base + surcharge > 100
    then: {{set: {{dear: true}}}}
tables:
  - id: base-rate
    hit: unique
    inputs: [zone]
    outputs: [base]
    rows:
      - ['"domestic"', 2]
      - ['"world"', 12]
"""
FOUND = "MATCH (d:RoutingDecision) WHERE d.id STARTS WITH $prefix RETURN d.id AS id ORDER BY id"


@pytest.fixture(scope="module")
def ruleset() -> str:
    return f"ship{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def clients(
    neo4j_server: Neo4jServer, ruleset: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, TestClient]]:
    rules = tmp_path_factory.mktemp("rules")
    (rules / f"{ruleset}.yaml").write_text(SHIPPING.format(name=ruleset))
    settings = Settings(
        rules_dir=rules,
        neo4j_uri=neo4j_server.uri,
        neo4j_user=neo4j_server.user,
        neo4j_password=SecretStr(neo4j_server.password),
    )
    app = make_app(settings)
    with TestClient(app) as system, TestClient(app) as author:
        yield as_role(system, "system"), as_role(author, "author")


def logged(graph: Graph, prefix: str, count: int, timeout: float = 15) -> list[str]:
    """Wait until ``count`` decisions of the prefix are in Neo4j; give their ids."""
    deadline = time.monotonic() + timeout
    while True:
        ids = [r["id"] for r in graph.read(FOUND, prefix=prefix)]
        if len(ids) >= count or time.monotonic() > deadline:
            return ids
        time.sleep(0.1)


def decide(client: TestClient, ruleset: str, data: dict[str, Any], key: str) -> dict[str, Any]:
    response = client.post(f"/v1/decisions/{ruleset}", json=data, headers={"Idempotency-Key": key})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_logged_decision_has_the_values_it_was_answered_with(
    clients: tuple[TestClient, TestClient], graph: Graph, ruleset: str
) -> None:
    system, author = clients
    key = f"dv-{uuid.uuid4().hex[:8]}"
    answer = decide(system, ruleset, {"zone": "world", "weight_kg": 10, "express": True}, key)
    assert answer["values"] == {"base": 12, "surcharge": 15} and answer["outputs"]["dear"]
    assert logged(graph, key, 1) == [key]
    got = author.get(f"/v1/decisions/{key}")
    assert got.status_code == 200, got.text
    assert got.json()["values"] == {"base": 12, "surcharge": 15}
    # once Neo4j has the record, a replay is answered from it: values and all
    again = decide(system, ruleset, {"zone": "world", "weight_kg": 10, "express": True}, key)
    assert again == answer


def test_a_replay_before_the_flush_and_the_export_carry_the_values(
    clients: tuple[TestClient, TestClient],
    graph: Graph,
    neo4j_server: Neo4jServer,
    ruleset: str,
    tmp_path: Path,
) -> None:
    system, author = clients
    prefix = f"dv-{uuid.uuid4().hex[:8]}-"
    first = decide(system, ruleset, {"zone": "domestic", "weight_kg": 3}, prefix + "a")
    replay = decide(system, ruleset, {"zone": "domestic", "weight_kg": 3}, prefix + "a")
    assert replay == first and first["values"] == {"base": 2, "surcharge": 0}
    assert logged(graph, prefix, 1) == [prefix + "a"]
    target = tmp_path / "decisions.jsonl"
    done = subprocess.run(
        [str(CASEWISE), "decisions", "export", "--ruleset", ruleset, "--output", str(target)],
        env={"PATH": "/usr/bin:/bin", **cli_env(neo4j_server)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    exported = [json.loads(line) for line in target.read_text().splitlines()]
    mine = [d for d in exported if d["id"] == prefix + "a"]
    assert len(mine) == 1 and mine[0]["values"] == {"base": 2, "surcharge": 0}
    assert mine[0] == author.get(f"/v1/decisions/{prefix}a").json()
