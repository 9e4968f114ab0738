"""The DMN TCK, compliance level 2: every test case of every model passes through import and
evaluation, compared as the TCK compares."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.engine.dmn import tck

runner = CliRunner()


def test_every_case_of_every_level_2_model_passes(level2: Path) -> None:
    results = tck.run_dir(level2)
    assert len(results) == 19, [r.model for r in results]
    failures = [
        f"{r.model} {c.case}: {c.failures}" for r in results for c in r.cases if not c.passed
    ]
    assert failures == []
    totals = tck.report(results)["totals"]
    assert totals["cases"] == totals["passed"] == 90


def test_the_tck_command_prints_a_table_and_writes_the_report(level2: Path, tmp_path: Path) -> None:
    report = tmp_path / "tck.json"
    result = runner.invoke(app, ["rules", "tck", str(level2), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "0105-feel-math" in result.output
    assert "90 passed, 0 failed" in result.output
    data = json.loads(report.read_text())
    assert data["totals"] == {
        "models": 19,
        "models_passed": 19,
        "cases": 90,
        "passed": 90,
        "failed": 0,
    }
    math = next(m for m in data["models"] if m["model"] == "0105-feel-math")
    assert (math["cases"], math["failed"]) == (33, 0)


def test_a_failing_case_is_named_with_expected_and_actual(level2: Path, tmp_path: Path) -> None:
    model = tmp_path / "0002-input-data-number"
    model.mkdir()
    source = level2 / "0002-input-data-number"
    (model / "0002-input-data-number.dmn").write_bytes(
        (source / "0002-input-data-number.dmn").read_bytes().replace(b"12 * ", b"13 * ")
    )
    test = source / "0002-input-data-number-test-01.xml"
    (model / test.name).write_bytes(test.read_bytes())
    result = runner.invoke(app, ["rules", "tck", str(tmp_path)])
    assert result.exit_code == 1
    assert "'Yearly Salary': expected 120000, got 130000" in result.output
    assert "0 passed, 1 failed" in result.output


@pytest.mark.parametrize(
    ("expected", "actual", "equal"),
    [
        (Decimal("2878.69354943277"), Decimal("2878.693549432773"), True),
        (Decimal("562.707359373292"), Decimal("562.707359373266"), True),  # within 10**-8
        (Decimal("1.5"), Decimal("1.50000002"), False),
        (Decimal("0"), None, False),
        (None, None, True),
        (Decimal("1"), True, False),
        ("Approved", "Approved", True),
        ("1", Decimal("1"), False),
        ([Decimal(1), Decimal(2)], [Decimal(2), Decimal(1)], False),  # lists in order
        ({"Status": "Approved", "Rate": None}, {"Status": "Approved", "Rate": None}, True),
        ({"Status": "Approved"}, {"Status": "Approved", "Rate": "Best"}, False),
    ],
)
def test_results_compare_as_the_tck_compares(expected: object, actual: object, equal: bool) -> None:
    assert tck.same(expected, actual) is equal
