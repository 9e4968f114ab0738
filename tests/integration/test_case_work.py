"""Working cases against the real Neo4j: recommendations kept current in the background, the
lifecycle (status, priority, queue, close, reopen) as events, accepted advice that changes the
case, events kept in the order they happened, and search."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from service.graph import cases, lifecycle, reads
from service.graph.cases import close_case, upsert_cases
from service.graph.db import Graph
from service.graph.lifecycle import InvalidChange
from service.graph.models import CaseIn, CloseIn, Event, Evidence
from service.graph.search import search
from service.recommend import feedback
from service.recommend.nextaction import load_sequences
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend
from service.recommend.refresh import refresh_stale
from tests.graphs import KNOWLEDGE

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

AT = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def playbooks() -> PlaybookRegistry:
    return PlaybookRegistry.load(KNOWLEDGE)


def claim(p: str, **extra: Any) -> CaseIn:
    """An open claim whose claimant is flagged: the playbook refers it to investigators."""
    data: dict[str, Any] = {
        "id": f"{p}c1",
        "type": "insurance-claim",
        "opened_at": AT,
        "due_at": AT + dt.timedelta(days=3650),
        "priority": 3,
        "attributes": {"policy": f"POL-{p}77"},
        "parties": [
            {"id": f"{p}ann", "kind": "person", "name": "Annabel Quist", "role": "claimant",
             "flagged": True,
             "identifiers": [{"kind": "email", "value": f"Annabel@{p}mail.test"},
                             {"kind": "phone", "value": "+44 7700 900 123"}]},
        ],
        "evidence": [{"id": f"{p}ev1", "kind": "invoice", "received_at": AT}],
        **extra,
    }  # fmt: skip
    return CaseIn.model_validate(data)


def open_advice(graph: Graph, case_id: str) -> list[str]:
    rows = graph.read(
        "MATCH (r:Recommendation {status: 'open'})-[:FOR]->(:Case {id: $id}) "
        "RETURN r.action AS action ORDER BY action",
        id=case_id,
    )
    return [r["action"] for r in rows]


def kinds(graph: Graph, case_id: str) -> list[str]:
    return [e["item"]["kind"] for e in reads.timeline(graph, case_id) if e["type"] == "event"]


def test_a_case_written_elsewhere_is_recommended_by_the_refresh_and_again_when_it_changes(
    graph: Graph, playbooks: PlaybookRegistry, p: str
) -> None:
    # (another process serving this shared graph may refresh it first: hence "at most 1")
    upsert_cases(graph, [claim(p)])  # as an import does: no page, no API call
    assert refresh_stale(graph, playbooks, id_prefix=p) <= 1
    advice = open_advice(graph, f"{p}c1")
    assert "refer-to-siu" in advice and "verify-evidence" in advice
    assert refresh_stale(graph, playbooks, id_prefix=p) == 0  # nothing changed since
    upsert_cases(graph, [claim(p)])
    assert refresh_stale(graph, playbooks, id_prefix=p) == 0  # the same payload changes nothing
    # the evidence is verified now: verifying it is no longer advised, and no longer counted
    verified = Evidence(id=f"{p}ev1", kind="invoice", received_at=AT, verified=True)
    cases.add_evidence(graph, f"{p}c1", [verified])
    assert refresh_stale(graph, playbooks, id_prefix=p) <= 1
    assert "verify-evidence" not in open_advice(graph, f"{p}c1")
    close_case(graph, f"{p}c1", CloseIn(outcome="paid"))
    assert refresh_stale(graph, playbooks, id_prefix=p) <= 1
    assert open_advice(graph, f"{p}c1") == []  # a closed case has no open advice
    assert refresh_stale(graph, playbooks, id_prefix=p) == 0


def test_status_priority_and_queue_changes_are_events_with_who(graph: Graph, p: str) -> None:
    upsert_cases(graph, [claim(p)])
    changed = lifecycle.change(graph, f"{p}c1", {"priority": 1, "status": "pending"}, "ada")
    assert changed == {"priority": [3, 1], "status": ["open", "pending"]}
    assert lifecycle.change(graph, f"{p}c1", {"priority": 1}, "ada") == {}  # no change, no event
    assert lifecycle.change(graph, f"{p}c1", {"team": "siu"}, "bob") == {"team": [None, "siu"]}
    events = [e["item"] for e in reads.timeline(graph, f"{p}c1") if e["type"] == "event"]
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("case-updated", "ada"),
        ("queued", "bob"),
    ]
    assert events[0]["attributes"] == {"priority": "3→1", "status": "open→pending"}
    case = reads.get_case(graph, f"{p}c1")
    assert (case["priority"], case["status"], case["team"]) == (1, "pending", "siu")
    with pytest.raises(InvalidChange, match="priority 9"):
        lifecycle.change(graph, f"{p}c1", {"priority": 9}, "ada")
    with pytest.raises(InvalidChange, match="close a case with its outcome"):
        lifecycle.change(graph, f"{p}c1", {"status": "closed"}, "ada")


def test_reopen_clears_the_outcome_and_a_second_closing_is_kept_too(graph: Graph, p: str) -> None:
    upsert_cases(graph, [claim(p)])
    graph.write(
        "MATCH (c:Case {id: $id}) "
        "MERGE (d:RoutingDecision {id: $d}) SET d.at = $at, d.ruleset = $ruleset "
        "MERGE (d)-[:OPENED]->(c)",
        id=f"{p}c1",
        d=f"{p}d1",
        at=AT,
        ruleset=f"{p}routing",
    )  # a decision as the decision log writes it (the dashboard reads every one)
    close_case(graph, f"{p}c1", CloseIn(outcome="no-action"), "ada")
    assert lifecycle.reopen(graph, f"{p}c1", "bob", "new photos arrived") is True
    assert lifecycle.reopen(graph, f"{p}c1", "bob") is False  # open already
    case = reads.get_case(graph, f"{p}c1")
    assert (case["status"], case["outcome"], case["closed_at"]) == ("open", None, None)
    decision = graph.read(
        "MATCH (d:RoutingDecision {id: $d}) RETURN d.case_outcome AS o", d=f"{p}d1"
    )
    assert decision == [{"o": None}]  # the routing suggestions no longer count it as closed
    close_case(graph, f"{p}c1", CloseIn(outcome="fraud-confirmed"), "ada")
    assert kinds(graph, f"{p}c1") == ["closed", "reopened", "closed"]
    outcome = graph.read(
        "MATCH (d:RoutingDecision {id: $d}) RETURN d.case_outcome AS o", d=f"{p}d1"
    )
    assert outcome == [{"o": "fraud-confirmed"}]


def test_accepting_advice_with_an_effect_changes_the_case_just_after_the_decision(
    graph: Graph, playbooks: PlaybookRegistry, p: str
) -> None:
    upsert_cases(graph, [claim(p)])
    advice = recommend(graph, playbooks, playbooks.actions, f"{p}c1")
    siu = next(r for r in advice if r["action"] == "refer-to-siu")
    decision = feedback.accept(graph, f"{p}c1", siu["id"], "ada", catalogue=playbooks.actions)
    assert decision["effect"] == {"status": ["open", "pending"], "team": [None, "siu"]}
    case = reads.get_case(graph, f"{p}c1")
    assert (case["status"], case["team"]) == ("pending", "siu")
    events = [e["item"] for e in reads.timeline(graph, f"{p}c1") if e["type"] == "event"]
    # both at the same moment: the decision first, its effect after it (their sequence)
    assert [e["kind"] for e in events] == ["refer-to-siu", "case-updated"]
    assert events[0]["at"] == events[1]["at"] and events[0]["seq"] < events[1]["seq"]
    assert events[1]["attributes"]["because"] == "refer-to-siu"
    # without the catalogue (an older caller), the decision is recorded and nothing changes
    verify = next(r for r in advice if r["action"] == "verify-evidence")
    assert feedback.accept(graph, f"{p}c1", verify["id"], "ada")["effect"] == {}


def test_events_at_one_time_keep_the_order_they_were_written_in(graph: Graph, p: str) -> None:
    steps = ["registered", "triaged", "assessed", "approved", "paid"]  # not alphabetical
    events = [Event(id=f"{p}e-{n}", kind=k, at=AT) for n, k in enumerate(reversed(steps))]
    upsert_cases(graph, [claim(p, events=[e.model_dump() for e in reversed(events)])])
    cases.add_events(graph, f"{p}c1", [Event(id=f"{p}e-late", kind="closed-by-letter", at=AT)])
    assert kinds(graph, f"{p}c1") == [*steps, "closed-by-letter"]
    got = load_sequences(graph, case_type="insurance-claim", id_prefix=p)
    assert [s.activities for s in got] == [(*steps, "closed-by-letter")]
    full = reads.get_case(graph, f"{p}c1")
    assert [e["kind"] for e in full["events"]] == [*steps, "closed-by-letter"]


def test_search_finds_cases_as_a_person_remembers_them(graph: Graph, p: str) -> None:
    other = claim(p, id=f"{p}c2", parties=[], evidence=[], attributes={"policy": f"POL-{p}88"})
    upsert_cases(graph, [claim(p), other])
    graph.read("CALL db.awaitIndex('case_search', 60)")
    assert search(graph, f"{p}c1")[0] == f"{p}c1"  # the id typed exactly comes first
    assert search(graph, f"POL-{p}88") == [f"{p}c2"]
    assert search(graph, f"Annabel Quist {p}")[:1] == [f"{p}c1"]  # name, and the prefix
    assert f"{p}c1" in search(graph, f"annab {p}")  # the start of a word
    assert search(graph, f"annabel@{p.upper()}MAIL.TEST") == [f"{p}c1"]
    assert search(graph, f"{p}nobody") == []
    assert search(graph, '  "*?( ') == []  # nothing searchable: no error either
