"""Rule files in FEEL (`expressions: feel`): tables, values, compute and functions run on the
compiled engine, explain themselves, are tested by `rules test`, and refuse mistakes at
file:line:col."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.engine import RuleFileError, Ruleset, load_ruleset
from service.engine.testing import run_suite
from tests.rulefiles import TODAY, write_rules

LOAN = """
ruleset: loan-offer
description: A loan offer decided in FEEL, as a DMN model decides it.
expressions: feel
input:
  Loan:
    type: object
    fields:
      amount: {type: number, required: true}
      rate: {type: number, required: true}
      term: {type: integer, required: true}
  Credit_Score: {type: integer}
values:
  Monthly_Payment: {type: number}
  Risk: {type: string, enum: [low, medium, high]}
output:
  Offer: {type: string, enum: [decline, refer, accept]}
  Payment: {type: number}
functions:
  PMT:
    parameters: [p, r, n]
    body: (p*r/12)/(1-(1+r/12)**-n)
compute:
  Monthly_Payment: PMT(Loan.amount, Loan.rate, Loan.term)
  Payment: decimal(Monthly_Payment, 2)
tables:
  - id: risk
    hit: unique
    inputs: [Credit_Score]
    outputs: [Risk]
    rows:
      - ['>= 700', '"low"']
      - ['[600..700)', '"medium"']
      - ['< 600', '"high"']
      - ['null', '"high"']
  - id: offer
    hit: priority
    inputs: [Risk, Monthly_Payment]
    outputs: [Offer]
    rows:
      - ['"high"', '-', '"decline"']
      - ['-', '> 2000', '"refer"']
      - ['"low", "medium"', '<= 2000', '"accept"']
"""


@pytest.fixture
def loan(tmp_path: Path) -> Ruleset:
    return load_ruleset(write_rules(tmp_path, LOAN))


def decide(rs: Ruleset, data: dict[str, Any]) -> dict[str, Any]:
    return rs.evaluate(data, today=TODAY).to_dict()


def test_values_computed_in_feel_feed_later_tables(loan: Ruleset) -> None:
    big = {"Loan": {"amount": 600000, "rate": 0.0375, "term": 360}, "Credit_Score": 720}
    decision = decide(loan, big)
    assert decision["outputs"] == {"Offer": "refer", "Payment": 2778.69}
    assert decision["values"]["Risk"] == "low"
    assert decision["values"]["Monthly_Payment"] == pytest.approx(2778.693549432767)
    fired = [f["rule"] for f in decision["fired"]]
    assert fired == ["monthly_payment#1", "payment#1", "risk#1", "offer#2"]
    small = {"Loan": {"amount": 30000, "rate": 0.0475, "term": 60}, "Credit_Score": 650}
    assert decide(loan, small)["outputs"] == {"Offer": "accept", "Payment": 562.71}


def test_a_missing_input_is_feel_null(loan: Ruleset) -> None:
    data = {"Loan": {"amount": 30000, "rate": 0.0475, "term": 60}}
    decision = decide(loan, data)
    assert decision["values"]["Risk"] == "high"  # the 'null' row
    assert decision["outputs"]["Offer"] == "decline"  # priority: decline ranks above accept


def test_rules_test_runs_feel_files(tmp_path: Path) -> None:
    write_rules(tmp_path, LOAN)
    (tmp_path / "loan-offer.test.yaml").write_text(
        """ruleset: loan-offer
cases:
  - name: a good score and a small payment is accepted
    input: {Loan: {amount: 30000, rate: 0.0475, term: 60}, Credit_Score: 710}
    expect:
      outputs: {Offer: accept, Payment: 562.71}
      fired: [monthly_payment#1, payment#1, risk#1, offer#3]
  - name: a wrong expectation fails
    input: {Loan: {amount: 30000, rate: 0.0475, term: 60}, Credit_Score: 710}
    expect:
      outputs: {Offer: refer}
"""
    )
    result = run_suite(tmp_path)
    assert (result.passed, result.failed) == (1, 1), result.report()


@pytest.fixture
def problems(tmp_path: Path) -> Callable[[str], list[str]]:
    def _problems(text: str) -> list[str]:
        path = write_rules(tmp_path, text)
        with pytest.raises(RuleFileError) as info:
            load_ruleset(path)
        return [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]

    return _problems


def test_unknown_names_are_refused_where_written(problems: Callable[[str], list[str]]) -> None:
    found = problems(LOAN.replace("inputs: [Credit_Score]", "inputs: [Credit_Scor]"))
    assert found == [
        "28:14: input 'Credit_Scor': unknown name 'Credit_Scor'; did you mean 'Credit_Score'? "
        "(names: Loan, Credit_Score, Monthly_Payment, Risk)"
    ]


def test_bad_entries_are_refused_at_their_column(problems: Callable[[str], list[str]]) -> None:
    found = problems(LOAN.replace("'[600..700)'", "'[600..'"))
    assert len(found) == 1
    assert found[0].startswith("32:16: row 2, input 'Credit_Score', entry '[600..': ")
    assert "ends too early" in found[0]


def test_outputs_are_checked_against_their_enum(problems: Callable[[str], list[str]]) -> None:
    found = problems(LOAN.replace("'\"decline\"']", "'\"declined\"']"))
    assert len(found) == 1 and "must be one of decline, refer, accept" in found[0]


def test_feel_needs_the_compiled_engine(problems: Callable[[str], list[str]]) -> None:
    found = problems(LOAN.replace("expressions: feel", "expressions: feel\nengine: durable"))
    assert found[0] == (
        "4:9: FEEL ('expressions: feel') runs on the compiled engine only: durable_rules "
        "cannot evaluate FEEL's decimals and nulls; remove 'engine: durable'"
    )


def test_functions_and_compute_need_feel(problems: Callable[[str], list[str]]) -> None:
    found = problems(LOAN.replace("expressions: feel\n", ""))
    assert "'functions' is FEEL (DMN) and needs 'expressions: feel'" in found[0]


def test_unsupported_feel_is_named(problems: Callable[[str], list[str]]) -> None:
    found = problems(LOAN.replace("decimal(Monthly_Payment, 2)", "for x in [1] return x"))
    assert any("a 'for' loop is FEEL that Casewise does not evaluate" in p for p in found)


def test_rule_conditions_are_feel_too(tmp_path: Path) -> None:
    text = (
        LOAN
        + """rules:
  - id: excellent-score
    when: Credit_Score >= 800 and Loan.amount < 50000
    then: {set: {Fast_Track: true}}
"""
    )
    text = text.replace(
        "  Payment: {type: number}\n",
        "  Payment: {type: number}\n  Fast_Track: {type: boolean, default: false}\n",
    )
    rs = load_ruleset(write_rules(tmp_path, text))
    small = {"Loan": {"amount": 30000, "rate": 0.0475, "term": 60}}
    assert decide(rs, {**small, "Credit_Score": 810})["outputs"]["Fast_Track"] is True
    assert decide(rs, {**small, "Credit_Score": 790})["outputs"]["Fast_Track"] is False
    assert decide(rs, small)["outputs"]["Fast_Track"] is False  # null and true is null: no firing
