"""Import, export, import again: the same decisions, for every TCK model and its test inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.engine import RuleFileError, load_ruleset
from service.engine.dmn import tck
from service.engine.dmn.convert import import_file
from service.engine.dmn.export import export_file
from service.engine.feel.evaluate import to_casewise
from tests.rulefiles import TODAY, write_rules

runner = CliRunner()
TEST_NS = tck.TEST_NS


def _inputs(test_file: Path, names: dict[str, str]) -> list[dict[str, object]]:
    from service.engine.dmn.xmlsafe import parse_xml

    doc = parse_xml(test_file, test_file.read_bytes())
    cases = []
    for case in doc.root.iter(f"{{{TEST_NS}}}testCase"):
        data: dict[str, object] = {}
        for node in case.findall(f"{{{TEST_NS}}}inputNode"):
            value = tck._keys(to_casewise(tck.read_value(node)))
            if value is not None:
                data[names[node.get("name", "")]] = value
        cases.append(data)
    return cases


def test_every_level_2_model_exports_and_imports_back_to_the_same_decisions(
    level2: Path, tmp_path: Path
) -> None:
    models = tck.model_dirs(level2)
    assert len(models) == 19
    for folder in models:
        dmn = next(folder.glob("*.dmn"))
        first = import_file(dmn)
        rule_file = tmp_path / f"{first.name}.yaml"
        rule_file.write_text(first.yaml())
        exported = tmp_path / f"{first.name}.dmn"
        exported.write_text(export_file(rule_file))
        second = import_file(exported)
        again = tmp_path / "again" / f"{second.name}.yaml"
        again.parent.mkdir(exist_ok=True)
        again.write_text(second.yaml())
        a, b = load_ruleset(rule_file), load_ruleset(again)
        assert (a.inputs, a.outputs, a.values) == (b.inputs, b.outputs, b.values), folder.name
        for data in _inputs(next(folder.glob("*-test-01.xml")), first.inputs):
            da, db = a.evaluate(data, today=TODAY), b.evaluate(data, today=TODAY)
            assert (da.outputs, da.values) == (db.outputs, db.values), (folder.name, data)


def test_export_refuses_rules_at_their_line(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        ruleset: refund
        input:
          amount: {type: number}
        output:
          route: {type: string}
        rules:
          - id: big
            when: amount > 100
            then: {set: {route: manager}}
        """,
    )
    with pytest.raises(RuleFileError) as info:
        export_file(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.message) == (
        7,
        "rule 'big': DMN has no rules (when/then); export-dmn writes tables, compute, "
        "values and functions only",
    )


def test_casewise_tables_whose_cells_are_feel_export(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        ruleset: sla
        input:
          department: {type: string, enum: [IT, Ops, Sales]}
          amount: {type: number}
        output:
          hours: {type: integer}
        tables:
          - id: sla
            hit: first
            inputs: [department, amount]
            outputs: [hours]
            rows:
              - ['"IT","Ops"', "[0..500]", 24]
              - ["-", "> 500", 72]
              - ["-", "-", 48]
        """,
    )
    xml = export_file(path)
    assert 'hitPolicy="FIRST"' in xml and "<text>[0..500]</text>" in xml
    dmn = tmp_path / "back" / "sla.dmn"
    dmn.parent.mkdir()
    dmn.write_text(xml)
    back = load_ruleset(dmn)
    for data, hours in (({"department": "IT", "amount": 100}, 24), ({"amount": 900}, 72)):
        assert back.evaluate(data, today=TODAY).outputs == {"hours": hours}


def test_export_refuses_a_cell_that_is_not_feel(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        ruleset: sla
        input:
          amount: {type: number}
        output:
          hours: {type: integer}
        tables:
          - id: sla
            hit: first
            inputs: [amount]
            outputs: [hours]
            rows:
              - ["== 5", 24]
        """,
    )
    with pytest.raises(RuleFileError, match=r"cell '== 5' is not FEEL"):
        export_file(path)


def test_the_commands_import_and_export(level2: Path, tmp_path: Path) -> None:
    dmn = level2 / "0004-simpletable-U" / "0004-simpletable-U.dmn"
    result = runner.invoke(app, ["rules", "import-dmn", str(dmn), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = tmp_path / "0004-simpletable-u.yaml"
    assert "hit: unique" in written.read_text()
    again = runner.invoke(app, ["rules", "import-dmn", str(dmn), "--out", str(tmp_path)])
    assert again.exit_code == 1 and "exists; pass --force" in again.output
    printed = runner.invoke(app, ["rules", "import-dmn", str(dmn), "--out", "-"])
    assert printed.output == written.read_text()
    exported = runner.invoke(app, ["rules", "export-dmn", str(written)])
    assert exported.exit_code == 0, exported.output
    assert exported.output.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert 'hitPolicy="UNIQUE"' in exported.output
