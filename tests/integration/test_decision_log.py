"""The decision log against a real Neo4j: decisions land once, with their version and case,
and read back through GET /v1/decisions, GET /v1/decisions/{id} and the JSONL export."""

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

RULES = Path(__file__).parents[2] / "rules"
FRAUD = {"amount": 20000, "department": "IT", "vendor": {"risk": "high", "name": "Shady Ltd"}}
ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}
LOGGED = """
MATCH (d:RoutingDecision) WHERE d.id STARTS WITH $prefix
OPTIONAL MATCH (d)-[r:DECIDED_BY]->(v:RulesetVersion)
WITH d, count(r) AS versions, collect(v.hash) AS hashes
OPTIONAL MATCH (d)-[o:OPENED]->(c:Case)
RETURN d.id AS id, d.caller AS caller, d.case_opened AS case_opened, versions,
       hashes[0] AS hash, count(o) AS opened, collect(c.id) AS cases
ORDER BY id
"""


def settings_for(server: Neo4jServer) -> Settings:
    return Settings(
        rules_dir=RULES,
        neo4j_uri=server.uri,
        neo4j_user=server.user,
        neo4j_password=SecretStr(server.password),
    )


@pytest.fixture(scope="module")
def clients(neo4j_server: Neo4jServer) -> Iterator[tuple[TestClient, TestClient]]:
    """A system client that decides, and an author client that reads the log (same app)."""
    app = make_app(settings_for(neo4j_server))
    with TestClient(app) as system, TestClient(app) as author:
        yield as_role(system, "system"), as_role(author, "author")


def logged(graph: Graph, prefix: str, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    """Wait until ``count`` decisions of the prefix are in Neo4j; give them."""
    deadline = time.monotonic() + timeout
    while True:
        rows = graph.read(LOGGED, prefix=prefix)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def decide(client: TestClient, data: dict[str, Any], key: str) -> dict[str, Any]:
    response = client.post(
        "/v1/decisions/invoice-approval", json=data, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_every_decision_lands_once_with_its_version_and_case(
    clients: tuple[TestClient, TestClient], graph: Graph
) -> None:
    system, _ = clients
    prefix = f"dl-{uuid.uuid4().hex[:8]}-"
    routine = decide(system, ROUTINE, prefix + "a")
    fraud = decide(system, FRAUD, prefix + "b")
    batch = system.post(
        "/v1/decisions/invoice-approval/batch",
        json={"items": [ROUTINE, FRAUD, {"amount": -1}]},
        headers={"Idempotency-Key": prefix + "c"},
    ).json()["results"]
    assert batch[2]["error"]["code"] == "invalid-input"
    again = decide(system, FRAUD, prefix + "b")  # the same key: still one decision
    assert again["case_id"] == fraud["case_id"] == f"case-{prefix}b"
    rows = logged(graph, prefix, 4)
    assert [r["id"] for r in rows] == [prefix + "a", prefix + "b", prefix + "c.0", prefix + "c.1"]
    assert all(r["versions"] == 1 and r["hash"] == routine["version"] for r in rows)
    assert all(r["caller"] == "system" for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id[prefix + "a"]["opened"] == 0 and by_id[prefix + "a"]["case_opened"] is False
    assert by_id[prefix + "b"]["cases"] == [f"case-{prefix}b"]
    assert by_id[prefix + "c.1"]["cases"] == [f"case-{prefix}c.1"]
    assert batch[1]["decision"]["case_id"] == f"case-{prefix}c.1"


def test_read_one_decision_and_an_unknown_one(
    clients: tuple[TestClient, TestClient], graph: Graph
) -> None:
    system, author = clients
    key = f"dl-{uuid.uuid4().hex[:8]}-one"
    decision = decide(system, FRAUD, key)
    logged(graph, key, 1)
    got = author.get(f"/v1/decisions/{key}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["input"] == FRAUD and body["outputs"] == decision["outputs"]
    assert body["fired"] == decision["fired"] and body["facts"] == decision["facts"]
    assert body["version"] == body["decided_by"] == decision["version"]
    assert body["case_id"] == f"case-{key}" and body["case_opened"] is True
    assert body["caller"] == "system" and body["case_outcome"] is None
    assert body["duration_ms"] == decision["duration_ms"] and body["at"].endswith("Z")
    missing = author.get(f"/v1/decisions/{key}-nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not-found"
    assert system.get(f"/v1/decisions/{key}").status_code == 403  # keys decide, authors read


def test_filters_and_paging(clients: tuple[TestClient, TestClient], graph: Graph) -> None:
    system, author = clients
    prefix = f"dl-{uuid.uuid4().hex[:8]}-"
    began = time.time()
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(began - 1))
    for n in range(7):
        decide(system, FRAUD if n % 3 == 0 else ROUTINE, f"{prefix}{n}")
    logged(graph, prefix, 7)
    base = {"ruleset": "invoice-approval", "since": since, "limit": 3}

    def ids(params: dict[str, Any]) -> tuple[list[str], str | None]:
        response = author.get("/v1/decisions", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        mine = [d["id"] for d in page["decisions"] if d["id"].startswith(prefix)]
        return mine, page["next_cursor"]

    # Other tests log decisions too: page through everything since, keep ours.
    seen: list[str] = []
    cursor = None
    while True:
        page_ids, cursor = ids({**base, **({"cursor": cursor} if cursor else {})})
        seen += page_ids
        if cursor is None:
            break
    assert seen == [f"{prefix}{n}" for n in reversed(range(7))]  # newest first
    opened, _ = ids({**base, "limit": 500, "case_opened": "true"})
    assert opened == [f"{prefix}{n}" for n in (6, 3, 0)]
    by_output, _ = ids({**base, "limit": 500, "output": ["open_case:true", "route:auto"]})
    assert by_output == []
    fraud_route = author.get(f"/v1/decisions/{prefix}0").json()["outputs"]["route"]
    by_output, _ = ids({**base, "limit": 500, "output": [f"route:{fraud_route}"]})
    assert set(opened) <= set(by_output)
    routine, _ = ids({**base, "limit": 500, "output": "open_case:false"})
    assert routine == [f"{prefix}{n}" for n in (5, 4, 2, 1)]
    future = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(began + 3600))
    assert ids({**base, "since": future})[0] == []
    version = author.get(f"/v1/decisions/{prefix}0").json()["version"]
    assert len(ids({**base, "limit": 500, "version": version})[0]) == 7
    assert ids({**base, "limit": 500, "version": "0" * 64})[0] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"output": "no-colon"}, "output"),
        ({"case_opened": "maybe"}, "case_opened"),
        ({"cursor": "garbage"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    clients: tuple[TestClient, TestClient], params: dict[str, str], field: str
) -> None:
    _, author = clients
    response = author.get("/v1/decisions", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid-input"
    assert error["details"][0]["field"] == field


def test_export_writes_one_json_line_per_decision(
    clients: tuple[TestClient, TestClient], graph: Graph, neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    system, author = clients
    prefix = f"dl-{uuid.uuid4().hex[:8]}-"
    began = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    for n in range(3):
        decide(system, FRAUD if n == 0 else ROUTINE, f"{prefix}{n}")
    logged(graph, prefix, 3)
    target = tmp_path / "decisions.jsonl"
    done = subprocess.run(
        [str(CASEWISE), "decisions", "export", "--ruleset", "invoice-approval"]
        + ["--since", began, "--output", str(target)],
        env={"PATH": "/usr/bin:/bin", **cli_env(neo4j_server)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    mine = [d for d in lines if d["id"].startswith(prefix)]
    assert [d["id"] for d in mine] == [f"{prefix}{n}" for n in (2, 1, 0)]
    assert mine[2] == author.get(f"/v1/decisions/{prefix}0").json()
    assert f"exported {len(lines)} decision(s)" in done.stderr
    bad = subprocess.run(
        [str(CASEWISE), "decisions", "export", "--since", "soon"],
        env={"PATH": "/usr/bin:/bin", **cli_env(neo4j_server)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_records_spooled_without_a_graph_are_written_by_a_later_start_with_one(
    neo4j_server: Neo4jServer, graph: Graph, tmp_path: Path
) -> None:
    prefix = f"dl-{uuid.uuid4().hex[:8]}-"
    alone = Settings(rules_dir=RULES, neo4j_uri=None, spool_dir=tmp_path)
    with as_role(TestClient(make_app(alone)), "system") as client:
        answers = [decide(client, ROUTINE, f"{prefix}{n}") for n in range(3)]
    assert graph.read(LOGGED, prefix=prefix) == []
    # a segment of a crashed writer: a record without a version, then a torn last line
    orphan = tmp_path / "decisions" / "0000000000001-1-00001.jsonl"
    orphan.write_text(
        json.dumps({"id": f"{prefix}bad", "ruleset": "x", "at": "2026-01-01T00:00:00+00:00"})
        + "\n"
        + '{"id": "torn'
    )
    with TestClient(
        make_app(settings_for(neo4j_server).model_copy(update={"spool_dir": tmp_path}))
    ):
        rows = logged(graph, prefix, 3)
    assert [r["id"] for r in rows] == [a["id"] for a in answers]
    assert all(r["versions"] == 1 for r in rows)
    assert list((tmp_path / "decisions").glob("*.jsonl")) == []  # all written, all deleted
