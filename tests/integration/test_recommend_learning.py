"""Scores learned from expert decisions: overridden actions sink, the actions chosen rise.

Each test serves a playbook of its own for a case type of its own (named after the test's
prefix), so the decisions other tests record cannot move its scores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.graph.cases import upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn
from service.recommend import feedback, scoring
from service.recommend.facts import check_queries
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

ACTIONS = """
actions:
  - {id: alpha, label: Alpha, case_types: ["*"], repeatable: true}
  - {id: beta, label: Beta, case_types: ["*"], repeatable: true}
  - {id: gamma, label: Gamma, case_types: [some-other-type]}
"""

PLAYBOOK = """
playbook: NAME
description: Two recommendations for every case.
facts:
  open:
    type: boolean
    query: |
      MATCH (c:Case {id: $case_id})
      RETURN c.status <> 'closed' AS value
rules:
  - id: r-a
    when: open
    then:
      recommend: {action: alpha, weight: 0.8, rationale: alpha first}
  - id: r-b
    when: open
    then:
      recommend: {action: beta, weight: 0.6, rationale: beta second}
"""

WRITING = """
playbook: NAME
facts:
  sneaky:
    type: integer
    query: |
      MATCH (c:Case {id: $case_id}) SET c.touched = true
      RETURN 1 AS value
  broken:
    type: integer
    query: "MATCH (c:Case {id: $case_id) RETURN count(c) AS value"
  no_value:
    type: integer
    query: "MATCH (c:Case {id: $case_id}) RETURN count(c) AS n"
  fine:
    type: integer
    query: "MATCH (c:Case {id: $case_id}) RETURN count(c) AS value"
rules:
  - id: r
    when: fine > 0
    then:
      recommend: {action: alpha, weight: 0.5, rationale: "{sneaky}"}
"""


def knowledge(tmp_path: Path, case_type: str, playbook: str) -> PlaybookRegistry:
    (tmp_path / "playbooks").mkdir(parents=True)
    (tmp_path / "actions.yaml").write_text(ACTIONS, encoding="utf-8")
    text = playbook.replace("NAME", case_type)
    (tmp_path / "playbooks" / f"{case_type}.yaml").write_text(text, encoding="utf-8")
    registry = PlaybookRegistry.load(tmp_path)
    assert registry.problems == [] and registry.names() == [case_type]
    return registry


def open_cases(graph: Graph, p: str, case_type: str, count: int) -> list[str]:
    cases = [
        CaseIn(id=f"{p}c{n}", type=case_type, opened_at="2026-01-05T08:00:00Z")  # type: ignore[arg-type]
        for n in range(count)
    ]
    upsert_cases(graph, cases)
    return [c.id for c in cases]


def test_overrides_sink_the_overridden_action_and_raise_the_chosen(
    graph: Graph, p: str, tmp_path: Path
) -> None:
    case_type = f"{p}claim"
    registry = knowledge(tmp_path, case_type, PLAYBOOK)
    catalogue = registry.actions
    ids = open_cases(graph, p, case_type, 7)
    before = recommend(graph, registry, catalogue, ids[0])
    assert [(i["action"], i["score"]) for i in before] == [("alpha", 0.8), ("beta", 0.6)]
    for case_id in ids[:5]:
        alpha = recommend(graph, registry, catalogue, case_id)
        rid = next(i["id"] for i in alpha if i["action"] == "alpha")
        feedback.override(
            graph, case_id, rid, f"{p}kim", "beta", "beta works better here", catalogue=catalogue
        )
    assert scoring.learned_counts(graph, case_type) == {
        ("alpha", "r-a"): (0, 5),
        ("beta", scoring.EXPERT_RULE): (5, 0),
    }
    after = recommend(graph, registry, catalogue, ids[5])
    scores = {i["action"]: i["score"] for i in after}
    # Beta(2, 2) prior, mean 0.5: alpha 0.8 * (2/9) / 0.5, beta 0.6 * (7/9) / 0.5.
    assert scores["alpha"] == pytest.approx(0.8 * (2 / 9) / 0.5, abs=1e-6)
    assert scores["beta"] == pytest.approx(0.6 * (7 / 9) / 0.5, abs=1e-6)
    assert [i["action"] for i in after] == ["beta", "alpha"]
    # Acceptances lift an action back.
    rid = next(i["id"] for i in after if i["action"] == "alpha")
    feedback.accept(graph, ids[5], rid, f"{p}kim")
    again = {i["action"]: i["score"] for i in recommend(graph, registry, catalogue, ids[6])}
    assert again["alpha"] == pytest.approx(0.8 * (3 / 10) / 0.5, abs=1e-6)


def test_scores_without_decisions_are_the_base_weights() -> None:
    assert scoring.score(0.7, {}, "alpha", "r-a") == pytest.approx(0.7)
    assert scoring.posterior_mean(0, 0) == scoring.PRIOR_MEAN == 0.5


def test_fact_queries_that_write_or_fail_are_refused(graph: Graph, p: str, tmp_path: Path) -> None:
    case_type = f"{p}claim"
    # A query that writes is refused when the file loads, at its line, before Neo4j sees it.
    folder = tmp_path / "writing"
    (folder / "playbooks").mkdir(parents=True)
    (folder / "actions.yaml").write_text(ACTIONS, encoding="utf-8")
    text = WRITING.replace("NAME", case_type)
    (folder / "playbooks" / f"{case_type}.yaml").write_text(text, encoding="utf-8")
    refused = PlaybookRegistry.load(folder)
    assert case_type not in refused.names()
    (sneaky,) = [problem for problem in refused.problems if "'sneaky'" in problem.message]
    assert "SET is not allowed in a fact query" in sneaky.message
    assert (sneaky.line, sneaky.col) == (7, 37)  # where SET is in the file
    # The others parse only as far as Neo4j's planner: refused when checked against the graph.
    failing = WRITING.replace("SET c.touched = true", "WITH c").replace("{sneaky}", "{fine}")
    registry = knowledge(tmp_path / "failing", case_type, failing)
    playbook = registry.get(case_type)
    assert playbook is not None
    problems = check_queries(graph, playbook)
    messages = {problem.message.split(":")[0]: problem for problem in problems}
    assert set(messages) == {"fact 'broken'", "fact 'no_value'"}
    assert messages["fact 'broken'"].line == 11  # where the query is in the file
    assert "Invalid input" in messages["fact 'broken'"].message
    assert "'value'" in messages["fact 'no_value'"].message
    # The registry refuses the playbook once it checks the queries against the graph.
    (case_id,) = open_cases(graph, p, case_type, 1)
    assert recommend(graph, registry, registry.actions, case_id) == []
    assert case_type not in registry.names()
    assert graph.read("MATCH (c:Case {id: $id}) RETURN c.touched AS t", id=case_id) == [{"t": None}]
