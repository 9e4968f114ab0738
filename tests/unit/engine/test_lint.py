"""`casewise rules lint`: each kind of problem, seeded in a small rule file, is found at its
line with an example input the engine confirms."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.engine import DecisionError, Ruleset
from service.engine.candidates import combine
from service.engine.lint import ERROR, WARNING, Finding, lint_ruleset
from tests.rulefiles import TODAY, Make

RULES = Path(__file__).parents[3] / "rules"


def lint(rs: Ruleset) -> list[Finding]:
    return lint_ruleset(rs, today=TODAY)


def only(findings: list[Finding], text: str) -> Finding:
    found = [f for f in findings if text in f.message]
    assert len(found) == 1, [str(f) for f in findings]
    return found[0]


def line_of(rs: Ruleset, text: str) -> int:
    """The line of the rule file that holds ``text`` (written once in the file)."""
    lines = rs.path.read_text().splitlines()
    found = [n for n, line in enumerate(lines, start=1) if text in line]
    assert len(found) == 1, found
    return found[0]


def fired(rs: Ruleset, data: dict[str, object]) -> list[str]:
    return [f.rule for f in rs.evaluate(data, today=TODAY).fired]


def test_contradictory_condition_is_an_error_without_a_search(make: Make) -> None:
    rs = make(
        """
        ruleset: contra
        input:
          amount: {type: number, required: true}
        output:
          flag: {type: boolean, default: false}
        rules:
          - id: fine
            when: amount > 1
            then: {set: {flag: true}}
          - id: impossible
            when: amount > 10 and amount < 5
            then: {set: {flag: true}}
        """
    )
    finding = only(lint(rs), "'impossible'")
    assert (finding.line, finding.severity) == (line_of(rs, "id: impossible"), ERROR)
    assert "requires amount > 10 and amount < 5" in finding.message
    assert str(finding).startswith(f"{rs.path}:10: error: rule 'impossible' can never fire")


def test_condition_that_never_holds_is_found_by_search(make: Make) -> None:
    rs = make(
        """
        ruleset: never
        input:
          amount: {type: number, required: true, minimum: 0}
        output:
          flag: {type: boolean, default: false}
        rules:
          - id: negative
            when: amount < 0 or amount * 2 < -4
            then: {set: {flag: true}}
        """
    )
    finding = only(lint(rs), "'negative'")
    assert (finding.line, finding.severity) == (line_of(rs, "id: negative"), ERROR)
    assert "held on none of" in finding.message and "candidate inputs" in finding.message


def test_rule_always_shadowed_by_a_stopping_rule(make: Make) -> None:
    rs = make(
        """
        ruleset: shadow
        input:
          amount: {type: number, required: true}
          vip: {type: boolean, default: false}
        output:
          route: {type: string}
        rules:
          - id: big
            priority: 10
            when: amount > 100
            then: {set: {route: manual}, stop: true}
          - id: huge-vip
            when: amount > 1000 and vip
            then: {set: {route: vip-desk}}
        """
    )
    finding = only(lint(rs), "'huge-vip'")
    assert (finding.line, finding.severity) == (line_of(rs, "id: huge-vip"), ERROR)
    assert "'big' (stop: true) fired first" in finding.message
    assert finding.example is not None
    assert finding.example["amount"] > 1000 and finding.example["vip"] is True
    assert fired(rs, finding.example) == ["big"]


def test_rules_that_set_one_output_to_different_values(make: Make) -> None:
    rs = make(
        """
        ruleset: clash
        input:
          amount: {type: number, required: true}
          risk: {type: string, required: true, enum: [low, high]}
        output:
          route: {type: string}
        rules:
          - id: risky
            priority: 5
            when: risk == "high"
            then: {set: {route: hold}}
          - id: large
            when: amount >= 500
            then: {set: {route: manager}}
          - id: agree
            when: risk == "low" and amount >= 900
            then: {set: {route: manager}}
        """
    )
    findings = lint(rs)
    finding = only(findings, "'large'")
    assert (finding.line, finding.severity) == (line_of(rs, "id: large"), WARNING)
    assert 'route ("hold" vs "manager")' in finding.message
    assert finding.example is not None
    assert finding.example["risk"] == "high" and finding.example["amount"] >= 500
    assert {"risky", "large"} <= set(fired(rs, finding.example))
    assert rs.evaluate(finding.example, today=TODAY).outputs["route"] == "hold"
    assert not [f for f in findings if "'agree'" in f.message]  # same value: no conflict


def test_table_gap_over_enum_boolean_and_range_columns(make: Make) -> None:
    rs = make(
        """
        ruleset: gaps
        input:
          tier: {type: string, required: true, enum: [basic, gold]}
          member: {type: boolean, required: true}
          basket: {type: number, required: true, minimum: 0}
        output:
          discount: {type: number}
        tables:
          - id: discount
            hit: first
            inputs: [tier, member, basket]
            outputs: [discount]
            rows:
              - ['"gold"', "-", "-", 10]
              - ['"basic"', true, "-", 5]
              - ['"basic"', false, "< 100", 0]
        """
    )
    finding = only(lint(rs), "no row matches")
    assert (finding.line, finding.severity) == (line_of(rs, "id: discount"), WARNING)
    example = finding.example
    assert example is not None
    assert example == {"tier": "basic", "member": False, "basket": example["basket"]}
    assert example["basket"] >= 100
    assert not [f for f in fired(rs, example) if f.startswith("discount#")]


def test_unique_table_overlap_is_an_error(make: Make) -> None:
    rs = make(
        """
        ruleset: overlap
        input:
          country: {type: string, required: true, enum: [DE, FR]}
          weight: {type: number, required: true, minimum: 0}
        output:
          zone: {type: string}
        tables:
          - id: zone
            hit: unique
            inputs: [country, weight]
            outputs: [zone]
            rows:
              - ['"DE"', "-", domestic]
              - ['"FR"', "[0..25]", eu]
              - ['"FR"', "> 20", eu-freight]
        """
    )
    finding = only(lint(rs), "hit policy unique")
    assert (finding.line, finding.severity) == (line_of(rs, "eu-freight"), ERROR)
    assert "rows 2 and 3 all match" in finding.message
    example = finding.example
    assert example is not None and example["country"] == "FR" and 20 < example["weight"] <= 25
    with pytest.raises(DecisionError, match="table-not-unique|unique"):
        rs.evaluate(example, today=TODAY)


def test_unused_input_and_output_nothing_sets(make: Make) -> None:
    rs = make(
        """
        ruleset: unused
        input:
          amount: {type: number, required: true}
          vendor:
            type: object
            fields:
              name: string
              risk: {type: string, enum: [low, high]}
        output:
          route: {type: string}
          note: {type: string}
          level: {type: number, default: 1}
        rules:
          - id: risky
            when: vendor.risk == "high" and amount > 0
            then: {set: {route: hold}}
        """
    )
    findings = lint(rs)
    name = only(findings, "'vendor.name'")
    assert (name.line, name.severity, name.example) == (line_of(rs, "name: string"), WARNING, None)
    note = only(findings, "'note'")
    assert (note.line, note.severity) == (line_of(rs, "note:"), WARNING)
    assert "set by no rule, no table and no default" in note.message
    assert not [f for f in findings if "'level'" in f.message or "'amount'" in f.message]


def test_derived_facts_are_followed_to_a_fixpoint(make: Make) -> None:
    rs = make(
        """
        ruleset: chain
        input:
          score: {type: integer, required: true, minimum: 0, maximum: 100}
        output:
          decision: {type: string}
        rules:
          - id: low
            when: score < 40
            then: {assert: risky}
          - id: refer
            priority: -1
            when: fact("risky") and score > 10
            then: {set: {decision: refer}}
          - id: unreachable
            priority: -2
            when: fact("risky") and score > 50
            then: {set: {decision: refer}}
        """
    )
    findings = lint(rs)
    assert [f.message.split(":")[0] for f in findings] == ["rule 'unreachable' never fires"], [
        str(f) for f in findings
    ]


def test_pairwise_cover_stays_bounded_and_covers_every_pair() -> None:
    sizes = [5] * 8
    rows = combine(sizes, 200)
    assert len(rows) <= 200
    pairs = {(i, r[i], j, r[j]) for r in rows for i in range(8) for j in range(i + 1, 8)}
    assert len(pairs) == 28 * 25


@pytest.mark.parametrize(
    "name", ["invoice-approval", "leave-request", "purchase-order", "employee-onboarding"]
)
def test_example_rulesets_lint_without_errors(name: str) -> None:
    result = CliRunner().invoke(app, ["rules", "lint", str(RULES / f"{name}.yaml")])
    print(result.output)
    assert result.exit_code == 0, result.output
    assert " error:" not in result.output
    assert result.output.splitlines()[-1].startswith("0 error(s)")


def test_cli_exits_1_on_errors_and_prints_file_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "ruleset: bad\n"
        "input:\n"
        "  amount: {type: number, required: true}\n"
        "output:\n"
        "  flag: {type: boolean, default: false}\n"
        "rules:\n"
        "  - id: impossible\n"
        "    when: amount > 10 and amount < 5\n"
        "    then: {set: {flag: true}}\n"
    )
    result = CliRunner().invoke(app, ["rules", "lint", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path}:7: error: rule 'impossible' can never fire" in result.output


def test_no_valid_candidate_input_is_said_not_guessed(make: Make) -> None:
    rs = make(
        """
        ruleset: opaque
        input:
          code: {type: string, required: true, pattern: "y^"}
        output:
          flag: {type: boolean, default: false}
        rules:
          - id: any-code
            when: code.startswith("y")
            then: {set: {flag: true}}
        """
    )
    findings = lint(rs)
    assert [f.message.split(" (")[0] for f in findings] == [
        "lint could build no valid candidate input from the input schema"
    ]


def test_a_catch_all_below_the_rules_it_gives_way_to_is_not_a_conflict(make: Make) -> None:
    rs = make(
        """
        ruleset: fallback
        input: {amount: {type: number, required: true}}
        output: {route: {type: string}}
        rules:
          - {id: large, when: amount >= 500, then: {set: {route: manager}}}
          - {id: usual, priority: -100, when: 'true', then: {set: {route: auto}}}
        """
    )
    assert not [f for f in lint(rs) if "both fire" in f.message]


def test_a_condition_with_arithmetic_on_both_sides_is_found_to_fire(make: Make) -> None:
    rs = make(
        """
        ruleset: expense
        input:
          category: {type: string, required: true, enum: [meals, travel, lodging, gifts, other]}
          level: {type: string, required: true, enum: [staff, manager, director]}
          amount: {type: number, required: true, minimum: 0}
          trip_days: {type: integer, minimum: 0, default: 0}
          receipt: {type: boolean, default: true}
          country: {type: string, enum: [UK, FR, DE, US], required: true}
        output: {far: {type: boolean, default: false}}
        rules:
          - id: meals-far
            when: >-
              category == "meals" and level == "staff" and receipt == false
              and amount > 100 * max(trip_days, 1) and country == "FR"
            then: {set: {far: true}}
        """
    )
    assert not [f for f in lint(rs) if "never fires" in f.message]
