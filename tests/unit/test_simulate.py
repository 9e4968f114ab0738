"""Replaying logged decisions on a candidate (service.engine.simulate), no Neo4j."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.engine import load_ruleset
from service.engine.simulate import EXAMPLES, Replay, SimulationError, simulate
from tests.simulation import candidate, decide, invoice, logged

KNOWLEDGE = Path(__file__).parents[2] / "knowledge"
NAME = "invoice-approval"


@pytest.fixture
def served(tmp_path: Path) -> Path:
    return candidate(tmp_path / "served", NAME)


def test_the_served_file_itself_changes_nothing(served: Path) -> None:
    rs = load_ruleset(served)
    rows = decide(rs, [invoice(a) for a in (100, 900, 20_000, 60_000)], "d")
    report = simulate(rs, logged(rows), baseline_version=rs.version)
    assert (report.replayed, report.changed, report.unchanged) == (4, 0, 4)
    assert report.changes == [] and report.started_firing == report.stopped_firing == []
    assert report.versions == {rs.version: 4} and report.other_versions == 0


def test_changed_outputs_are_grouped_by_field_and_values_with_examples(
    served: Path, tmp_path: Path
) -> None:
    """The CFO threshold raised from 50,000 to 70,000: invoices in between change route."""
    rs = load_ruleset(served)
    amounts = [60_000] * 7 + [65_000] + [80_000, 20_000, 300]
    rows = decide(rs, [invoice(a) for a in amounts], "d")
    raised = candidate(
        tmp_path / "new",
        NAME,
        lambda t: t.replace("amount > 50000", "amount > 70000").replace(
            "10000 < amount <= 50000", "10000 < amount <= 70000"
        ),
    )
    report = simulate(load_ruleset(raised), logged(rows), baseline_version=rs.version)
    assert report.replayed == 11 and report.changed == 8 and report.unchanged == 3
    by_field = {(c["field"], str(c["from"]), str(c["to"])): c for c in report.changes}
    route = by_field[("route", "cfo", "department-head")]
    assert route["count"] == 8
    assert route["examples"] == ["d00000", "d00001", "d00002", "d00003", "d00004"]
    assert len(route["examples"]) == EXAMPLES
    approvers = by_field[("approvers", "['department-head', 'cfo']", "['department-head']")]
    assert approvers["count"] == 8
    assert report.stopped_firing == [
        {"rule": "cfo-approval", "count": 8, "examples": route["examples"]}
    ]
    assert report.started_firing[0]["rule"] == "department-head-approval"
    assert report.started_firing[0]["count"] == 8


def test_a_rule_that_only_starts_firing_is_reported_without_a_changed_output(
    served: Path, tmp_path: Path
) -> None:
    rs = load_ruleset(served)
    rows = decide(rs, [invoice(900, po_matched=False), invoice(900)], "d")
    # the unmatched-invoice rule now also fires from 800 (it did already): no change;
    # a new rule that sets nothing new: starts firing, outputs the same
    extra = """
  - id: audit-note
    priority: 5
    when: amount > 800
    then:
      assert: audited
"""
    changed = candidate(
        tmp_path / "new", NAME, lambda t: t.replace("\ntables:", extra + "\ntables:")
    )
    report = simulate(load_ruleset(changed), logged(rows))
    assert report.changed == 0
    assert report.started_firing == [
        {"rule": "audit-note", "count": 2, "examples": ["d00000", "d00001"]}
    ]


def test_inputs_the_candidate_rejects_are_counted_with_the_first_error(
    served: Path, tmp_path: Path
) -> None:
    rs = load_ruleset(served)
    rows = decide(
        rs, [invoice(100, department="HR"), invoice(100), invoice(200, department="HR")], "d"
    )
    narrowed = candidate(
        tmp_path / "new",
        NAME,
        lambda t: t.replace(
            "enum: [IT, Ops, Sales, Finance, HR]", "enum: [IT, Ops, Sales, Finance]"
        ),
    )
    report = simulate(load_ruleset(narrowed), logged(rows))
    assert report.rejected["count"] == 2
    assert report.rejected["examples"] == ["d00000", "d00002"]
    assert "department" in report.rejected["first_error"] and "HR" in report.rejected["first_error"]
    assert report.replayed == 3 and report.unchanged == 1 and report.changed == 0


def test_today_is_the_day_of_the_decision(served: Path) -> None:
    """Due 2026-03-20, decided 2026-03-01: not expedited then (it would be today)."""
    rs = load_ruleset(served)
    rows = decide(
        rs,
        [invoice(100, due_date="2026-03-20")],
        "d",
        dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC),
    )
    assert '"expedite": false' in rows[0]["outputs"]
    report = simulate(rs, logged(rows))
    assert report.changed == 0 and report.changes == []
    late = [
        dataclasses.replace(d, at=dt.datetime(2026, 3, 18, tzinfo=dt.UTC)) for d in logged(rows)
    ]
    moved = simulate(rs, late)
    assert moved.changes[0]["field"] == "expedite" and moved.changes[0]["to"] is True


def test_decisions_of_other_versions_are_counted(served: Path) -> None:
    rs = load_ruleset(served)
    rows = decide(rs, [invoice(100), invoice(200), invoice(300)], "d")
    rows[0]["version"] = "0" * 64
    report = simulate(rs, logged(rows), baseline_version=rs.version)
    assert report.versions == {rs.version: 2, "0" * 64: 1}
    assert report.other_versions == 1


def test_a_decision_of_another_ruleset_is_refused(served: Path, tmp_path: Path) -> None:
    rs = load_ruleset(served)
    other = load_ruleset(candidate(tmp_path / "other", "other-invoices"))
    rows = decide(other, [invoice(100)], "d")
    with pytest.raises(
        SimulationError, match="ruleset 'other-invoices'.*candidate is ruleset 'invoice-approval'"
    ):
        Replay(rs).add_all(logged(rows))


def test_a_playbook_is_not_replayed_on_the_decision_log() -> None:
    playbook = load_ruleset(KNOWLEDGE / "playbooks" / "invoice-fraud.yaml")
    with pytest.raises(SimulationError, match="playbook"):
        Replay(playbook)


def test_report_is_plain_json_data(served: Path) -> None:
    import json

    rs = load_ruleset(served)
    report = simulate(rs, logged(decide(rs, [invoice(100)], "d"))).to_dict()
    assert json.loads(json.dumps(report))["replayed"] == 1
    assert report["first_at"] == "2026-03-01T09:00:00+00:00"


runner = CliRunner()


def test_cli_without_a_graph_says_how_to_set_one(
    served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("NEO4J_URI", "CASEWISE_NEO4J_URI"):
        monkeypatch.delenv(variable, raising=False)
    result = runner.invoke(app, ["rules", "simulate", str(served)])
    assert result.exit_code == 2
    assert "NEO4J_URI" in result.output


def test_cli_refuses_a_broken_candidate_with_file_line_col(tmp_path: Path) -> None:
    broken = candidate(
        tmp_path, NAME, lambda t: t.replace("when: amount > 50000", "when: amout > 50000")
    )
    result = runner.invoke(app, ["rules", "simulate", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:" in result.output and "amout" in result.output
    assert "nothing replayed" in result.output


def test_cli_refuses_a_bad_since(served: Path) -> None:
    result = runner.invoke(app, ["rules", "simulate", str(served), "--since", "yesterday"])
    assert result.exit_code == 2 and "--since" in result.output
