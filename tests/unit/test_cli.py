"""The `casewise` command, run in-process with typer's CliRunner."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.fixtures import BROKEN, RULES

runner = CliRunner()

SMALL = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}


def write_input(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(data))
    return path


def test_decide_prints_the_decision_as_json(tmp_path: Path) -> None:
    source = write_input(tmp_path, SMALL)
    result = runner.invoke(
        app, ["decide", "invoice-approval", "--input", str(source), "--rules", str(RULES)]
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["outputs"]["route"] == "auto"
    assert [f["rule"] for f in decision["fired"]] == ["sla#2", "small-low-risk"]
    assert len(decision["version"]) == 64


def test_decide_reads_stdin() -> None:
    result = runner.invoke(
        app,
        ["decide", "invoice-approval", "--input", "-", "--rules", str(RULES)],
        input=json.dumps({"amount": 20000, "department": "IT"}),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outputs"]["route"] == "cfo"


def test_decide_explain_shows_outputs_rules_values_facts_and_version(tmp_path: Path) -> None:
    source = write_input(
        tmp_path, {"amount": 20000, "department": "IT", "vendor": {"risk": "high"}}
    )
    result = runner.invoke(
        app,
        ["decide", "invoice-approval", "-i", str(source), "--rules", str(RULES), "--explain"],
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Outputs" in text
    assert re.search(r"route\s+\"cfo\"", text)
    assert "Fired rules" in text
    assert "large — Large invoices go to the CFO." in text
    assert "amount = 20000" in text
    assert 'vendor.risk = "high"' in text
    assert "Facts: fraud-check" in text
    assert "version " in text


def test_decide_with_invalid_input_names_every_bad_field(tmp_path: Path) -> None:
    source = write_input(tmp_path, {"amount": -1, "department": "Legal"})
    result = runner.invoke(
        app, ["decide", "invoice-approval", "--input", str(source), "--rules", str(RULES)]
    )
    assert result.exit_code == 1
    assert "amount:" in result.stderr
    assert "department:" in result.stderr


def test_decide_with_a_decision_error_exits_1(tmp_path: Path) -> None:
    source = write_input(tmp_path, {"tier": "silver", "amount": 5000})
    result = runner.invoke(
        app, ["decide", "discount", "--input", str(source), "--rules", str(RULES)]
    )
    assert result.exit_code == 1
    assert "table-not-unique" in result.stderr


def test_decide_unknown_ruleset_lists_the_known_ones(tmp_path: Path) -> None:
    source = write_input(tmp_path, SMALL)
    result = runner.invoke(app, ["decide", "nope", "--input", str(source), "--rules", str(RULES)])
    assert result.exit_code == 1
    assert "discount, invoice-approval" in result.stderr


@pytest.mark.parametrize(("text", "problem"), [("{oops", "not valid JSON"), ("[1]", "JSON object")])
def test_decide_with_unreadable_input_exits_2(tmp_path: Path, text: str, problem: str) -> None:
    source = tmp_path / "input.json"
    source.write_text(text)
    result = runner.invoke(
        app, ["decide", "discount", "--input", str(source), "--rules", str(RULES)]
    )
    assert result.exit_code == 2
    assert problem in result.stderr


def test_rules_check_passes_a_correct_folder() -> None:
    result = runner.invoke(app, ["rules", "check", str(RULES)])
    assert result.exit_code == 0, result.output
    assert "ok: 2 file(s)" in result.stdout
    assert "discount, invoice-approval" in result.stdout


def test_rules_check_passes_a_correct_file() -> None:
    result = runner.invoke(app, ["rules", "check", str(RULES / "discount.yaml")])
    assert result.exit_code == 0, result.output
    assert "ok: 1 file(s)" in result.stdout


def test_rules_check_reports_file_line_col_and_exits_1() -> None:
    result = runner.invoke(app, ["rules", "check", str(BROKEN)])
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if "typo.yaml" in x)
    assert re.fullmatch(r".*typo\.yaml:9:\d+: .*amout.*", line), line
    assert "did you mean 'amount'" in line
    assert "fine.yaml" not in result.stdout


def test_rules_check_of_one_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "typo.yaml"
    shutil.copy(BROKEN / "typo.yaml", broken)
    result = runner.invoke(app, ["rules", "check", str(broken)])
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(broken))}:9:\d+: ", result.stdout)


def test_rules_check_of_a_missing_path_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "check", str(tmp_path / "missing")])
    assert result.exit_code == 2


def test_rules_check_of_an_empty_folder_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "no rule files" in result.stderr


def test_rules_test_runs_the_example_tests() -> None:
    result = runner.invoke(app, ["rules", "test", str(RULES)])
    assert result.exit_code == 0, result.output
    assert "3 passed" in result.stdout


def test_rules_test_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    for name in ("invoice-approval.yaml", "invoice-approval.test.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    tests = tmp_path / "invoice-approval.test.yaml"
    tests.write_text(tests.read_text().replace("{route: auto, sla_hours: 24}", "{route: cfo}"))
    result = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert result.exit_code == 1
    assert "1 failed" in result.stdout


def test_rules_test_fails_on_load_problems(tmp_path: Path) -> None:
    shutil.copy(BROKEN / "typo.yaml", tmp_path / "typo.yaml")
    result = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert result.exit_code == 1
    assert "typo.yaml:9:" in result.stdout


def test_bad_setting_fails_with_the_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWISE_MAX_FIRINGS", "many")
    result = runner.invoke(app, ["rules", "check", str(RULES)])
    assert result.exit_code == 2
    assert "CASEWISE_MAX_FIRINGS" in result.stderr
