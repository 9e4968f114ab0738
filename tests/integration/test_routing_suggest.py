"""Routing override feedback: closing an escalated case records its outcome on the routing
decision that opened it, and escalating rules whose cases end with no action get a change."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.decisionlog import records, store
from service.engine import load_ruleset
from service.graph.cases import close_case
from service.graph.db import Graph
from service.graph.escalation import case_id_for
from service.graph.models import CloseIn
from service.recommend.routing import outcome_set, suggest_routing
from tests.graphs import cli_env
from tests.simulation import candidate, invoice

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

NO_ACTION = outcome_set("no-action,dismissed")


def open_case(graph: Graph, decision: dict[str, Any], data: dict[str, Any]) -> str:
    """Log a decision that opens a case, as the decision routes do; give the case id."""
    rec = records.record(decision, data, None, case_id_for(decision["id"]))
    store.write(graph, [rec])
    return str(rec["case_id"])


DECISION = """
MATCH (d:RoutingDecision)-[:OPENED]->(c:Case {id: $case_id})
RETURN d.case_outcome AS outcome, d.case_closed_at AS closed_at
"""


def escalate(
    graph: Graph, rules: Path, name: str, closed: Sequence[tuple[float, str]]
) -> list[str]:
    """Decide a high-risk invoice per (amount, outcome) with ruleset ``name``: each opens a
    case, which is then closed with the outcome; give the case ids."""
    rs = load_ruleset(candidate(rules, name))
    ids = []
    for n, (amount, outcome) in enumerate(closed):
        data = invoice(amount, vendor={"risk": "high"})
        made = rs.evaluate(data, decision_id=f"{name}-{n}").to_dict()
        assert made["outputs"]["open_case"] is True
        case_id = open_case(graph, made, data)
        close_case(graph, case_id, CloseIn(outcome=outcome))
        ids.append(case_id)
    return ids


def test_closing_a_case_sets_its_outcome_on_the_decision_that_opened_it(
    graph: Graph, p: str, tmp_path: Path, neo4j_server: Neo4jServer
) -> None:
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from service.engine import Registry
    from service.settings import Settings
    from tests.auth import as_role, make_app

    rs = load_ruleset(candidate(tmp_path, f"{p}invoices"))
    data = invoice(20_000, vendor={"risk": "high"})
    case_id = open_case(graph, rs.evaluate(data, decision_id=f"{p}d").to_dict(), data)
    assert graph.read(DECISION, case_id=case_id)[0]["outcome"] is None
    settings = Settings(
        rules_dir=tmp_path,
        neo4j_uri=neo4j_server.uri,
        neo4j_user=neo4j_server.user,
        neo4j_password=SecretStr(neo4j_server.password),
        neo4j_database=neo4j_server.database,
    )
    with as_role(TestClient(make_app(settings, Registry())), "system") as client:
        closed = client.post(f"/v1/cases/{case_id}/close", json={"outcome": "no-action"})
        assert closed.status_code == 200, closed.text
        first = graph.read(DECISION, case_id=case_id)[0]
        assert first["outcome"] == "no-action" and first["closed_at"] is not None
        again = client.post(f"/v1/cases/{case_id}/close", json={"outcome": "no-action"})
        assert again.status_code == 200  # closing again changes nothing
    assert graph.read(DECISION, case_id=case_id)[0] == first


def test_an_escalating_rule_whose_cases_end_with_no_action_gets_a_narrowing_change(
    graph: Graph, p: str, tmp_path: Path
) -> None:
    name = f"{p}invoices"
    outcomes = [(12_000, "no-action"), (13_000, "No Action"), (14_000, "dismissed")]
    outcomes += [(15_000, "no_action"), (40_000, "fraud-confirmed"), (50_000, "recovered")]
    cases = escalate(graph, tmp_path, name, outcomes)
    [found] = suggest_routing(graph, tmp_path, NO_ACTION, min_rate=0.6, min_cases=5, ruleset=name)
    assert (found.ruleset, found.rule) == (name, "open-fraud-case")
    assert (found.cases, found.no_action, found.no_action_rate) == (6, 4, 0.6667)
    assert found.no_action_cases == sorted(cases[:4])
    assert found.outcomes["fraud-confirmed"] == 1
    assert found.change == "narrow"
    assert found.diff is not None
    assert '-    when: fact("fraud-review") and amount > 10000' in found.diff
    assert '+    when: fact("fraud-review") and amount > 15000' in found.diff
    assert "amount <= 15000" in found.note
    # every case that needed action has a higher amount: stopping it would lose them
    stop = suggest_routing(graph, tmp_path, NO_ACTION, min_rate=0.6, min_cases=7, ruleset=name)
    assert stop == []


def test_a_rule_whose_cases_always_end_with_no_action_stops_opening_cases(
    graph: Graph, p: str, tmp_path: Path, neo4j_server: Neo4jServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{p}invoices"
    escalate(graph, tmp_path, name, [(20_000 + n, "dismissed") for n in range(5)])
    for variable, value in cli_env(neo4j_server).items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("CASEWISE_RULES_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["rules", "suggest", "--ruleset", name, "--json"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    assert body["suggestions"] == []
    [found] = body["routing_suggestions"]
    assert found["change"] == "stop-opening" and found["no_action_rate"] == 1.0
    assert "-      set: {open_case: true, case_type: invoice-fraud}" in found["diff"]
    assert "+      set: {open_case: false, case_type: invoice-fraud}" in found["diff"]
    shown = runner.invoke(app, ["rules", "suggest", "--ruleset", name])
    assert shown.exit_code == 0, shown.output
    assert f"{name} / open-fraud-case: 5 of 5 closed case(s)" in shown.stdout
    # and on the rules page, with the diff and the cases
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from service.settings import Settings
    from tests.auth import as_role, make_app
    from tests.pagetree import parse

    settings = Settings(
        rules_dir=tmp_path,
        neo4j_uri=neo4j_server.uri,
        neo4j_user=neo4j_server.user,
        neo4j_password=SecretStr(neo4j_server.password),
        neo4j_database=neo4j_server.database,
        watch="off",
    )
    with as_role(TestClient(make_app(settings)), "author") as client:
        page = client.get("/rules", headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    section = parse(page.text).one("section", data_rule=f"{name}/open-fraud-case")
    assert "5 of 5 closed cases" in section.text()
    assert "open_case: false" in section.one("pre", cls="diff").text()
    assert len(section.find_all("a")) == 5


def test_a_rule_with_mixed_outcomes_gets_no_suggestion(
    graph: Graph, p: str, tmp_path: Path
) -> None:
    name = f"{p}invoices"
    mixed = [(20_000, "no-action"), (21_000, "fraud-confirmed")] * 3
    escalate(graph, tmp_path, name, mixed)
    assert (
        suggest_routing(graph, tmp_path, NO_ACTION, min_rate=0.6, min_cases=5, ruleset=name) == []
    )
    # open cases do not count: only closed ones say whether the escalation was needed
    rs = load_ruleset(tmp_path / f"{name}.yaml")
    data = invoice(30_000, vendor={"risk": "high"})
    open_case(graph, rs.evaluate(data, decision_id=f"{name}-open").to_dict(), data)
    assert (
        suggest_routing(graph, tmp_path, NO_ACTION, min_rate=0.5, min_cases=7, ruleset=name) == []
    )
