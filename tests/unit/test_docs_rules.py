"""docs/rules.md stays honest: its rulesets load, its tests pass, its sample outputs are real.

Every ```yaml block in the guide that is a whole rule file (it has `ruleset` and `input`)
must load; every block that is a whole test file (`ruleset` and `cases`) must pass against
the rule file of that name shown above it in the guide (or, failing that, the one in
rules/). A rule file marked `<!-- broken -->` must be refused with exactly the problems
the ```text block after it shows.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from service.engine import InputError, RuleFileError, load_ruleset
from service.engine.testing import run_suite

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "rules.md"
RULES = ROOT / "rules"
FENCE = re.compile(r"(<!-- broken -->\n)?```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass
class Block:
    lang: str
    text: str
    line: int  # line of the opening fence in docs/rules.md
    broken: bool
    data: Any

    @property
    def name(self) -> str:
        return str(self.data["ruleset"])

    def __str__(self) -> str:
        return f"docs/rules.md:{self.line}"


def _blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start(2)) + 1
        data = YAML(typ="safe").load(match.group(3)) if match.group(2) == "yaml" else None
        found.append(Block(match.group(2), match.group(3), line, bool(match.group(1)), data))
    return found


BLOCKS = _blocks()


def _is(block: Block, *keys: str) -> bool:
    return isinstance(block.data, dict) and all(key in block.data for key in keys)


RULE_FILES = [b for b in BLOCKS if _is(b, "ruleset", "input") and not b.broken]
TEST_FILES = [b for b in BLOCKS if _is(b, "ruleset", "cases")]
BROKEN = [b for b in BLOCKS if b.broken]


def _rule_file_for(test: Block) -> str:
    """The text of the rule file a test block runs against."""
    shown = [b for b in RULE_FILES if b.name == test.name and b.line < test.line]
    if shown:
        return shown[-1].text
    return (RULES / f"{test.name}.yaml").read_text(encoding="utf-8")


def test_the_guide_has_its_examples() -> None:
    assert len(RULE_FILES) >= 12
    assert len(TEST_FILES) >= 10
    assert len(BROKEN) == 1
    # every hit policy has a worked example
    hits = {t["hit"] for b in RULE_FILES for t in b.data.get("tables", [])}
    assert hits >= {"unique", "first", "priority", "any", "collect", "rule order", "output order"}


@pytest.mark.parametrize("block", RULE_FILES, ids=str)
def test_example_rule_file_loads(block: Block, tmp_path: Path) -> None:
    path = tmp_path / f"{block.name}.yaml"
    path.write_text(block.text, encoding="utf-8")
    try:
        load_ruleset(path)
    except RuleFileError as exc:
        pytest.fail(f"the rule file at {block} does not load:\n{exc}")


@pytest.mark.parametrize("block", TEST_FILES, ids=str)
def test_example_test_file_passes(block: Block, tmp_path: Path) -> None:
    (tmp_path / f"{block.name}.yaml").write_text(_rule_file_for(block), encoding="utf-8")
    test_file = tmp_path / f"{block.name}.test.yaml"
    test_file.write_text(block.text, encoding="utf-8")
    result = run_suite(test_file)
    assert result.ok, f"the test file at {block} fails:\n{result.report()}"
    assert result.passed == len(block.data["cases"])


def test_broken_example_gives_the_problems_shown(tmp_path: Path) -> None:
    block = BROKEN[0]
    shown = BLOCKS[BLOCKS.index(block) + 1]
    assert shown.lang == "text"
    expected = [line for line in shown.text.splitlines() if line.startswith("rules/")]
    (tmp_path / "rules").mkdir()
    path = tmp_path / "rules" / f"{block.name}.yaml"
    path.write_text(block.text, encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_ruleset(path)
    got = [f"rules/{path.name}:{p.line}:{p.col}: {p.message}" for p in caught.value.problems]
    assert got == expected
    assert f"{len(got)} problem(s) in 1 file(s)" in shown.text


EXPRESSION_SCHEMA = """\
ruleset: expressions
input:
  amount: number
  balance: number
  week_number: integer
  team_on_leave: integer
  team_size: integer
  days_requested: number
  department: {type: string, enum: [IT, Ops, Sales]}
  vendor: {type: object, fields: {risk: {type: string, enum: [low, high]}, name: string}}
  po_matched: boolean
  tags: {type: list, items: string}
  systems: {type: list, items: string}
  lines: {type: list, items: {type: object, fields: {amount: number}}}
  legs: {type: list, items: {type: object, fields: {cabin: string}}}
  start_date: date
  start: date
  due_date: date
  received: date
  booked_at: datetime
  name: string
  country: string
  email: string
  notes: string
  iban: string
output:
  matched: {type: list}
rules:
  - id: derive
    when: amount > 0
    then: {assert: fraud-check}
"""


def _expressions() -> list[str]:
    """The example conditions of the guide's operator and function tables and code snippets."""
    text = DOC.read_text(encoding="utf-8")
    found = []
    for title in ("### Operators", "### Functions and methods"):
        section = text.split(title, 1)[1].split("\n#", 1)[0]
        for row in section.splitlines()[3:]:
            if row.startswith("| "):
                found += re.findall(r"`([^`]+)`", row.split(" | ")[1])
    snippets = [b.text for b in BLOCKS if b.lang == ""]
    for line in "\n".join(snippets).splitlines():
        if line.startswith("when: "):
            found.append(line.removeprefix("when: ").split("#")[0].strip())
    return found


EXPRESSIONS = _expressions()


def test_every_example_expression_loads(tmp_path: Path) -> None:
    assert len(EXPRESSIONS) >= 25
    rules = "".join(
        f"  - id: e{i}\n    when: {json.dumps(text)}\n    then: {{append: {{matched: [e{i}]}}}}\n"
        for i, text in enumerate(EXPRESSIONS)
    )
    path = tmp_path / "expressions.yaml"
    path.write_text(EXPRESSION_SCHEMA + rules, encoding="utf-8")
    try:
        ruleset = load_ruleset(path)
    except RuleFileError as exc:
        pytest.fail(f"example expressions in docs/rules.md do not load:\n{exc}")
    decision = ruleset.evaluate({"amount": 5000, "tags": ["vip"], "start_date": "2026-03-20"})
    assert "e0" not in decision.outputs["matched"]  # vendor.risk == "high": vendor is missing


def _json_block(*needles: str) -> Any:
    for block in BLOCKS:
        if block.lang == "json" and all(needle in block.text for needle in needles):
            return json.loads(block.text)
    raise AssertionError(f"no json block in docs/rules.md has {needles}")


def test_decision_example_is_what_the_example_rules_decide() -> None:
    shown = _json_block('"fired"', '"duration_ms"')
    ruleset = load_ruleset(RULES / "invoice-approval.yaml")
    data = {
        "amount": 60000,
        "department": "Ops",
        "vendor": {"name": "Quickfix Ltd", "risk": "high"},
    }
    assert json.dumps(data) in DOC.read_text(encoding="utf-8")
    decision = ruleset.evaluate(data).to_dict()
    for key in ("ruleset", "outputs", "fired", "facts"):
        assert decision[key] == shown[key], key
    assert set(decision) == set(shown)


def test_input_error_example_is_what_the_engine_says() -> None:
    shown = _json_block('"invalid-input"', '"details"')["error"]
    ruleset = load_ruleset(RULES / "invoice-approval.yaml")
    with pytest.raises(InputError) as caught:
        ruleset.evaluate({"amount": -5, "department": "Legal", "vendor": {"risk": "low"}})
    assert str(caught.value) == shown["message"]
    assert caught.value.details == shown["details"]


def test_failure_report_example_is_what_the_runner_prints(tmp_path: Path) -> None:
    shown = next(b for b in BLOCKS if b.lang == "" and ": FAIL " in b.text).text.splitlines()
    shutil.copy(RULES / "invoice-approval.yaml", tmp_path)
    tests = (RULES / "invoice-approval.test.yaml").read_text(encoding="utf-8")
    case = tests.index("- name: large IT invoice goes to the CFO")
    head, tail = tests[:case], tests[case:]
    tail = tail.replace("route: cfo", "route: department-head", 1)
    tail = tail.replace("[sla#2, cfo-approval]", "[sla#2, department-head-approval]", 1)
    changed = head + tail
    assert changed != tests
    (tmp_path / "invoice-approval.test.yaml").write_text(changed, encoding="utf-8")
    report = run_suite(tmp_path).report().replace(f"{tmp_path}/", "rules/").splitlines()
    assert report[:-1] == shown[:-1]
    assert report[-1].endswith(" passed, 1 failed") and shown[-1].endswith(" passed, 1 failed")
