"""Mining overrides: seeded expert decisions give a suggestion whose diff loads as a playbook."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from service.cli import app
from service.engine import Registry, load_ruleset
from service.graph.cases import upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn
from service.recommend.mining import catalogue_types, normalise_reason, suggest
from service.settings import Settings
from tests.auth import as_role, make_app
from tests.graphs import KNOWLEDGE, cli_env

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)

# Recommendations and the experts' decisions on them, as R1's feedback records them.
SEED_DECISIONS = """
UNWIND $rows AS row
MATCH (c:Case {id: row.case_id})
MERGE (r:Recommendation {id: row.id + ':rec'})
  ON CREATE SET r.action = row.recommended, r.rule = row.rule, r.playbook = row.playbook,
                r.status = row.outcome, r.base_weight = 0.5, r.score = 0.5, r.created_at = row.at
MERGE (r)-[:FOR]->(c)
MERGE (x:Expert {id: row.expert})
MERGE (d:ExpertDecision {id: row.id})
  ON CREATE SET d.outcome = row.outcome, d.recommended_action = row.recommended,
                d.action = row.action, d.reason = row.reason, d.rule = row.rule,
                d.playbook = row.playbook, d.case_type = row.playbook, d.at = row.at
MERGE (x)-[:DECIDED]->(d)
MERGE (d)-[:ON]->(r)
MERGE (d)-[:IN_CASE]->(c)
"""

# rule -> (recommended action, [(outcome, action taken, reason), ...])
ESCALATE = "escalate-to-complaints-manager"
DECISIONS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    # overridden 5 of 6, mostly for one alternative: replace the action
    "not-contacted": (
        "contact-customer",
        [
            ("overridden", ESCALATE, "Customer already called twice!"),
            ("overridden", ESCALATE, "customer already  called twice"),
            ("overridden", ESCALATE, "Manager must handle repeat callers"),
            ("overridden", ESCALATE, "customer already called twice."),
            ("overridden", "raise-priority", "deadline is very close"),
            ("accepted", "contact-customer", ""),
        ],
    ),
    # overridden 5 of 5, no alternative agreed on: lower the weight
    "unverified-evidence": (
        "verify-evidence",
        [
            ("overridden", "raise-priority", "not worth the time now"),
            ("overridden", "raise-priority", "not worth the time now"),
            ("overridden", "contact-customer", "customer has the originals"),
            ("overridden", "contact-customer", "customer has the originals"),
            ("overridden", "send-final-response", "evidence is irrelevant here"),
        ],
    ),
    # too few decisions
    "overdue": ("raise-priority", [("overridden", ESCALATE, "manager wants it")] * 4),
    # overridden half the time: under the rate
    "contradicting-evidence": (
        "review-contradicting-evidence",
        [("overridden", ESCALATE, "manager wants it"), ("accepted", "", "")] * 3,
    ),
}


@pytest.fixture
def knowledge(tmp_path: Path, p: str) -> tuple[Path, str]:
    """A knowledge folder with the catalogue and a complaint playbook named for the test."""
    name = "complaint-" + p.rstrip("-")
    folder = tmp_path / "knowledge"
    (folder / "playbooks").mkdir(parents=True)
    for file in ("actions.yaml", "schema.cypher"):
        shutil.copy(KNOWLEDGE / file, folder / file)
    text = (KNOWLEDGE / "playbooks" / "customer-complaint.yaml").read_text(encoding="utf-8")
    text = text.replace("playbook: customer-complaint", f"playbook: {name}", 1)
    (folder / "playbooks" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder, name


@pytest.fixture
def seeded(graph: Graph, p: str, knowledge: tuple[Path, str]) -> str:
    """Complaint cases with the decisions of DECISIONS; give the playbook name."""
    _, name = knowledge
    rows: list[dict[str, Any]] = []
    cases = []
    for rule, (recommended, decided) in DECISIONS.items():
        for n, (outcome, action, reason) in enumerate(decided):
            case_id = f"{p}{rule}-{n}"
            cases.append(CaseIn(id=case_id, type=name, opened_at=T0))
            rows.append(
                {
                    "id": f"{case_id}:dec",
                    "case_id": case_id,
                    "rule": rule,
                    "playbook": name,
                    "recommended": recommended,
                    "outcome": outcome,
                    "action": action or recommended,
                    "reason": reason or None,
                    "expert": f"{p}expert",
                    "at": T0 + timedelta(hours=len(rows)),
                }
            )
    upsert_cases(graph, cases)
    graph.write(SEED_DECISIONS, rows=rows)
    return name


def mine(graph: Graph, folder: Path, name: str) -> dict[str, Any]:
    catalogue = catalogue_types(folder / "actions.yaml")
    found = suggest(graph, folder / "playbooks", set(catalogue), case_types=None)
    return {s.rule: s for s in found if s.playbook == name}


def test_normalised_reasons() -> None:
    assert normalise_reason("  Customer already called TWICE!! ") == "customer already called twice"
    assert normalise_reason(None) == ""


def test_often_overridden_rules_get_a_change_that_loads(
    graph: Graph, p: str, knowledge: tuple[Path, str], seeded: str, tmp_path: Path
) -> None:
    folder, name = knowledge
    found = mine(graph, folder, name)
    assert set(found) == {"not-contacted", "unverified-evidence"}

    replaced = found["not-contacted"]
    assert (replaced.decisions, replaced.overridden) == (6, 5)
    assert replaced.override_rate == pytest.approx(5 / 6, abs=1e-3)
    assert replaced.recommended_action == "contact-customer"
    assert replaced.alternative == ESCALATE
    assert replaced.alternatives == {ESCALATE: 4, "raise-priority": 1}
    assert replaced.reasons[0] == {"reason": "customer already called twice", "count": 3}
    assert len(replaced.cases) == 6 and all(c.startswith(p) for c in replaced.cases)
    assert replaced.change == "replace-action"
    assert replaced.diff is not None
    assert f"-        action: contact-customer\n+        action: {ESCALATE}\n" in replaced.diff

    lowered = found["unverified-evidence"]
    assert lowered.change == "lower-weight"
    assert lowered.diff is not None and "+        weight: 0.05\n" in lowered.diff

    # both diffs apply to a copy of the playbook, which then loads without problems
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    for suggestion in (replaced, lowered):
        subprocess.run(
            ["patch", "-p1", "-s", "-d", str(copy)],
            input=suggestion.diff,
            text=True,
            check=True,
        )
    actions = set(catalogue_types(copy / "actions.yaml"))
    playbook = load_ruleset(copy / "playbooks" / f"{name}.yaml", actions=actions)
    assert playbook.kind == "playbook"
    assert playbook.evaluate({"customer_contacted": False, "overdue": False, "days_open": 1,
                              "response_drafted": False, "repeat_complaints": 0,
                              "unverified_evidence": 2, "contradicting_evidence": 0}
                             ).outputs["recommendations"]  # fmt: skip


def test_an_alternative_that_does_not_apply_lowers_the_weight_instead(
    graph: Graph, knowledge: tuple[Path, str], seeded: str
) -> None:
    folder, name = knowledge
    catalogue = catalogue_types(folder / "actions.yaml")  # no action lists the test's type
    found = suggest(graph, folder / "playbooks", set(catalogue), case_types=catalogue)
    mine_ = {s.rule: s for s in found if s.playbook == name}
    assert mine_["not-contacted"].change == "lower-weight"


def test_suggestions_by_cli_and_api(
    neo4j_server: Neo4jServer,
    knowledge: tuple[Path, str],
    seeded: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, name = knowledge
    for variable, value in cli_env(neo4j_server).items():
        monkeypatch.setenv(variable, value)
    runner = CliRunner()
    result = runner.invoke(app, ["rules", "suggest", "--knowledge", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    listed = [s for s in json.loads(result.output)["suggestions"] if s["playbook"] == name]
    assert {s["rule"] for s in listed} == {"not-contacted", "unverified-evidence"}
    shown = runner.invoke(app, ["rules", "suggest", "--knowledge", str(folder), "--playbook", name])
    assert shown.exit_code == 0 and f"{name} / not-contacted" in shown.output
    assert shown.output.count(" / ") == 2  # only the test's playbook
    # the catalogue does not list the test's case type for any action: weights are lowered
    assert "lower its weight" in shown.output and "+        weight: 0.12" in shown.output

    settings = Settings(
        rules_dir=Path("rules"),
        knowledge_dir=folder,
        neo4j_uri=neo4j_server.uri,
        neo4j_user=neo4j_server.user,
        neo4j_password=SecretStr(neo4j_server.password),
        neo4j_database=neo4j_server.database,
    )
    with as_role(TestClient(make_app(settings, Registry())), "author") as client:
        response = client.get("/v1/suggestions")
        assert response.status_code == 200, response.text
        body = [s for s in response.json()["suggestions"] if s["playbook"] == name]
        assert {s["rule"] for s in body} == {"not-contacted", "unverified-evidence"}
        strict = client.get("/v1/suggestions", params={"min_rate": 0.9})
        assert {s["rule"] for s in strict.json()["suggestions"] if s["playbook"] == name} == {
            "unverified-evidence"
        }
        assert client.get("/v1/suggestions", params={"min_rate": 2}).status_code == 422
        only = client.get("/v1/suggestions", params={"playbook": name}).json()["suggestions"]
        assert {s["playbook"] for s in only} == {name} and len(only) == 2
        # the rules page shows the same suggestions, with their diffs and cases, to authors
        page = client.get("/rules", headers={"accept": "text/html"})
        assert page.status_code == 200
        for rule in ("not-contacted", "unverified-evidence"):
            assert f'data-rule="{name}/{rule}"' in page.text
        assert "+        weight: 0.12" in page.text
        assert f'href="/cases/{body[0]["cases"][0]}"' in page.text


def test_without_a_graph_suggestions_answer_503(knowledge: tuple[Path, str]) -> None:
    folder, _ = knowledge
    settings = Settings(rules_dir=Path("rules"), knowledge_dir=folder, neo4j_uri=None)
    with as_role(TestClient(make_app(settings, Registry())), "author") as client:
        response = client.get("/v1/suggestions")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "graph-unavailable"
