"""The action catalogue and the example playbooks load; mistakes are reported with positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.engine import load_ruleset
from service.engine.registry import rule_files
from service.engine.testing import run_suite
from service.recommend import scoring
from service.recommend.catalogue import CatalogueError, load_actions, load_catalogue
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import fill, recommendation_id

KNOWLEDGE = Path(__file__).parents[2] / "knowledge"
PLAYBOOKS = sorted(rule_files(KNOWLEDGE / "playbooks"))


def test_the_catalogue_loads() -> None:
    actions = load_actions(KNOWLEDGE / "actions.yaml")
    assert {"verify-evidence", "refer-to-siu", "raise-priority"} <= set(actions)
    siu = actions["refer-to-siu"]
    assert not siu.repeatable and siu.applies_to("insurance-claim")
    assert not siu.applies_to("customer-complaint")
    assert actions["raise-priority"].applies_to("anything-at-all")
    assert siu.to_dict()["case_types"] == ["insurance-claim", "invoice-fraud"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "actions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("actions: [", ":1:11: YAML syntax error"),
        ("- a\n", ":1:1: the catalogue must be a mapping with 'actions'"),
        ("actions:\n  - {id: Bad_Id, label: X}\n", ":2:10: action 'id' must be lower-case"),
        ("actions:\n  - {id: a}\n", ":2:5: action 'a' needs a 'label'"),
        (
            "actions:\n  - {id: a, label: A, repeatable: yes}\n",
            ":2:35: 'repeatable' of action 'a' must be true or false, got 'yes'",
        ),
        (
            "actions:\n  - {id: a, label: A, sla_hours: -1}\n",
            ":2:34: 'sla_hours' of action 'a' must be a positive number",
        ),
        (
            "actions:\n  - {id: a, label: A, case_types: [Claims]}\n",
            ":2:36: case type 'Claims' of action 'a'",
        ),
        (
            "actions:\n  - {id: a, label: A, lable: B}\n",
            ":2:23: unknown key 'lable' in an action; did you mean 'label'?",
        ),
        (
            "actions:\n  - {id: a, label: A}\n  - {id: a, label: B}\n",
            ":3:10: action 'a' is listed twice (first at line 2)",
        ),
        (
            "actions:\n  - {id: a, label: A, effect: {priority: up}}\n",
            ":2:42: effect priority of action 'a' must be \"raise\" or a priority from 1",
        ),
        (
            "teams:\n  - {id: siu, label: SIU}\n"
            "actions:\n  - {id: a, label: A, effect: {team: fraud}}\n",
            ":4:38: effect team of action 'a' must be a team of 'teams': siu, got 'fraud'",
        ),
        (
            "actions:\n  - {id: a, label: A, effect: {status: closed}}\n",
            ":2:40: effect status of action 'a' must be open or pending, got 'closed'",
        ),
        (
            "actions:\n  - {id: a, label: A, effect: {assign: me}}\n",
            ":2:32: unknown key 'assign' in the effect of action 'a'",
        ),
    ],
)
def test_catalogue_mistakes_name_the_position(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CatalogueError) as caught:
        load_actions(path)
    assert f"{path}{expected}" in str(caught.value), str(caught.value)


def test_a_missing_catalogue_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read the action catalogue"):
        load_actions(tmp_path / "actions.yaml")
    registry = PlaybookRegistry.load(tmp_path)
    assert len(registry) == 0 and registry.problems


@pytest.mark.parametrize("path", PLAYBOOKS, ids=[p.stem for p in PLAYBOOKS])
def test_every_example_playbook_loads_and_passes_its_tests(path: Path) -> None:
    actions = set(load_actions(KNOWLEDGE / "actions.yaml"))
    playbook = load_ruleset(path, actions=actions)
    assert playbook.kind == "playbook" and playbook.name == path.stem
    test_file = path.with_suffix(".test.yaml")
    assert test_file.is_file()
    result = run_suite(test_file)
    assert result.ok and result.passed >= 6, result.report()


def test_the_registry_serves_the_example_playbooks() -> None:
    registry = PlaybookRegistry.load(KNOWLEDGE)
    assert registry.problems == []
    assert registry.names() == ["customer-complaint", "insurance-claim", "invoice-fraud"]
    assert registry.get("warranty-return") is None


def test_a_playbook_naming_an_unknown_action_is_refused(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    write(tmp_path, "actions:\n  - {id: alpha, label: Alpha}\n")
    (tmp_path / "playbooks" / "demo-case.yaml").write_text(
        "playbook: demo-case\nfacts:\n  x: {type: integer, query: 'RETURN $case_id AS value'}\n"
        "rules:\n  - id: r\n    when: x > 0\n    then:\n"
        "      recommend: {action: alpah, weight: 0.5, rationale: go}\n",
        encoding="utf-8",
    )
    registry = PlaybookRegistry.load(tmp_path)
    assert len(registry) == 0
    assert any("unknown action 'alpah'" in p.message for p in registry.problems)


def test_rationale_and_ids() -> None:
    assert fill("{n} items: {ids}", {"n": 2, "ids": ["a", "b"]}) == "2 items: a, b"
    assert fill("{n} items", {"n": None}) == "unknown items"
    rid = recommendation_id("c1", "rule", "verify-evidence")
    assert rid == recommendation_id("c1", "rule", "verify-evidence")
    assert rid != recommendation_id("c2", "rule", "verify-evidence")
    assert rid.startswith("rec-") and len(rid) == 20


def test_scores_follow_the_decisions() -> None:
    counts = {("a", "r"): (0, 4), ("b", scoring.EXPERT_RULE): (4, 0), ("b", "r"): (1, 0)}
    assert scoring.score(0.5, {}, "a", "r") == 0.5
    assert scoring.score(0.5, counts, "a", "r") == pytest.approx(0.5 * (2 / 8) / 0.5)
    assert scoring.score(0.5, counts, "b", "r") == pytest.approx(0.5 * (7 / 9) / 0.5)
    assert scoring.score(0.5, counts, "b", scoring.EXPERT_RULE) == pytest.approx(0.5 * 6 / 8 / 0.5)


def test_effects_and_teams_are_read(tmp_path: Path) -> None:
    text = (
        "teams:\n  - {id: siu, label: Special investigations}\n"
        "actions:\n  - {id: a, label: A, effect: {priority: raise, team: siu}}\n"
        "  - {id: b, label: B}\n"
    )
    actions, teams = load_catalogue(write(tmp_path, text))
    assert teams == {"siu": "Special investigations"}
    assert actions["a"].effects == {"priority": "raise", "team": "siu"}
    assert actions["b"].effects == {}
    shipped = load_actions(KNOWLEDGE / "actions.yaml")
    assert shipped["refer-to-siu"].effects == {"status": "pending", "team": "siu"}
