"""Intermediate values: decided by tables and rules, read by later tables and rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.engine.loader import use_engine
from tests.rulefiles import TODAY, Make

SHIPPING = """
ruleset: shipping
input:
  zone: {type: string, enum: [domestic, eu, world], required: true}
  weight_kg: {type: number, minimum: 0, required: true}
  express: {type: boolean, default: false}
values:
  base: {type: number, description: price per kg for the zone}
  surcharge: {type: number, default: 0}
  checks: {type: list, items: {type: string}}
output:
  price: {type: number}
  band: {type: string, enum: [light, heavy, freight]}
  review: {type: boolean, default: false}
rules:
  - id: express-costs-more
    when: express
    then: {set: {surcharge: 15}, append: {checks: express}}
  - id: price-is-base-plus-surcharge
    when: base != null
    then: {set: {price: 0}}
  - id: dear-needs-review
    when: weight_kg * base + surcharge > 200
    then: {set: {review: true}, append: {checks: dear}}
tables:
  - id: base-rate
    hit: unique
    inputs: [zone]
    outputs: [base]
    rows:
      - ['"domestic"', 2]
      - ['"eu"', 5]
      - ['"world"', 12]
  - id: banding
    hit: first
    inputs: [weight_kg * base]
    outputs: [band]
    rows:
      - ['< 50', light]
      - ['< 150', heavy]
      - ['-', freight]
"""


def test_a_table_decides_a_value_that_rules_and_tables_read(make: Make) -> None:
    rs = make(SHIPPING)
    d = rs.evaluate({"zone": "world", "weight_kg": 20, "express": True}, today=TODAY)
    assert d.values == {"base": 12, "surcharge": 15, "checks": ["express", "dear"]}
    assert d.outputs["review"] is True
    assert d.outputs["band"] == "freight"  # 20 kg * 12 = 240
    fired = {f.rule: f.values for f in d.fired}
    assert fired["dear-needs-review"] == {"weight_kg": 20, "base": 12, "surcharge": 15}
    assert fired["banding#3"] == {"weight_kg": 20, "base": 12}
    light = rs.evaluate({"zone": "domestic", "weight_kg": 3}, today=TODAY)
    assert light.values == {"base": 2, "surcharge": 0, "checks": []}
    assert light.outputs["band"] == "light" and light.outputs["review"] is False
    assert "values" in light.to_dict() and "values" in rs.describe()


def test_values_are_decided_before_what_reads_them_whatever_the_file_order(make: Make) -> None:
    rs = make(
        """
        ruleset: order
        input: {n: {type: number}}
        values: {a: {type: number}, b: {type: number}}
        output: {out: {type: string}}
        rules:
          - {id: reads-b, priority: 9, when: b > 10, then: {set: {out: big}}}
          - {id: b-from-a, when: a != null, then: {set: {b: 11}}}
          - {id: fallback, priority: -9, when: 'true', then: {set: {out: small}}}
        tables:
          - {id: a-from-n, inputs: [n], outputs: [a], rows: [['> 0', 1]]}
        """
    )
    d = rs.evaluate({"n": 5}, today=TODAY)
    assert d.outputs == {"out": "big"}
    assert [f.rule for f in d.fired] == ["a-from-n#1", "b-from-a", "reads-b", "fallback"]
    assert rs.evaluate({"n": -1}, today=TODAY).outputs == {"out": "small"}


def test_a_cycle_through_values_is_a_load_error_naming_the_chain(
    problems: Callable[[str], list[str]],
) -> None:
    got = problems(
        """
        ruleset: loop
        input: {n: {type: number}}
        values: {a: {type: number}, b: {type: number}}
        output: {out: {type: string}}
        rules:
          - {id: b-from-a, when: a > 1, then: {set: {b: 2}}}
          - {id: out, when: 'true', then: {set: {out: x}}}
        tables:
          - {id: a-from-b, inputs: [b], outputs: [a], rows: [['> 1', 3]]}
        """
    )
    assert got == [
        "9:5: values depend on themselves: table 'a-from-b' reads 'b', set by rule 'b-from-a' "
        "(line 6), which reads 'a', set by table 'a-from-b' (line 9); "
        "a value must be decided before what reads it"
    ]


def test_a_rule_that_reads_the_value_it_sets_is_a_cycle(
    problems: Callable[[str], list[str]],
) -> None:
    got = problems(
        """
        ruleset: self
        input: {n: {type: number}}
        values: {a: {type: number}}
        output: {out: {type: string}}
        rules:
          - {id: grow, when: a == null, then: {set: {a: 1}}}
        """
    )
    assert got[0].startswith("6:5: values depend on themselves: rule 'grow' reads 'a', set by")


def test_value_mistakes_are_reported_with_positions(problems: Callable[[str], list[str]]) -> None:
    got = problems(
        """
        ruleset: bad
        engine: fast
        input: {n: {type: number}}
        values: {n: {type: number}, when_: {type: date}, limt: {type: number}}
        output: {out: {type: number}}
        rules:
          - {id: r, when: limit > 1, then: {set: {out: 1}}}
        """
    )
    assert sorted(got) == [
        "2:9: unknown engine 'fast' (engines: compiled, durable)",
        "4:10: value 'n' has the name of an input field; rename one",
        "4:29: value 'when_' is a date; a value is one of number, integer, string, boolean, list",
        "7:19: unknown field 'limit'; did you mean 'limt'?",
    ]


def test_the_durable_engine_refuses_values_at_the_engine_key(
    problems: Callable[[str], list[str]],
) -> None:
    got = problems(
        """
        ruleset: old
        engine: durable
        input: {n: {type: number}}
        values: {a: {type: number}}
        output: {out: {type: number}}
        tables:
          - {id: t, inputs: [n], outputs: [a], rows: [['-', 1]]}
        """
    )
    assert len(got) == 1 and got[0].startswith("2:9: intermediate values ('values') need the")


def test_rules_test_expects_values(make: Make, tmp_path: object) -> None:
    from pathlib import Path

    from service.engine.testing import run_suite

    rs = make(SHIPPING)
    test_file = Path(rs.path).with_name("shipping.test.yaml")
    test_file.write_text(
        "ruleset: shipping\n"
        "cases:\n"
        "  - name: world parcels are priced per kg\n"
        "    input: {zone: world, weight_kg: 1}\n"
        "    expect: {values: {base: 12, surcharge: 0}}\n"
        "  - name: a wrong expectation is reported\n"
        "    input: {zone: eu, weight_kg: 1}\n"
        "    expect: {values: {base: 6}}\n"
        "  - name: an unknown value is a problem\n"
        "    input: {zone: eu, weight_kg: 1}\n"
        "    expect: {values: {bse: 6}}\n"
    )
    suite = run_suite(test_file)
    assert suite.passed == 1 and suite.failed == 1
    assert "values.base: expected 6, got 5" in suite.report()
    assert "unknown value 'bse'; did you mean 'base'?" in suite.report()


def test_the_engine_is_chosen_by_the_file_then_the_setting(make: Make) -> None:
    text = """
        ruleset: pick
        ENGINE
        input: {n: {type: number}}
        output: {out: {type: number}}
        rules: [{id: r, when: n > 1, then: {set: {out: 1}}}]
        """
    assert make(text.replace("ENGINE", "")).engine == "compiled"
    assert make(text.replace("ENGINE", "engine: durable")).engine == "durable"
    use_engine("durable")
    try:
        assert make(text.replace("ENGINE", "")).engine == "durable"
        assert make(text.replace("ENGINE", "engine: compiled")).engine == "compiled"
    finally:
        use_engine("compiled")
    with pytest.raises(ValueError, match="unknown engine"):
        use_engine("fast")


def test_a_condition_durable_rules_cannot_take_is_a_load_error_there_only(
    make: Make, problems: Callable[[str], list[str]]
) -> None:
    alternatives = " or ".join(f'c == "a{i}"' for i in range(600))
    text = f"""
        ruleset: wide
        ENGINE
        input: {{c: {{type: string}}, n: {{type: number}}}}
        output: {{hit: {{type: boolean, default: false}}}}
        rules:
          - id: many
            when: '{alternatives}'
            then: {{set: {{hit: true}}}}
        """
    got = problems(text.replace("ENGINE", "engine: durable"))
    assert len(got) == 1 and got[0].startswith("7:11: rule 'many': "), got
    rs = make(text.replace("ENGINE", ""))
    assert rs.evaluate({"c": "a599", "n": 600}, today=TODAY).outputs == {"hit": True}
    assert rs.evaluate({"c": "a600", "n": 2}, today=TODAY).outputs == {"hit": False}


def test_lint_reads_the_values_an_input_decides(make: Make) -> None:
    from service.engine.lint import lint_ruleset

    findings = lint_ruleset(make(SHIPPING), today=TODAY)
    assert not [f for f in findings if "never" in f.message], findings


def test_an_expression_yaml_split_at_its_comma_gets_a_hint_to_quote_it(
    problems: Callable[[str], list[str]],
) -> None:
    got = problems(
        """
        ruleset: split
        input: {amount: {type: number}, days: {type: number}, c: {type: string}}
        output: {band: {type: string}}
        tables:
          - id: t
            inputs: [c, amount / max(days, 1)]
            outputs: [band]
            rows: [['-', '> 5', high]]
        """
    )
    assert got == [
        "6:13: YAML split the input expression 'amount / max(days, 1)' at its comma(s) "
        "(a [..] list separates items by commas); quote each expression that has a comma, "
        "e.g. inputs: [category, 'amount / max(days, 1)']"
    ]
