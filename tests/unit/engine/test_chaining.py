"""Forward chaining, priorities, refraction, stop and the firing limit."""

from __future__ import annotations

import pytest

from service.engine import DecisionError
from tests.rulefiles import TODAY, Make

CHAIN = """
ruleset: chain
input:
  amount: {type: number, required: true}
  risk: {type: string, enum: [low, high]}
output:
  level: {type: string}
  notes: {type: list}
  open_case: {type: boolean, default: false}
rules:
  - id: step-4
    when: fact("c") and amount > 10
    then: {set: {open_case: true}, append: {notes: [four]}}
  - id: step-3
    when: fact("b")
    then: {assert: c, append: {notes: [three]}}
  - id: step-2
    when: fact("a") or risk == "high"
    then: {assert: b, append: {notes: [two]}}
  - id: step-1
    when: amount > 100
    then: {assert: a, append: {notes: [one]}}
"""


def test_rules_match_facts_derived_three_levels_deep(make: Make) -> None:
    rs = make(CHAIN)
    d = rs.evaluate({"amount": 500}, today=TODAY)
    assert [f.rule for f in d.fired] == ["step-1", "step-2", "step-3", "step-4"]
    assert d.facts == ["a", "b", "c"]
    assert d.outputs["notes"] == ["one", "two", "three", "four"]
    assert d.outputs["open_case"] is True


def test_chain_does_not_start_without_its_root(make: Make) -> None:
    d = make(CHAIN).evaluate({"amount": 50}, today=TODAY)
    assert d.fired == [] and d.facts == [] and d.outputs["open_case"] is False


def test_rule_matched_two_ways_fires_once(make: Make) -> None:
    # step-2 holds through fact a AND through risk == high: refraction, one firing
    d = make(CHAIN).evaluate({"amount": 500, "risk": "high"}, today=TODAY)
    assert [f.rule for f in d.fired].count("step-2") == 1
    assert d.outputs["notes"].count("two") == 1


PRIORITY = """
ruleset: prio
input: {amount: {type: number, required: true}}
output: {route: {type: string}, trail: {type: list}}
rules:
  - id: low
    priority: -5
    when: amount > 0
    then: {set: {route: low}, append: {trail: [low]}}
  - id: plain
    when: amount > 0
    then: {set: {route: plain}, append: {trail: [plain]}}
  - id: plain-later-in-file
    when: amount > 0
    then: {append: {trail: [plain-2]}}
  - id: high
    priority: 10
    when: amount > 0
    then: {set: {route: high}, append: {trail: [high]}}
"""


def test_priority_orders_firing_and_the_first_set_wins(make: Make) -> None:
    d = make(PRIORITY).evaluate({"amount": 1}, today=TODAY)
    assert [f.rule for f in d.fired] == ["high", "plain", "plain-later-in-file", "low"]
    assert d.outputs == {"route": "high", "trail": ["high", "plain", "plain-2", "low"]}


def test_stop_ends_the_decision(make: Make) -> None:
    rs = make(
        PRIORITY.replace(
            "then: {set: {route: plain}, append: {trail: [plain]}}",
            "then: {set: {route: plain}, append: {trail: [plain]}, stop: true}",
        )
    )
    d = rs.evaluate({"amount": 1}, today=TODAY)
    assert [f.rule for f in d.fired] == ["high", "plain"]


def test_negated_fact_sees_facts_derived_before_its_turn(make: Make) -> None:
    rs = make("""
        ruleset: neg
        input: {amount: {type: number, required: true}}
        output: {route: {type: string}}
        rules:
          - id: flag
            priority: 5
            when: amount > 100
            then: {assert: big}
          - id: small-path
            when: not fact("big")
            then: {set: {route: small}}
          - id: big-path
            when: fact("big")
            then: {set: {route: big}}
        """)
    assert rs.evaluate({"amount": 500}, today=TODAY).outputs == {"route": "big"}
    assert rs.evaluate({"amount": 5}, today=TODAY).outputs == {"route": "small"}


def test_runaway_chain_stops_at_the_limit_with_a_clear_error(make: Make) -> None:
    rs = make(CHAIN + "limits: {max_firings: 3}\n")
    with pytest.raises(DecisionError) as info:
        rs.evaluate({"amount": 500}, today=TODAY)
    assert info.value.reason == "chain-limit"
    assert "more than 3 rules" in info.value.message
    # the engine is clean afterwards, and exactly the limit is allowed
    assert [f.rule for f in rs.evaluate({"amount": 50, "risk": "high"}, today=TODAY).fired] == [
        "step-2",
        "step-3",
        "step-4",
    ]


def test_limit_comes_from_the_loader_when_the_file_has_none(make: Make) -> None:
    rs = make(CHAIN, max_firings=2)
    with pytest.raises(DecisionError, match="more than 2 rules"):
        rs.evaluate({"amount": 500}, today=TODAY)


def test_fired_rules_carry_the_values_their_condition_read(make: Make) -> None:
    d = make(CHAIN).evaluate({"amount": 500, "risk": "low"}, today=TODAY)
    assert d.fired[0].values == {"amount": 500}
    assert d.fired[1].values == {"risk": "low"}
