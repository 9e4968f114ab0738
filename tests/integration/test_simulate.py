"""Simulation against the decision log in Neo4j: reading in pages, the CLI end to end, and a
playbook replayed on experts' decisions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.engine import load_ruleset
from service.graph.db import Graph
from service.simulation import log
from tests.graphs import cli_env
from tests.simulation import T0, candidate, decide, invoice, write_log

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

runner = CliRunner()


@pytest.fixture
def name(p: str) -> str:
    """A ruleset name of the test's own, so no other test's decisions are read."""
    return f"{p}invoices"


def test_reading_pages_oldest_first_within_since_until_and_limit(
    graph: Graph, name: str, tmp_path: Path
) -> None:
    rs = load_ruleset(candidate(tmp_path, name))
    rows = decide(rs, [invoice(100 + n) for n in range(25)], f"{name}-")
    write_log(graph, rows[::-1])  # written newest first: read back oldest first
    everything = list(log.read(graph, name, page=4))
    assert [d.id for d in everything] == [r["id"] for r in rows]
    assert everything[0].at == T0 and everything[0].version == rs.version
    assert json.loads(str(everything[0].input)) == invoice(100)
    since, until = T0 + dt.timedelta(days=5), T0 + dt.timedelta(days=15)
    window = list(log.read(graph, name, since=since, until=until, limit=7, page=3))
    assert [d.id for d in window] == [r["id"] for r in rows[5:12]]
    assert log.count(graph, name, since=since, until=until) == 10
    assert log.count(graph, name, limit=3) == 3


def test_cli_json_report_end_to_end(
    neo4j_server: Neo4jServer,
    graph: Graph,
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rs = load_ruleset(candidate(tmp_path / "served", name))
    rows = decide(rs, [invoice(a) for a in (60_000, 65_000, 20_000, 300, 75_000)], f"{name}-")
    write_log(graph, rows)
    changed = candidate(
        tmp_path / "new",
        name,
        lambda t: t.replace("amount > 50000", "amount > 70000").replace(
            "10000 < amount <= 50000", "10000 < amount <= 70000"
        ),
    )
    for variable, value in cli_env(neo4j_server).items():
        monkeypatch.setenv(variable, value)
    result = runner.invoke(app, ["rules", "simulate", str(changed), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "ruleset" and report["ruleset"] == name
    assert (report["replayed"], report["changed"]) == (5, 2)
    route = next(c for c in report["changes"] if c["field"] == "route")
    assert (route["from"], route["to"], route["count"]) == ("cfo", "department-head", 2)
    assert route["examples"] == [f"{name}-00000", f"{name}-00001"]
    assert report["stopped_firing"][0]["rule"] == "cfo-approval"

    limited = runner.invoke(
        app, ["rules", "simulate", str(changed), "--json", "--since", "2026-03-02", "--limit", "1"]
    )
    assert limited.exit_code == 0, limited.output
    assert json.loads(limited.stdout)["replayed"] == 1

    table = runner.invoke(app, ["rules", "simulate", str(changed)])
    assert table.exit_code == 0, table.output
    assert "2 would change" in table.stdout and "Changed outputs" in table.stdout
    assert "cfo-approval" in table.stdout


def test_cli_says_when_nothing_is_logged(
    neo4j_server: Neo4jServer, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in cli_env(neo4j_server).items():
        monkeypatch.setenv(variable, value)
    result = runner.invoke(app, ["rules", "simulate", str(candidate(tmp_path, name))])
    assert result.exit_code == 1
    assert f"no decisions of ruleset '{name}' are logged" in result.output


PLAYBOOK = Path(__file__).parents[2] / "knowledge" / "playbooks" / "invoice-fraud.yaml"

# A recommendation (with the facts its rule read) and an expert's decision on it.
SEED_DECISION = """
UNWIND $rows AS row
MATCH (c:Case {id: row.case_id})
MERGE (r:Recommendation {id: row.id + ':rec'})
  ON CREATE SET r.action = row.recommended, r.rule = row.rule, r.playbook = row.playbook,
                r.status = row.outcome, r.facts = row.facts, r.version = 'v1',
                r.created_at = row.at
MERGE (r)-[:FOR]->(c)
MERGE (d:ExpertDecision {id: row.id})
  ON CREATE SET d.outcome = row.outcome, d.recommended_action = row.recommended,
                d.action = row.action, d.rule = row.rule, d.playbook = row.playbook,
                d.case_type = row.playbook, d.at = row.at
MERGE (d)-[:ON]->(r)
MERGE (d)-[:IN_CASE]->(c)
"""


def test_a_playbook_candidate_is_replayed_on_expert_decisions(
    neo4j_server: Neo4jServer, graph: Graph, p: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.graph.cases import upsert_cases
    from service.graph.models import CaseIn, Event

    name = f"{p}invoice-fraud"
    changed = {"kind": "bank-details-changed", "at": T0}
    cases = {
        "a1": [changed],
        "a2": [changed],
        # the expert called the supplier back since: the stored facts say they had not then
        "a3": [changed, {"kind": "call-back-supplier", "at": T0 + dt.timedelta(hours=2)}],
    }
    upsert_cases(
        graph,
        [
            CaseIn(
                id=f"{p}{key}",
                type=name,
                opened_at=T0,
                events=[Event(id=f"{p}{key}-e{i}", **e) for i, e in enumerate(events)],
            )
            for key, events in cases.items()
        ],
    )
    hold = {"bank_details_changed": True, "payment_sent": False}
    confirm = {"bank_details_changed": True, "supplier_called_back": False}
    seed = [
        ("a1", "hold-before-payment", "hold-payment", "accepted", "hold-payment", hold),
        ("a2", "hold-before-payment", "hold-payment", "overridden", "call-back-supplier", hold),
        ("a3", "confirm-details", "call-back-supplier", "accepted", "call-back-supplier", confirm),
    ]
    graph.write(
        SEED_DECISION,
        rows=[
            {
                "id": f"{p}{key}-dec",
                "case_id": f"{p}{key}",
                "rule": rule,
                "playbook": name,
                "recommended": recommended,
                "outcome": outcome,
                "action": action,
                "facts": json.dumps(facts),
                "at": T0 + dt.timedelta(hours=n),
            }
            for n, (key, rule, recommended, outcome, action, facts) in enumerate(seed)
        ],
    )
    # The candidate holds payments only when accounts are shared with other cases.
    folder = tmp_path / "playbooks"
    candidate(
        folder,
        name,
        lambda t: t.replace(
            "when: bank_details_changed and not payment_sent",
            "when: bank_details_changed and not payment_sent and shared_accounts > 0",
        ),
        source=PLAYBOOK,
    )
    for variable, value in cli_env(neo4j_server).items():
        monkeypatch.setenv(variable, value)
    result = runner.invoke(app, ["rules", "simulate", str(folder / f"{name}.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "playbook"
    assert (report["replayed"], report["accepted"], report["overridden"]) == (3, 2, 1)
    assert report["overridden_not_made"]["count"] == 1
    assert report["overridden_not_made"]["examples"][0]["case"] == f"{p}a2"
    assert report["overridden_now_chosen"]["count"] == 1  # call-back-supplier, by confirm-details
    assert report["accepted_lost"]["count"] == 1  # a3's call-back is still recommended
    assert report["accepted_lost"]["examples"][0]["decision"] == f"{p}a1-dec"
    shown = runner.invoke(app, ["rules", "simulate", str(folder / f"{name}.yaml")])
    assert shown.exit_code == 0, shown.output
    assert "good: 1 of 1 overridden" in shown.stdout and "bad:  1 of 2 accepted" in shown.stdout

    # the same on the playbook's simulation page, the served playbook beside its catalogue
    import shutil

    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from service.engine import Registry
    from service.settings import Settings
    from tests.auth import as_role, csrf, make_app
    from tests.pagetree import parse

    knowledge = tmp_path / "knowledge"
    candidate(knowledge / "playbooks", name, source=PLAYBOOK)
    for part in ("actions.yaml", "schema.cypher"):
        shutil.copy(PLAYBOOK.parents[1] / part, knowledge / part)
    settings = Settings(
        knowledge_dir=knowledge,
        neo4j_uri=neo4j_server.uri,
        neo4j_user=neo4j_server.user,
        neo4j_password=SecretStr(neo4j_server.password),
        neo4j_database=neo4j_server.database,
    )
    changed_text = (folder / f"{name}.yaml").read_text(encoding="utf-8")
    with as_role(TestClient(make_app(settings, Registry())), "author") as client:
        posted = {"candidate": changed_text, "csrf": csrf(client)}
        page = client.post(f"/rules/{name}/simulate", data=posted, headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    doc = parse(page.text).one("section", id="report")
    assert "Good: 1 of 1 overridden" in doc.one("li", id="good").text()
    assert "Bad: 1 of 2 accepted" in doc.one("li", id="bad").text()
    lost = doc.one("table", id="accepted-lost")
    assert lost.one("a").get("href") == f"/cases/{p}a1"


def test_the_simulation_page_shows_the_report_as_tables(
    neo4j_server: Neo4jServer, graph: Graph, name: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from service.engine import Registry
    from service.settings import Settings
    from tests.auth import as_role, csrf, make_app
    from tests.pagetree import parse

    rules = tmp_path / "rules"
    served = load_ruleset(candidate(rules, name))
    inputs = [invoice(a) for a in (60_000, 65_000, 20_000)] + [invoice(300, department="HR")]
    rows = decide(served, inputs, f"{name}-")
    write_log(graph, rows)
    registry = Registry()
    registry.add(served)
    settings = Settings(
        rules_dir=rules,
        knowledge_dir=Path(__file__).parents[2] / "knowledge",
        neo4j_uri=neo4j_server.uri,
        neo4j_user=neo4j_server.user,
        neo4j_password=SecretStr(neo4j_server.password),
        neo4j_database=neo4j_server.database,
    )
    text = (rules / f"{name}.yaml").read_text(encoding="utf-8")
    changed = (
        text.replace("amount > 50000", "amount > 70000")
        .replace("10000 < amount <= 50000", "10000 < amount <= 70000")
        .replace("Finance, HR]", "Finance]")  # and HR invoices are no longer taken
    )
    with as_role(TestClient(make_app(settings, registry)), "author") as client:
        form = client.get(f"/rules/{name}/simulate", headers={"accept": "text/html"})
        assert form.status_code == 200
        posted = {"candidate": changed, "csrf": csrf(client), "limit": "100"}
        response = client.post(
            f"/rules/{name}/simulate", data=posted, headers={"accept": "text/html"}
        )
    assert response.status_code == 200, response.text
    doc = parse(response.text)
    report = doc.one("section", id="report")
    assert report.one("strong", id="changed-count").text() == "2"
    route = report.one("table", id="changes").one("tr", data_field="route")
    cells = [td.text() for td in route.find_all("td")]
    assert cells[:3] == ['"cfo"', '"department-head"', "2"]
    assert f"{name}-00000" in cells[3]
    stopped = report.one("table", id="stopped-firing").one("tr", data_rule="cfo-approval")
    assert stopped.find_all("td")[0].text() == "2"
    rejected = report.one("p", id="rejected").text()
    assert f"rejects 1 input(s), e.g. {name}-00003" in rejected and "department" in rejected
    assert "(serving)" in report.one("table", id="versions").text()
