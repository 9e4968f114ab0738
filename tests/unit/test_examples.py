"""The example rules in rules/ pass their own tests, and the test runner reports what it should."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from service.engine import Registry
from service.engine.testing import SuiteResult, run_suite

RULES = Path(__file__).parents[2] / "rules"
EXAMPLES = ["employee-onboarding", "invoice-approval", "leave-request", "purchase-order"]


@pytest.fixture(scope="module")
def suite() -> SuiteResult:
    return run_suite(RULES)


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry()
    assert registry.load_dir(RULES) == []
    return registry


def test_example_rules_pass_their_tests(suite: SuiteResult) -> None:
    assert suite.problems == [], suite.report()
    assert suite.failed == 0, suite.report()
    assert suite.passed == len(suite.cases) >= 60


def test_every_example_has_a_test_file_with_at_least_15_cases(
    suite: SuiteResult, registry: Registry
) -> None:
    assert set(EXAMPLES) <= set(registry.names())
    for name in registry.names():
        count = sum(1 for case in suite.cases if case.ruleset == name)
        assert count >= 15, f"rules/{name}.test.yaml has {count} cases; write at least 15"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_tests_fire_every_rule_and_table_row(
    name: str, suite: SuiteResult, registry: Registry
) -> None:
    described = registry.get(name).describe()
    every = {rule["id"] for rule in described["rules"]} | {
        f"{table['id']}#{row['row']}" for table in described["tables"] for row in table["rows"]
    }
    fired = {rule for case in suite.cases if case.ruleset == name for rule in case.fired}
    assert every - fired == set(), f"no case in rules/{name}.test.yaml fires these"


def test_example_tests_expect_each_kind_of_result(suite: SuiteResult) -> None:
    assert any(case.error == "invalid-input" for case in suite.cases)
    assert any(len(case.fired) >= 4 for case in suite.cases)  # chains of derived facts


# ---------------------------------------------------------------- the runner itself

TOLL = """\
ruleset: toll
input:
  axles: {type: integer, required: true, minimum: 2}
  electric: {type: boolean, default: false}
output:
  fee: {type: number}
  vehicle: {type: string}
  notes: {type: list}
rules:
  - id: base
    when: true
    then: {append: {notes: [base]}}
  - id: heavy
    priority: 5
    when: axles > 2
    then: {assert: heavy, append: {notes: [heavy]}}
  - id: heavy-electric
    priority: 1
    when: fact("heavy") and electric == true
    then: {append: {notes: [heavy-electric]}}
tables:
  - id: fee
    hit: unique
    inputs: [axles]
    outputs: [fee, vehicle]
    rows:
      - ["2", 5, car]
      - ["[3..4]", 12, truck]
      - [">= 4", 20, heavy-truck]
"""


def _write(folder: Path, tests: str, rules: str = TOLL) -> Path:
    (folder / "toll.yaml").write_text(rules, encoding="utf-8")
    path = folder / "toll.test.yaml"
    path.write_text(textwrap.dedent(tests), encoding="utf-8")
    return path


def test_passing_cases_of_every_kind(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        ruleset: toll
        cases:
          - name: a car
            input: {axles: 2}
            expect:
              outputs: {fee: 5.0, vehicle: car, notes: [base]}
              fired: [fee#1, base]
              facts: []
          - name: an electric truck derives heavy, then heavy-electric fires
            input: {axles: 3, electric: true}
            expect:
              outputs: {notes: [heavy, heavy-electric, base]}
              fired: [fee#2, heavy, heavy-electric, base]
              facts: [heavy]
          - name: four axles match two rows of a unique table
            input: {axles: 4}
            expect: {error: table-not-unique}
          - name: one axle is refused
            input: {axles: 1}
            expect: {error: invalid-input}
        """,
    )
    for target in (tmp_path, path, tmp_path / "toll.yaml"):
        result = run_suite(target)
        assert result.ok, result.report()
        assert (result.passed, result.failed) == (4, 0)
        assert result.report() == "4 passed, 0 failed"


def test_a_failing_case_is_reported_with_its_line_and_a_diff(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        ruleset: toll
        cases:
          - name: a car
            input: {axles: 2}
            expect: {outputs: {fee: 5}}
          - name: a truck is wrongly expected to be a car
            input: {axles: 3}
            expect:
              outputs: {fee: 5, vehicle: truck, notes: [base, heavy]}
              fired: [fee#1, base, heavy]
              facts: [heavy, big]
        """,
    )
    result = run_suite(tmp_path)
    assert (result.passed, result.failed, result.problems) == (1, 1, [])
    failed = next(case for case in result.cases if not case.passed)
    assert (failed.file, failed.line, failed.name) == (str(path), 6, failed.name)
    assert result.report().splitlines() == [
        f"{path}:6: FAIL a truck is wrongly expected to be a car",
        "    outputs.fee: expected 5, got 12",
        '    outputs.notes: expected ["base", "heavy"], got ["heavy", "base"]',
        "    fired: expected [fee#1, base, heavy], got [fee#2, heavy, base]; "
        "missing fee#1; unexpected fee#2",
        "    facts: expected [big, heavy], got [heavy]; missing big",
        "1 passed, 1 failed",
    ]


def test_error_expectations_that_do_not_hold_fail(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """\
        ruleset: toll
        cases:
          - name: expects an error but gets a decision
            input: {axles: 2}
            expect: {error: invalid-input}
          - name: expects a decision but the input is refused
            input: {axles: 1, wheels: 4}
            expect: {outputs: {fee: 5}}
          - name: expects the wrong error
            input: {axles: 4}
            expect: {error: chain-limit}
        """,
    )
    result = run_suite(tmp_path)
    assert result.failed == 3
    report = result.report()
    assert "expected error 'invalid-input', got a decision: outputs {" in report
    assert "expected a decision, got error 'invalid-input': 'axles' must be at least 2" in report
    assert "unknown field 'wheels'" in report
    assert "expected error 'chain-limit', got error 'table-not-unique'" in report


def test_null_means_not_set_and_true_is_not_1(tmp_path: Path) -> None:
    rules = TOLL.replace(
        "  notes: {type: list}\n", "  notes: {type: list}\n  flag: {type: boolean}\n"
    )
    _write(
        tmp_path,
        """\
        ruleset: toll
        cases:
          - name: flag is never set
            input: {axles: 2}
            expect: {outputs: {flag: null}}
          - name: a fee of 5 is not true
            input: {axles: 2}
            expect: {outputs: {fee: true}}
          - name: flag is not false either
            input: {axles: 2}
            expect: {outputs: {flag: false}}
        """,
        rules,
    )
    result = run_suite(tmp_path)
    assert [case.passed for case in result.cases] == [True, False, False]
    assert "outputs.fee: expected true, got 5" in result.report()
    assert "outputs.flag: expected false, got nothing (not set)" in result.report()


def test_a_test_file_that_is_not_yaml_is_a_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "ruleset: toll\ncases: [\n  {name: x\n")
    result = run_suite(tmp_path)
    assert result.cases == []
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"{path}:")
    assert "YAML syntax error" in result.problems[0]
    assert result.report().endswith("0 passed, 0 failed, 1 problem")


def test_every_mistake_in_a_test_file_is_a_problem_with_its_position(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        ruleset: tol
        todya: 2026-03-02
        cases:
          - name: unknown output
            input: {axles: 2}
            expect: {outputs: {fees: 5}}
          - input: {axles: 2}
            expect: {fired: []}
          - name: no expectation
            input: {axles: 2}
            expect: {}
          - name: error and outputs together
            input: {axles: 2}
            expect: {error: invalid-input, outputs: {fee: 5}}
          - name: a good case still runs
            input: {axles: 2}
            expect: {outputs: {fee: 5}}
          - just text
        """,
    )
    result = run_suite(path)
    assert result.problems == [
        f"{path}:2:1: unknown key 'todya'; did you mean 'today'? "
        "(a test file has ruleset, today, cases)",
        f"{path}:1:1: ruleset must be 'toll', the rule file beside this one",
        f"{path}:6:24: unknown output 'fees'; did you mean 'fee'? "
        "(the outputs are fee, notes, vehicle)",
        f"{path}:7:5: a case needs a name that says what it shows",
        f"{path}:11:5: expect needs one or more of outputs, values, fired, facts, error",
        f"{path}:14:14: expect an error code alone, or outputs/fired/facts",
        f"{path}:18:5: a case is a mapping with name, input and expect",
    ]
    assert [case.name for case in result.cases] == ["a good case still runs"]
    assert not result.ok


def test_rule_files_with_problems_and_missing_files_are_problems(tmp_path: Path) -> None:
    _write(
        tmp_path, "ruleset: toll\ncases: []\n", TOLL.replace("electric == true", "electrik == true")
    )
    (tmp_path / "orphan.test.yaml").write_text("ruleset: orphan\ncases: []\n")
    result = run_suite(tmp_path)
    assert result.cases == []
    assert result.problems == [
        f"{tmp_path}/toll.yaml:19:29: unknown field 'electrik'; did you mean 'electric'?",
        f"{tmp_path}/orphan.test.yaml:1:1: not run: orphan.yaml does not exist",
        f"{tmp_path}/toll.test.yaml:1:1: not run: toll.yaml has problems",
    ]
    alone = tmp_path / "alone.yaml"
    alone.write_text(TOLL.replace("ruleset: toll", "ruleset: alone"))
    assert run_suite(alone).problems == [f"{tmp_path}/alone.test.yaml:1:1: no such file"]
