"""Recommendations that name their reasons, kept current when a linked case changes.

Over HTTP against the real Neo4j: the API's rationale names the bank account a claim shares and
how the claims sharing it ended (a scoped key is told neither of cases it may not see); closing
one claim as fraud changes the worklist of a claim linked to it, with no one opening that claim;
the periodic look refreshes the cases linked to a changed one, once, at most a bounded number.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.auth.store import create_key
from service.engine import Registry
from service.graph.cases import upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.refresh import mark_linked, refresh_stale
from tests.auth import as_role, make_app, memory, system_key
from tests.graphs import KNOWLEDGE, settings_for
from tests.pagetree import Node, parse

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

FUTURE = "2099-01-01T00:00:00Z"

ACTIONS = """
actions:
  - {id: refer, label: Refer, case_types: ["*"]}
  - {id: check, label: Check, case_types: ["*"]}
"""

# Claims sharing a bank account with a claim closed as confirmed fraud are referred.
PLAYBOOK = """
playbook: NAME
description: Refer a claim linked to a claim closed as fraud; check every claim.
facts:
  linked_fraud:
    type: integer
    description: Claims sharing a bank account with this one, closed as confirmed fraud.
    query: |
      MATCH (c:Case {id: $case_id})
      OPTIONAL MATCH path = (c)<-[:PARTY_TO]-(:Party)-[:HAS_ACCOUNT]->(:BankAccount)
            <-[:HAS_ACCOUNT]-(:Party)-[:PARTY_TO]->(o:Case)
        WHERE o <> c AND o.status = 'closed' AND o.outcome = 'fraud-confirmed'
      RETURN count(o) AS value, collect(path) AS evidence
  open:
    type: boolean
    query: |
      MATCH (c:Case {id: $case_id})
      RETURN c.status <> 'closed' AS value
rules:
  - id: linked-fraud
    when: linked_fraud > 0
    then:
      recommend:
        action: refer
        weight: 0.9
        rationale: "linked to {linked_fraud} claims closed as fraud"
        evidence: [linked_fraud]
  - id: check
    when: open
    then:
      recommend: {action: check, weight: 0.5, rationale: every claim is checked}
"""


@pytest.fixture(scope="module")
def api(neo4j_server: Neo4jServer) -> Iterator[TestClient]:
    settings = settings_for(neo4j_server, knowledge_dir=KNOWLEDGE)
    with as_role(TestClient(make_app(settings, Registry())), "system") as client:
        yield client


def account() -> str:
    return f"NL91ABNA{uuid.uuid4().int % 10**10:010d}"


def claim(case_id: str, iban: str, case_type: str = "insurance-claim") -> dict[str, Any]:
    """An open claim whose claimant pays into ``iban``."""
    party = {"id": f"{case_id}-p", "kind": "person", "name": "Pat Doe", "role": "claimant",
             "identifiers": [{"kind": "bank_account", "value": iban}]}  # fmt: skip
    return {"id": case_id, "type": case_type, "opened_at": "2026-01-05T08:00:00Z",
            "due_at": FUTURE, "parties": [party]}  # fmt: skip


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def advice(client: TestClient, case_id: str, **headers: str) -> dict[str, dict[str, Any]]:
    found = ok(client.get(f"/v1/cases/{case_id}/recommendations", headers=headers))
    return {item["action"]: item for item in found["recommendations"]}


def test_the_rationale_names_the_shared_account_and_how_the_linked_claims_ended(
    api: TestClient, p: str
) -> None:
    iban = account()
    ok(api.post("/v1/cases", json={"cases": [claim(f"{p}{n}", iban) for n in "abc"]}))
    ok(api.post(f"/v1/cases/{p}a/close", json={"outcome": "fraud-confirmed"}))
    siu = advice(api, f"{p}b")["refer-to-siu"]
    assert siu["trigger"] == "linked to 2 other claims through shared parties or identifiers"
    shares = f"shares bank account {iban} with cases {p}a (closed: fraud confirmed) and {p}c (open)"
    assert siu["reasons"] == [shares]
    assert siu["rationale"] == shares[0].upper() + shares[1:]
    assert siu["score_explained"].startswith("The playbook's rule gives this action a weight")


def test_a_scoped_key_is_told_neither_the_ids_nor_the_outcomes_of_cases_it_may_not_see(
    api: TestClient, p: str
) -> None:
    iban = account()
    ok(api.post("/v1/cases", json={"cases": [claim(f"{p}{n}", iban) for n in "ac"]}))
    ok(api.post(f"/v1/cases/{p}a/close", json={"outcome": "fraud-confirmed"}))
    key = create_key(memory()[0], f"{p}scoped", ["invoice-approval"])
    scoped = {"Authorization": f"Bearer {key}"}
    ok(api.post("/v1/cases", json={"cases": [claim(f"{p}mine", iban)]}, headers=scoped))
    siu = advice(api, f"{p}mine", **scoped)["refer-to-siu"]
    assert siu["reasons"] == [f"shares bank account {iban} with 2 other cases"]
    assert "fraud" not in siu["rationale"] and f"{p}a" not in siu["rationale"]
    told = advice(api, f"{p}mine")["refer-to-siu"]  # the system key sees every case
    assert f"{p}a (closed: fraud confirmed)" in told["rationale"]


# --- a write refreshes the cases linked to the written one ------------------------------


@pytest.fixture
def site(neo4j_server: Neo4jServer, tmp_path: Path, p: str) -> Iterator[TestClient]:
    """The pages, on a knowledge folder of its own: PLAYBOOK for the case type ``{p}claim``."""
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "actions.yaml").write_text(ACTIONS, encoding="utf-8")
    shutil.copy(KNOWLEDGE / "schema.cypher", tmp_path / "schema.cypher")
    case_type = f"{p}claim"
    text = PLAYBOOK.replace("NAME", case_type)
    (tmp_path / "playbooks" / f"{case_type}.yaml").write_text(text, encoding="utf-8")
    settings = settings_for(neo4j_server, knowledge_dir=tmp_path)
    with as_role(TestClient(make_app(settings, Registry())), "expert") as client:
        yield client


def row(site: TestClient, p: str, case_id: str) -> tuple[str, str]:
    """Give the worklist's pending count and top action of the case."""
    response = site.get(f"/?type={p}claim", headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text
    found: Node = parse(response.text).one("tr", data_case=case_id)
    return found.one("td", cls="pending").text(), found.one("td", cls="top").text()


def until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Wait for ``condition`` (asked again every 0.1 s), failing with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_closing_a_claim_as_fraud_changes_the_worklist_of_a_linked_claim_no_one_opened(
    site: TestClient, p: str
) -> None:
    iban = account()
    cases = [claim(f"{p}a", iban, f"{p}claim"), claim(f"{p}b", iban, f"{p}claim")]
    ok(site.post("/v1/cases", json={"cases": cases}, headers=system_key()))
    until(lambda: row(site, p, f"{p}b") == ("1", "Check"), "B was never recommended")
    assert row(site, p, f"{p}a") == ("1", "Check")
    closed = site.post(
        f"/v1/cases/{p}a/close", json={"outcome": "fraud-confirmed"}, headers=system_key()
    )
    ok(closed)
    # no one opens B: the refresh after A's closing recommends B again, as B links to A
    until(
        lambda: row(site, p, f"{p}b") == ("2", "Refer"),
        "the worklist of B never showed the referral after its linked claim A closed as fraud",
    )
    # the case page words the reasons as the API does, and explains the score on demand
    page = site.get(f"/cases/{p}b", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    refer = parse(page.text).one("article", cls="recommendation", data_action="refer")
    assert refer.one("p", cls="rationale").text().startswith("linked to 1 claims closed as fraud")
    reasons = [li.text() for li in refer.one("ul", cls="reasons").find_all("li")]
    assert reasons == [f"shares bank account {iban} with case {p}a (closed: fraud confirmed)"]
    assert "weight of 0.90" in refer.one("details", cls="score-why").text()


def test_the_sweep_refreshes_the_cases_linked_to_a_changed_one_once_and_a_hub_is_capped(
    graph: Graph, p: str
) -> None:
    playbooks = PlaybookRegistry.load(KNOWLEDGE)
    iban = account()

    def write(*numbers: int, **extra: Any) -> None:
        found = [claim(f"{p}{n}", iban) | {"priority": n, **extra} for n in numbers]
        upsert_cases(graph, [CaseIn.model_validate(c) for c in found])

    write(1, 2, 3, 4, 5)  # as an import does: no API call, so no nudge
    assert refresh_stale(graph, playbooks, id_prefix=p) == 5
    assert refresh_stale(graph, playbooks, id_prefix=p) == 0  # those refreshed are not marked
    write(1, attributes={"policy": "changed"})
    # the changed case, then the four linked to it, and no case a second time (no cascade)
    assert refresh_stale(graph, playbooks, id_prefix=p) == 5
    assert refresh_stale(graph, playbooks, id_prefix=p) == 0
    # a hub: at most `limit` linked cases are marked, the most pressing (priority 1) first
    assert mark_linked(graph, [f"{p}1"], limit=2) == [f"{p}2", f"{p}3"]
    assert refresh_stale(graph, playbooks, id_prefix=p) == 2
