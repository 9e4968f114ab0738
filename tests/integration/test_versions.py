"""Every version that served is kept in Neo4j: listed, fetched, diffed; spooled while absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from service.graph.db import Graph, GraphUnavailable
from service.graph.versions import VersionKeeper, get_version, list_versions
from tests.rulefiles import rule_text

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]


def test_a_version_kept_while_neo4j_is_absent_is_stored_when_it_is_back(
    tmp_path: Path, graph: Graph, ruleset_name: str
) -> None:
    name = ruleset_name
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / f"{name}.yaml").write_text(rule_text(1, name=name))
    registry = Registry()
    registry.reload(rules)
    available = False

    def the_graph() -> Graph:
        if not available:
            raise GraphUnavailable("Neo4j is down (test)")
        return graph

    keeper = VersionKeeper(tmp_path / "spool" / "versions", the_graph, retry=0.1)
    keeper.keep(registry.files.take_started())
    version = registry.get(name).version
    assert (tmp_path / "spool" / "versions" / f"{version}.json").exists()
    with pytest.raises(GraphUnavailable):
        keeper.flush()
    # a restart finds the spooled file: a new keeper over the same folder stores it
    keeper = VersionKeeper(tmp_path / "spool" / "versions", the_graph, retry=0.1)
    available = True
    assert keeper.flush() == 1
    assert list((tmp_path / "spool" / "versions").iterdir()) == []
    [row] = list_versions(graph, name)
    assert row["hash"] == version
    stored = get_version(graph, name, version)
    assert stored["content"] == (rules / f"{name}.yaml").read_text()
    assert stored["kind"] == "ruleset"


def _flushed(client: TestClient) -> None:
    keeper: VersionKeeper = client.app.state.reloader.keeper  # type: ignore[attr-defined]
    keeper.flush()


def test_versions_are_listed_fetched_and_diffed(
    served_rules: tuple[TestClient, Path], ruleset_name: str
) -> None:
    client, file = served_rules
    name = ruleset_name
    first_text = file.read_text()
    first = client.get(f"/v1/rulesets/{name}/status").json()["version"]
    file.write_text(rule_text(2, name=name))
    client.post("/v1/rulesets/reload")
    second = client.get(f"/v1/rulesets/{name}/status").json()["version"]
    _flushed(client)

    listed = client.get(f"/v1/rulesets/{name}/versions").json()
    assert listed["serving"] == second
    assert [(v["hash"], v["serving"]) for v in listed["versions"]] == [
        (second, True),
        (first, False),
    ]
    old = listed["versions"][1]
    assert old["first_served_at"] <= old["last_served_at"]

    fetched = client.get(f"/v1/rulesets/{name}/versions/{first}").json()
    assert fetched["content"] == first_text and fetched["serving"] is False

    diff = client.get(f"/v1/rulesets/{name}/diff", params={"from": first}).json()
    assert diff["to"] == second
    assert f"--- {name}@{first[:12]}" in diff["diff"]
    assert "-  version_no: {type: integer, default: 1}" in diff["diff"]
    assert "+  version_no: {type: integer, default: 2}" in diff["diff"]

    missing = client.get(f"/v1/rulesets/{name}/versions/{'0' * 64}")
    assert missing.status_code == 404
    assert f"GET /v1/rulesets/{name}/versions" in missing.json()["error"]["message"]
    assert client.get("/v1/rulesets/no-such-thing/versions").status_code == 404


def test_playbook_versions_are_kept_too(served_rules: tuple[TestClient, Path]) -> None:
    client, _ = served_rules
    _flushed(client)
    listed = client.get("/v1/rulesets/insurance-claim/versions").json()
    assert listed["serving"] in [v["hash"] for v in listed["versions"]]
    assert {v["kind"] for v in listed["versions"]} == {"playbook"}
