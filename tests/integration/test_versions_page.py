"""The versions page: every version that served, with its decisions, any two compared in colour,
and the reload button that makes a new version serve."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.auth import csrf
from tests.pagetree import Node, parse
from tests.rulefiles import rule_text

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]


def _used(tree: Node, version: str) -> str | None:
    row = tree.one(id="versions").find("tr", **{"data-version": version})
    return row.one("td", cls="used").text() if row else None


def _versions_when(
    client: TestClient, name: str, ready: Callable[[Node], bool], timeout: float = 15
) -> Node:
    """The versions page once ``ready`` holds of it (decisions reach Neo4j in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(f"/rules/{name}/versions")
        assert page.status_code == 200, page.text
        tree = parse(page.text)
        if ready(tree) or time.monotonic() > deadline:
            return tree
        time.sleep(0.1)


def test_reload_button_then_versions_listed_with_decisions_and_compared(
    served_rules: tuple[TestClient, Path], ruleset_name: str
) -> None:
    client, file = served_rules
    name = ruleset_name
    client.get("/rules")  # a session, for the forms' CSRF token
    first = client.get(f"/v1/rulesets/{name}/status").json()["version"]
    for amount in (5, 50):
        assert client.post(f"/v1/decisions/{name}", json={"amount": amount}).status_code == 200
    file.write_text(rule_text(2, name=name))
    reloaded = client.post("/rules/reload", data={"csrf": csrf(client)})
    assert reloaded.status_code == 200
    report = parse(reloaded.text).one(id="reload-report").text()
    assert "every file loaded" in report and f"changed: {name}" in report
    second = client.get(f"/v1/rulesets/{name}/status").json()["version"]
    assert second != first

    tree = _versions_when(client, name, lambda t: _used(t, first) == "2")
    rows = tree.one(id="versions").find_all("tr", **{"data-version": second})
    assert rows and "serving" in rows[0].text()
    assert _used(tree, first) == "2"  # the decisions it made
    # the latest change is chosen to start with
    assert "checked" in tree.one("input", name="from", value=first).attrs

    diff = parse(client.get(f"/rules/{name}/versions?from={first}&to={second}").text)
    unified = diff.one(id="unified")
    deleted = [s.text() for s in unified.find_all("span", cls="del")]
    added = [s.text() for s in unified.find_all("span", cls="add")]
    assert "- version_no: {type: integer, default: 1}" in deleted  # (whitespace collapsed)
    assert "+ version_no: {type: integer, default: 2}" in added

    side = parse(
        client.get(f"/rules/{name}/versions?from={first}&to={second}&view=side-by-side").text
    ).one(id="side-by-side")
    changed = side.find_all("tr", cls="change")
    assert any("default: 1" in r.text() and "default: 2" in r.text() for r in changed)

    file_page = client.get(f"/rules/{name}/versions/{first}")
    cells = parse(file_page.text).one(id="L1").find_all("td")
    assert [c.text() for c in cells] == ["1", f"ruleset: {name}"]
    raw = client.get(f"/rules/{name}/versions/{first}?raw=1")
    assert raw.text == rule_text(1, name=name)

    bad = client.get(f"/rules/{name}/versions?from=abc", headers={"Accept": "text/html"})
    assert bad.status_code == 422 and re.search("64 lower-case hex", bad.text)
