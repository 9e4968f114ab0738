"""A `.dmn` file in the rules folder is a ruleset: loaded, served, versioned, reloaded."""

from __future__ import annotations

import hashlib
from pathlib import Path

from service.engine import Registry
from service.engine.testing import run_suite
from service.settings import Settings
from tests.auth import make_client

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" id="d" name="salary"
             namespace="urn:example:salary">
  <decision id="d_yearly" name="Yearly Salary">
    <variable name="Yearly Salary" typeRef="number"/>
    <informationRequirement><requiredInput href="#i_monthly"/></informationRequirement>
    <literalExpression><text>FACTOR * Monthly Salary</text></literalExpression>
  </decision>
  <decision id="d_band" name="Band">
    <variable name="Band" typeRef="string"/>
    <informationRequirement><requiredDecision href="#d_yearly"/></informationRequirement>
    <decisionTable hitPolicy="UNIQUE">
      <input><inputExpression typeRef="number"><text>Yearly Salary</text></inputExpression></input>
      <output name="Band" typeRef="string"/>
      <rule><inputEntry><text>&lt; 50000</text></inputEntry>
            <outputEntry><text>"low"</text></outputEntry></rule>
      <rule><inputEntry><text>&gt;= 50000</text></inputEntry>
            <outputEntry><text>"high"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <inputData id="i_monthly" name="Monthly Salary">
    <variable name="Monthly Salary" typeRef="number"/>
  </inputData>
</definitions>
"""


def write_model(folder: Path, factor: int) -> Path:
    path = folder / "salary.dmn"
    path.write_text(MODEL.replace("FACTOR", str(factor)))
    return path


def test_a_dmn_file_is_served_and_answers_decisions(tmp_path: Path) -> None:
    path = write_model(tmp_path, 12)
    registry = Registry()
    assert registry.load_dir(tmp_path) == []
    rs = registry.get("salary")
    assert rs.version == hashlib.sha256(path.read_bytes()).hexdigest()  # the .dmn's own bytes
    client = make_client(Settings(rules_dir=tmp_path), registry)
    with client:
        answer = client.post("/v1/decisions/salary", json={"Monthly_Salary": 5000})
        assert answer.status_code == 200, answer.text
        decision = answer.json()
    assert decision["outputs"] == {"Band": "high"}
    assert decision["values"] == {"Yearly_Salary": 60000}  # a decision another reads
    assert [f["rule"] for f in decision["fired"]] == ["yearly_salary#1", "band#2"]


def test_a_changed_dmn_file_is_reloaded_and_a_broken_one_keeps_the_last_version(
    tmp_path: Path,
) -> None:
    write_model(tmp_path, 12)
    registry = Registry(settle=0)
    registry.load_dir(tmp_path)
    first = registry.get("salary").version
    write_model(tmp_path, 1)
    registry.reload(tmp_path)
    changed = registry.get("salary")
    assert changed.version != first
    assert changed.evaluate({"Monthly_Salary": 5000}).outputs == {"Band": "low"}
    (tmp_path / "salary.dmn").write_text(MODEL.replace("FACTOR", "12 * Monthly Salry"))
    registry.reload(tmp_path)
    assert registry.get("salary").version == changed.version  # still served
    (problem,) = registry.files.problems
    assert (Path(problem.path).name, problem.line) == ("salary.dmn", 4)
    assert problem.message == (
        "decision 'Yearly Salary': unknown name 'Monthly Salry'; did you mean 'Monthly Salary'?"
    )


def test_rules_test_runs_the_tests_beside_a_dmn_file(tmp_path: Path) -> None:
    write_model(tmp_path, 12)
    test_file = tmp_path / "salary.test.yaml"
    test_file.write_text(
        """ruleset: salary
cases:
  - name: a monthly 5000 is a high band
    input: {Monthly_Salary: 5000}
    expect:
      outputs: {Band: high}
      fired: [yearly_salary#1, band#2]
  - name: a monthly 4000 is a low band
    input: {Monthly_Salary: 4000}
    expect:
      outputs: {Band: low}
"""
    )
    for target in (tmp_path, test_file):
        result = run_suite(target)
        assert (result.passed, result.failed, result.problems) == (2, 0, []), result.report()
