"""Every mistake in a rule file is reported as file:line:col: message, all at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from service.engine import Registry, load_ruleset
from tests.rulefiles import write_rules

Problems = Callable[[str], list[str]]

BASE = """
ruleset: inv
input:
  amount: {type: number, required: true}
  department: {type: string, enum: [IT, Ops]}
  vendor: {type: object, fields: {risk: {type: string}}}
output:
  route: {type: string}
  hours: {type: number}
rules:
  - id: r1
    when: {when}
    then: {set: {route: auto}}
"""


def when(expr: str) -> str:
    return BASE.replace("{when}", expr)


def test_yaml_syntax_error_has_its_position(problems: Problems) -> None:
    out = problems("ruleset: inv\ninput: {amount: {type: number}\nrules: []\n")
    assert len(out) == 1 and out[0].startswith("3:") and "YAML syntax error" in out[0]


def test_unknown_field_with_suggestion_points_at_the_name(problems: Problems) -> None:
    assert problems(when("amout > 5")) == ["11:11: unknown field 'amout'; did you mean 'amount'?"]


def test_unknown_nested_field(problems: Problems) -> None:
    assert problems(when('amount > 1 and vendor.rsik == "low"')) == [
        "11:26: unknown field 'vendor.rsik'; did you mean 'vendor.risk'?"
    ]


def test_type_mismatch(problems: Problems) -> None:
    assert problems(when("department > 5")) == [
        "11:11: cannot compare string field 'department' with number 5"
    ]


def test_value_outside_the_enum(problems: Problems) -> None:
    out = problems(when('department == "It"'))
    assert out == [
        "11:25: 'It' is not a value of 'department' (one of: IT, Ops); did you mean 'IT'?"
    ]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("amount.__class__ == 1", "names starting with '_' ('__class__') are not allowed"),
        ("eval('1') == 1", "unknown function 'eval'"),
        ("(lambda: 1)() == 1", "'lambda' is not allowed in a condition"),
        ("[x for x in [1]] == [1]", "'list comprehension' is not allowed"),
        ("vendor['risk'] == 'x'", "'indexing with []' is not allowed"),
        ("amount ** 2 > 1", "operator '**' is not allowed"),
        ("amount > ", "syntax error"),
        ("amount", "a condition must be true or false, but this is a number"),
        ("amount.startswith('x')", "'startswith' is a string method"),
        ("fact(route) ", "unknown field 'route'"),
    ],
)
def test_outside_the_grammar_is_rejected_at_load(
    problems: Problems, expr: str, message: str
) -> None:
    out = problems(when(f'"{expr}"'))
    assert len(out) == 1, out
    assert out[0].startswith("11:") and message in out[0], out


def test_all_mistakes_of_a_file_at_once(problems: Problems) -> None:
    text = """
    ruleset: inv
    input:
      amount: {type: numbr}
      department: {type: string}
    output:
      route: {type: string}
    rules:
      - id: r1
        when: departmnt == "IT"
        then: {set: {route: 5}}
      - id: r1
        whn: amount > 1
        then: {set: {rout: auto}}
    tables:
      - id: t
        hit: frist
        inputs: [department]
        outputs: [route]
        rows:
          - ['"IT"', x]
    """
    out = problems(text)
    assert out == [
        "3:18: field 'input.amount' has type 'numbr'; use one of: number, integer, string, "
        "boolean, date, datetime, list, object",
        "9:11: unknown field 'departmnt'; did you mean 'department'?",
        "10:25: value for output 'route' must be a string, got 5",
        "11:5: this rule has no 'when'; write the condition it fires on (use 'when: true' "
        "for always)",
        "11:9: duplicate id 'r1' (first used at line 8); ids must be unique",
        "12:5: unknown key 'whn' in a rule; did you mean 'when'? (allowed: id, description, "
        "priority, when, then)",
        "13:18: unknown output 'rout'; did you mean 'route'? (outputs: route)",
        "16:10: unknown hit policy 'frist'; did you mean 'first'? (hit policies: unique, first, "
        "priority, any, collect, rule order, output order)",
    ]


def test_fact_that_no_rule_asserts(problems: Problems) -> None:
    out = problems(
        when('fact("fraud-chek")').replace(
            "then: {set: {route: auto}}", "then: {set: {route: auto}, assert: fraud-check}"
        )
    )
    assert out == [
        "10:5: rule 'r1' matches fact(\"fraud-chek\") but no rule asserts it; "
        "did you mean 'fraud-check'?"
    ]


def test_bad_table_cell_and_row_width(problems: Problems) -> None:
    text = (
        BASE.replace("{when}", "amount > 1")
        + """
tables:
  - id: t
    hit: first
    inputs: [amount]
    outputs: [hours]
    rows:
      - ["> IT", 4]
      - ["-"]
      - ["[1..", 3]
"""
    )
    out = problems(text)
    assert out[0].startswith("20:10: row 1, input 'amount', cell '> IT': unknown field 'IT'")
    assert out[1] == "21:9: row 2 must have 1 input cell(s) and 1 output value(s) (2 in all), got 1"
    assert out[2].startswith("22:10: row 3, input 'amount': cannot read cell '[1..'")


def test_table_output_shared_with_a_rule_is_refused(problems: Problems) -> None:
    text = (
        BASE.replace("{when}", "amount > 1")
        + """
tables:
  - id: t
    hit: first
    inputs: [amount]
    outputs: [route]
    rows:
      - ["-", manual]
"""
    )
    assert problems(text) == [
        "10:5: output 'route' is set both by rule 'r1' and by table 't'; give each output one owner"
    ]


def test_file_name_must_match_the_ruleset(tmp_path: Path) -> None:
    path = write_rules(tmp_path, BASE.replace("{when}", "amount > 1"), name="other")
    with pytest.raises(Exception, match="ruleset 'inv' must be in a file named inv.yaml"):
        load_ruleset(path)


@pytest.mark.parametrize("word", ["status", "reload"])
def test_names_the_api_paths_use_are_refused(tmp_path: Path, word: str) -> None:
    text = BASE.replace("inv", word).replace("{when}", "amount > 1")
    path = write_rules(tmp_path, text, name=word)
    with pytest.raises(Exception, match=f"'{word}' is a word of the API's own paths"):
        load_ruleset(path)


def test_a_refused_file_is_not_registered_and_others_still_load(tmp_path: Path) -> None:
    write_rules(tmp_path, BASE.replace("{when}", "amount > 1"))
    write_rules(tmp_path, BASE.replace("inv", "bad").replace("{when}", "amont > 1"))
    registry = Registry()
    found = registry.load_dir(tmp_path)
    assert registry.names() == ["inv"]
    assert [p.line for p in found] == [11] and "did you mean 'amount'" in found[0].message
