"""The text changes a suggestion proposes: only the named rule's recommend block is touched.

Pure text tests (no Neo4j); they sit beside the suggestion tests they support.
"""

from __future__ import annotations

from pathlib import Path

from service.recommend.mining import lower_weight, replace_action
from service.recommend.patching import unified_diff

PLAYBOOK = """\
playbook: demo
rules:
  - id: first
    when: x > 0
    then:
      recommend:
        action: verify-evidence   # keep the comment
        weight: 0.6
        rationale: "check {x}"

  - id: second
    when: x > 1
    then:
      recommend: {action: verify-evidence, weight: 0.8, rationale: again}
  - id: "third"
    then:
      set: {y: 1}
"""


def test_replace_action_changes_only_that_rule() -> None:
    patched = replace_action(PLAYBOOK, "second", "verify-evidence", "raise-priority")
    assert patched is not None
    assert "recommend: {action: raise-priority, weight: 0.8" in patched
    assert "        action: verify-evidence   # keep the comment" in patched
    first = replace_action(PLAYBOOK, "first", "verify-evidence", "raise-priority")
    assert first is not None
    assert "        action: raise-priority   # keep the comment" in first
    assert "{action: verify-evidence" in first


def test_nothing_to_change_gives_none() -> None:
    assert replace_action(PLAYBOOK, "third", "verify-evidence", "x") is None
    assert replace_action(PLAYBOOK, "missing", "verify-evidence", "x") is None
    assert lower_weight(PLAYBOOK, "third", 0.5) is None
    # the action is a prefix of another: not a match
    assert replace_action(PLAYBOOK, "first", "verify", "x") is None


def test_lower_weight_scales_and_keeps_a_floor() -> None:
    half = lower_weight(PLAYBOOK, "first", 0.5)
    assert half is not None and "        weight: 0.3\n" in half
    floor = lower_weight(PLAYBOOK, "second", 0.0)
    assert floor is not None and "weight: 0.05," in floor


def test_diff_names_the_file_relative_to_the_working_folder(tmp_path: Path) -> None:
    after = lower_weight(PLAYBOOK, "first", 0.5)
    assert after is not None
    diff = unified_diff(tmp_path / "playbooks" / "demo.yaml", PLAYBOOK, after)
    assert diff.startswith("--- a/playbooks/demo.yaml\n+++ b/playbooks/demo.yaml\n")
    inside = unified_diff(Path("knowledge/playbooks/demo.yaml"), PLAYBOOK, after)
    assert inside.startswith("--- a/knowledge/playbooks/demo.yaml\n")
    assert "-        weight: 0.6\n+        weight: 0.3\n" in diff
