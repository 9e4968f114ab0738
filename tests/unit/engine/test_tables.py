"""Decision tables: cell syntax and every DMN hit policy."""

from __future__ import annotations

from typing import Any

import pytest

from service.engine import DecisionError
from tests.rulefiles import TODAY, Make

HEAD = """
ruleset: t
input:
  dept: {type: string, enum: [IT, Ops, Sales]}
  amount: {type: number}
  urgent: {type: boolean}
output:
  level: {type: string, enum: [high, medium, low]}
  hours: {type: number}
  approvers: {type: list, items: {type: string, enum: [cfo, head, manager]}}
tables:
"""


def table(body: str) -> str:
    return HEAD + "\n".join("  " + line for line in body.strip("\n").splitlines()) + "\n"


def hits(d: Any) -> list[str]:
    return [f.rule for f in d.fired]


@pytest.mark.parametrize(
    ("cell", "amount", "matches"),
    [
        ("> 5000", 5001, True),
        ("> 5000", 5000, False),
        (">= 5000", 5000, True),
        ("< 10", 9.5, True),
        ("<= 10", 11, False),
        ("[100..500]", 100, True),
        ("[100..500]", 500, True),
        ("[100..500]", 501, False),
        ("(100..500)", 100, False),
        ("(100..500)", 101, True),
        ("[100..500)", 500, False),
        ("100, 200", 200, True),
        ("100, 200", 150, False),
        ("not(100, 200)", 150, True),
        ("-", 1, True),
        ("= 7", 7, True),
        ("!= 7", 7, False),
    ],
)
def test_numeric_cells(make: Make, cell: str, amount: float, matches: bool) -> None:
    rs = make(
        table(f"""
- id: t1
  hit: first
  inputs: [amount]
  outputs: [hours]
  rows:
    - ["{cell}", 1]
""")
    )
    d = rs.evaluate({"amount": amount}, today=TODAY)
    assert (d.outputs.get("hours") == 1) is matches


def test_string_cells_and_lists(make: Make) -> None:
    rs = make(
        table("""
- id: t1
  hit: first
  inputs: [dept, urgent]
  outputs: [hours]
  rows:
    - ['"IT","Ops"', true, 4]
    - ['"IT"', "-", 24]
    - ['not("IT")', "-", 48]
""")
    )
    assert rs.evaluate({"dept": "Ops", "urgent": True}, today=TODAY).outputs["hours"] == 4
    assert rs.evaluate({"dept": "IT", "urgent": False}, today=TODAY).outputs["hours"] == 24
    assert rs.evaluate({"dept": "Sales"}, today=TODAY).outputs["hours"] == 48


OVERLAP = """
- id: t1
  hit: {hit}
  inputs: [amount]
  outputs: [level]
  rows:
    - ["> 100", low]
    - ["> 1000", high]
    - ["> 500", medium]
"""


def test_unique_one_match(make: Make) -> None:
    rs = make(table(OVERLAP.replace("{hit}", "unique")))
    d = rs.evaluate({"amount": 200}, today=TODAY)
    assert d.outputs["level"] == "low" and hits(d) == ["t1#1"]


def test_unique_two_matches_is_a_decision_error(make: Make) -> None:
    rs = make(table(OVERLAP.replace("{hit}", "unique")))
    with pytest.raises(DecisionError) as info:
        rs.evaluate({"amount": 2000}, today=TODAY)
    assert info.value.reason == "table-not-unique"
    assert "rows 1, 2 and 3" in info.value.message
    assert info.value.details == [{"code": "table-not-unique"}, {"table": "t1", "rows": [1, 2, 3]}]


def test_first_takes_the_first_matching_row(make: Make) -> None:
    d = make(table(OVERLAP.replace("{hit}", "first"))).evaluate({"amount": 2000}, today=TODAY)
    assert d.outputs["level"] == "low" and hits(d) == ["t1#1"]


def test_priority_takes_the_row_whose_output_ranks_highest(make: Make) -> None:
    d = make(table(OVERLAP.replace("{hit}", "priority"))).evaluate({"amount": 2000}, today=TODAY)
    assert d.outputs["level"] == "high" and hits(d) == ["t1#2"]
    d = make(table(OVERLAP.replace("{hit}", "priority"))).evaluate({"amount": 600}, today=TODAY)
    assert d.outputs["level"] == "medium"


def test_any_accepts_agreeing_rows_and_refuses_conflicting_ones(make: Make) -> None:
    rs = make(
        table("""
- id: t1
  hit: any
  inputs: [amount]
  outputs: [level]
  rows:
    - ["> 100", low]
    - ["> 200", low]
    - ["> 1000", high]
""")
    )
    d = rs.evaluate({"amount": 300}, today=TODAY)
    assert d.outputs["level"] == "low" and hits(d) == ["t1#1", "t1#2"]
    with pytest.raises(DecisionError) as info:
        rs.evaluate({"amount": 2000}, today=TODAY)
    assert info.value.reason == "table-any-conflict"


def test_collect_appends_every_match_in_row_order(make: Make) -> None:
    rs = make(
        table("""
- id: t1
  hit: collect
  inputs: [amount]
  outputs: [approvers]
  rows:
    - ["> 100", manager]
    - ["> 10000", cfo]
    - ["> 1000", head]
""")
    )
    d = rs.evaluate({"amount": 20000}, today=TODAY)
    assert d.outputs["approvers"] == ["manager", "cfo", "head"]
    assert rs.evaluate({"amount": 5}, today=TODAY).outputs["approvers"] == []


@pytest.mark.parametrize(("agg", "expected"), [("sum", 35), ("min", 5), ("max", 20), ("count", 3)])
def test_collect_with_aggregation(make: Make, agg: str, expected: int) -> None:
    rs = make(
        table(f"""
- id: t1
  hit: collect
  aggregate: {agg}
  inputs: [amount, dept]
  outputs: [hours]
  rows:
    - ["> 0", "-", 5]
    - ["> 10", '"IT"', 20]
    - ["> 10", "-", 10]
    - ["> 99999", "-", 1000]
""")
    )
    assert rs.evaluate({"amount": 50, "dept": "IT"}, today=TODAY).outputs["hours"] == expected


def test_count_of_no_match_is_zero(make: Make) -> None:
    rs = make(
        table("""
- id: t1
  hit: collect
  aggregate: count
  inputs: [amount]
  outputs: [hours]
  rows:
    - ["> 10", 1]
""")
    )
    assert rs.evaluate({"amount": 1}, today=TODAY).outputs["hours"] == 0


def test_rule_order_and_output_order(make: Make) -> None:
    body = """
- id: t1
  hit: {hit}
  inputs: [amount]
  outputs: [approvers]
  rows:
    - ["> 100", manager]
    - ["> 10000", cfo]
    - ["> 1000", head]
"""
    ro = make(table(body.replace("{hit}", "rule order"))).evaluate({"amount": 20000}, today=TODAY)
    assert ro.outputs["approvers"] == ["manager", "cfo", "head"]
    oo = make(table(body.replace("{hit}", "output order"))).evaluate({"amount": 20000}, today=TODAY)
    assert oo.outputs["approvers"] == ["cfo", "head", "manager"]  # enum order of the items
    assert hits(oo) == ["t1#2", "t1#3", "t1#1"]


def test_table_output_feeds_defaults_when_nothing_matches(make: Make) -> None:
    d = make(table(OVERLAP.replace("{hit}", "first"))).evaluate({"amount": 1}, today=TODAY)
    assert "level" not in d.outputs and hits(d) == []


def test_a_single_row_policy_gives_a_list_output_a_list_that_rules_and_tables_add_to(
    make: Make,
) -> None:
    rs = make(
        """
        ruleset: approvers
        input: {amount: {type: number}, category: {type: string}}
        output: {approvers: {type: list, items: {type: string}}}
        rules:
          - {id: big, when: amount > 100, then: {append: {approvers: cfo}}}
        tables:
          - id: by-category
            hit: first
            inputs: [category]
            outputs: [approvers]
            rows: [['"travel"', finance], ['-', [manager, lead]]]
          - id: extra
            hit: collect
            inputs: [amount]
            outputs: [approvers]
            rows: [['> 50', audit]]
        """
    )
    d = rs.evaluate({"amount": 500, "category": "travel"}, today=TODAY)
    assert d.outputs["approvers"] == ["cfo", "finance", "audit"]
    d = rs.evaluate({"amount": 10, "category": "food"}, today=TODAY)
    assert d.outputs["approvers"] == ["manager", "lead"]
    again = rs.evaluate({"amount": 10, "category": "food"}, today=TODAY)
    assert again.outputs["approvers"] == ["manager", "lead"]  # the row's list is not changed
