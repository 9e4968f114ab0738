"""The decision log page: filtered, paged by cursor, one decision explained, exported as JSONL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.web import decisions_page
from tests.graphs import Neo4jServer, settings_for
from tests.pagetree import Node, parse
from tests.rulefiles import rule_text

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]


@pytest.fixture
def name() -> str:
    return f"t{uuid.uuid4().hex[:10]}-price"


@pytest.fixture
def client(tmp_path: Path, neo4j_server: Neo4jServer, name: str) -> Iterator[TestClient]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / f"{name}.yaml").write_text(rule_text(1, name=name))
    settings = settings_for(neo4j_server, auth="off", watch="off", spool_dir=tmp_path / "spool")
    settings = settings.model_copy(update={"rules_dir": rules})
    with TestClient(create_app(settings)) as client:
        yield client


def _rows(client: TestClient, url: str, count: int, timeout: float = 15) -> Node:
    """The page at ``url`` once it lists ``count`` decisions (written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        tree = parse(client.get(url).text)
        if len(_ids(tree)) >= count or time.monotonic() > deadline:
            return tree
        time.sleep(0.1)


def _ids(tree: Node) -> list[str]:
    return [
        r.get("data-decision")
        for r in tree.one(id="decisions").find_all("tr")
        if r.get("data-decision")
    ]


def test_filter_page_open_and_export(
    client: TestClient, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [client.post(f"/v1/decisions/{name}", json={"amount": a}).json() for a in (5, 50, 70)]
    big = {a["id"] for a in answers if a["outputs"]["big"]}
    assert len(big) == 2
    url = f"/decisions?ruleset={name}&output=big:true"
    tree = _rows(client, url, 2)
    assert set(_ids(tree)) == big

    monkeypatch.setattr(decisions_page, "PAGE", 2)
    first = _rows(client, f"/decisions?ruleset={name}", 2)
    following = first.one(id="next-page").get("href")
    second = parse(client.get(following).text)
    assert len(_ids(first)) == 2 and len(_ids(second)) == 1
    assert set(_ids(first)) | set(_ids(second)) == {a["id"] for a in answers}

    one = parse(client.get(f"/decisions/{answers[1]['id']}").text)
    fired = one.one(id="fired").text()
    assert "big-amount" in fired and "amount" in fired and "50" in fired  # the value it read
    assert "no case was opened" in one.one(id="case").text()

    exported = client.get(f"/decisions/export?ruleset={name}&output=big:true")
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in exported.headers["content-disposition"]
    lines = [orjson.loads(line) for line in exported.text.splitlines()]
    assert {d["id"] for d in lines} == big and all(d["ruleset"] == name for d in lines)

    everything = client.get("/decisions/export", headers={"Accept": "text/html"})
    assert everything.status_code == 422 and "casewise decisions export" in everything.text

    bad = client.get(f"/decisions?ruleset={name}&output=big")
    assert bad.status_code == 422
    assert "FIELD:VALUE" in parse(bad.text).one(id="filter-error").text()
    assert client.get("/decisions/no-such-decision").status_code == 404
