"""Playbooks: rule files over a case's facts that recommend catalogue actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.engine import RuleFileError, load_ruleset

from .conftest import TODAY, write_rules

PLAYBOOK = """
playbook: claim
description: Next actions for claims.
facts:
  unverified:
    type: integer
    description: Unverified evidence.
    query: |
      MATCH (e:Evidence)-[:SUPPORTS]->(:Case {id: $case_id}) WHERE NOT e.verified
      RETURN count(e) AS value
  ring: {type: list, query: "MATCH (c:Case {id: $case_id}) RETURN [] AS value"}
  overdue:
    type: boolean
    query: "MATCH (c:Case {id: $case_id}) RETURN c.due_at < datetime() AS value"
rules:
  - id: verify
    when: unverified > 0
    then:
      recommend:
        action: verify-evidence
        weight: 0.6
        rationale: "{unverified} evidence items are unverified"
        evidence: [unverified]
  - id: siu
    priority: 10
    when: len(ring) >= 2 and not overdue
    then:
      recommend: {action: refer-to-siu, weight: 0.9, rationale: "linked to {ring}", evidence: ring}
      assert: suspicious
  - id: escalate
    when: fact("suspicious") or overdue
    then:
      recommend: {action: raise-priority, weight: 0.4, rationale: "needs attention"}
"""
ACTIONS = {"verify-evidence", "refer-to-siu", "raise-priority"}


def test_a_playbook_recommends_actions_from_facts(tmp_path: Path) -> None:
    rs = load_ruleset(write_rules(tmp_path, PLAYBOOK), actions=ACTIONS)
    assert rs.kind == "playbook"
    assert set(rs.facts) == {"unverified", "ring", "overdue"}
    assert rs.facts["unverified"].query.startswith("MATCH (e:Evidence)")
    d = rs.evaluate({"unverified": 2, "ring": ["C1", "C2"], "overdue": False}, today=TODAY)
    assert [r["action"] for r in d.outputs["recommendations"]] == [
        "refer-to-siu",
        "verify-evidence",
        "raise-priority",
    ]
    siu = d.outputs["recommendations"][0]
    assert siu == {
        "action": "refer-to-siu",
        "weight": 0.9,
        "rationale": "linked to {ring}",
        "evidence": ["ring"],
        "rule": "siu",
    }
    assert d.fired[0].values == {"ring": ["C1", "C2"], "overdue": False}
    quiet = rs.evaluate({"unverified": 0, "ring": [], "overdue": False}, today=TODAY)
    assert quiet.outputs["recommendations"] == []


def test_the_catalogue_beside_the_playbooks_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "actions.yaml").write_text(
        "actions:\n" + "".join(f"  - {{id: {a}, label: {a}}}\n" for a in sorted(ACTIONS))
    )
    rs = load_ruleset(write_rules(tmp_path / "playbooks", PLAYBOOK))
    assert rs.name == "claim"


def test_playbook_mistakes_are_reported_with_positions(tmp_path: Path) -> None:
    text = (
        PLAYBOOK.replace("action: verify-evidence", "action: verify-evidense")
        .replace('"linked to {ring}"', '"linked to {rings}"')
        .replace("evidence: ring}", "evidence: rng}")
        .replace("type: boolean", "type: map")
    )
    with pytest.raises(RuleFileError) as info:
        load_ruleset(write_rules(tmp_path, text), actions=ACTIONS)
    out = [str(p).split(":", 1)[1] for p in info.value.problems]
    assert any("unknown action 'verify-evidense'" in line for line in out), out
    assert any(
        "rationale placeholder {rings} is not a fact; did you mean 'ring'?" in line for line in out
    ), out
    assert any("evidence 'rng' is not a fact; did you mean 'ring'?" in line for line in out), out
    typo = [line for line in out if "fact 'overdue' has type 'map'" in line]
    assert typo and typo[0].startswith("12:"), out


def test_recommend_belongs_to_playbooks_only(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        ruleset: r
        input: {a: {type: number}}
        output: {x: {type: boolean}}
        rules:
          - id: r1
            when: a > 1
            then: {recommend: {action: x, rationale: y}}
        """,
    )
    with pytest.raises(RuleFileError, match="unknown key 'recommend' in 'then'"):
        load_ruleset(path)


def test_a_playbook_needs_facts(tmp_path: Path) -> None:
    path = write_rules(tmp_path, "playbook: p\nrules: []\n")
    with pytest.raises(RuleFileError, match="a playbook needs 'facts'"):
        load_ruleset(path, actions=ACTIONS)


def test_fact_queries_that_reach_outside_the_graph_are_refused_at_their_position(
    tmp_path: Path,
) -> None:
    text = PLAYBOOK.replace(
        "RETURN count(e) AS value",
        "WITH count(e) AS n LOAD CSV FROM 'file:///etc/passwd' AS l RETURN n AS value",
    ).replace(
        '"MATCH (c:Case {id: $case_id}) RETURN [] AS value"',
        '"MATCH (c:Case {id: $case_id}) CALL db.labels() YIELD label RETURN [] AS value"',
    )
    with pytest.raises(RuleFileError) as exc:
        load_ruleset(write_rules(tmp_path, text), actions=ACTIONS)
    found = {(p.line, p.col, p.message) for p in exc.value.problems}
    assert found == {
        (9, 26, "fact 'unverified': LOAD CSV is not allowed in a fact query"),
        (10, 60, "fact 'ring': CALL of a procedure is not allowed in a fact query (a CALL { } "
                 "subquery is)"),
        (10, 65, "fact 'ring': db.labels() is not allowed in a fact query: no procedure or "
                 "function of apoc, dbms, db, gds, genai, graph or tx"),
    }  # fmt: skip


def test_words_in_literals_comments_and_names_are_not_constructs(tmp_path: Path) -> None:
    text = PLAYBOOK.replace(
        "RETURN count(e) AS value",
        "  AND e.kind <> 'call-back; LOAD CSV; CREATE' // SET, CALL apoc.x()\n"
        "      RETURN count(e) AS value, 'x' AS `CALL db.x()`",
    )
    rs = load_ruleset(write_rules(tmp_path, text), actions=ACTIONS)
    assert "LOAD CSV" in rs.facts["unverified"].query
