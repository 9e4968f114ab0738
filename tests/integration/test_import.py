"""Bulk import into a real Neo4j: restartable, skipped rows reported, logs in time order.

Every test writes under an id prefix of its own and counts only what hangs off its own cases,
so tests share the server with anything else without resetting it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.graph.cases import close_case, upsert_cases
from service.graph.db import Graph
from service.graph.importer import LogColumns, import_jsonl, import_log
from service.graph.models import CaseIn, CloseIn
from tests.graphs import cli_env, graph_size

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "knowledge" / "examples"
COLUMNS = LogColumns("case_id", "activity", "timestamp", "resource")

EVENTS = """
MATCH (e:Event)-[:IN_CASE]->(c:Case {id: $id})
RETURN e.kind AS kind, e.at AS at, e.actor AS actor ORDER BY e.at, e.id
"""
CASE = "MATCH (c:Case {id: $id}) RETURN c.type AS type, c.opened_at AS opened_at"


@pytest.fixture
def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}-"


def test_importing_a_cases_file_twice_adds_nothing_the_second_time(
    graph: Graph, prefix: str
) -> None:
    first = import_jsonl(graph, EXAMPLES / "cases.jsonl", id_prefix=prefix, batch_size=3)
    assert (first.rows_read, first.rows_written, first.rows_skipped) == (4, 4, 0)
    assert first.cases_new == 4
    assert first.written["events"] == 7 and first.written["evidence"] == 5
    before = graph_size(graph, prefix)
    assert before[0] > 20 and before[1] > 20

    second = import_jsonl(graph, EXAMPLES / "cases.jsonl", id_prefix=prefix, batch_size=3)
    assert (second.rows_read, second.rows_written, second.cases_new) == (4, 4, 0)
    assert graph_size(graph, prefix) == before


def test_an_interrupted_import_finishes_when_run_again(
    graph: Graph, prefix: str, tmp_path: Path
) -> None:
    lines = (EXAMPLES / "cases.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    part = tmp_path / "cases.jsonl"
    part.write_text("".join(lines[:2]), encoding="utf-8")  # as far as a first run got
    assert import_jsonl(graph, part, id_prefix=prefix).cases_new == 2
    part.write_text("".join(lines), encoding="utf-8")
    rerun = import_jsonl(graph, part, id_prefix=prefix, batch_size=1)
    assert (rerun.cases_written, rerun.cases_new) == (4, 2)
    whole = f"w{prefix}"  # a fresh prefix (not starting with the first)
    import_jsonl(graph, EXAMPLES / "cases.jsonl", id_prefix=whole)
    assert graph_size(graph, prefix) == graph_size(graph, whole)


def test_bad_lines_are_skipped_with_file_line_and_reason(
    graph: Graph, prefix: str, tmp_path: Path
) -> None:
    good = {"id": "c-1", "type": "insurance-claim", "opened_at": "2026-01-05T10:00:00Z"}
    invalid = {"id": "c-2", "type": "insurance-claim", "opened_at": "2026-01-05", "status": "done"}
    # Valid alone, but the evidence concerns a party the graph does not have.
    dangling = {
        "id": "c-3",
        "type": "insurance-claim",
        "opened_at": "2026-01-05T10:00:00Z",
        "evidence": [
            {
                "id": "c-3:ev1",
                "kind": "photo",
                "received_at": "2026-01-05T10:00:00Z",
                "concerns": ["nobody"],
            }
        ],
    }
    last = {**good, "id": "c-4"}
    lines = [json.dumps(good), '{"id": "c-x", ', json.dumps(invalid), json.dumps(dangling)]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join([*lines, json.dumps(last)]) + "\n", encoding="utf-8")

    summary = import_jsonl(graph, path, id_prefix=prefix)
    skipped = [str(s) for s in summary.skipped]
    assert (summary.rows_read, summary.rows_written, summary.rows_skipped) == (5, 2, 3)
    assert skipped[0].startswith(f"{path}:2: not valid JSON")
    assert skipped[1].startswith(f"{path}:3: case 'c-2' is invalid: status:")
    assert skipped[2].startswith(f"{path}:4: case '{prefix}c-3' was refused by the graph")
    assert f"no party '{prefix}nobody'" in skipped[2]
    found = graph.read("MATCH (c:Case) WHERE c.id STARTS WITH $p RETURN c.id AS id", p=prefix)
    assert sorted(r["id"] for r in found) == [prefix + "c-1", prefix + "c-4"]


def test_an_event_log_becomes_cases_with_events_in_time_order(graph: Graph, prefix: str) -> None:
    summary = import_log(
        graph, EXAMPLES / "event-log.csv", COLUMNS, case_type="purchase-order", id_prefix=prefix
    )
    assert (summary.rows_read, summary.rows_written, summary.rows_skipped) == (18, 18, 0)
    assert (summary.cases_written, summary.cases_new) == (4, 4)
    case = graph.read(CASE, id=prefix + "PO-1003")[0]
    assert case["type"] == "purchase-order"
    events = graph.read(EVENTS, id=prefix + "PO-1003")
    assert [e["kind"] for e in events] == [
        "Create purchase requisition",
        "Approve requisition",
        "Create purchase order",
        "Change order quantity",
        "Receive invoice",
        "Receive goods",
        "Pay invoice",
    ]
    assert events[0]["actor"] == "a.nilsen"
    assert case["opened_at"] == events[0]["at"]

    before = graph_size(graph, prefix)
    again = import_log(
        graph, EXAMPLES / "event-log.csv", COLUMNS, case_type="purchase-order", id_prefix=prefix
    )
    assert again.cases_new == 0
    assert graph_size(graph, prefix) == before


def test_log_rows_without_case_id_or_time_are_skipped_and_reported(
    graph: Graph, prefix: str, tmp_path: Path
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "case_id,activity,timestamp,resource\n"
        "A-1,Register,2026-03-01 09:00:00,ann\n"
        ",Register,2026-03-01 09:05:00,ann\n"
        "A-1,Assess,the next day,bob\n"
        "A-1,Decide,2026-03-03 16:00:00,cy\n",
        encoding="utf-8",
    )
    summary = import_log(graph, path, COLUMNS, id_prefix=prefix)
    assert (summary.rows_read, summary.rows_written, summary.rows_skipped) == (4, 2, 2)
    skipped = [str(s) for s in summary.skipped]
    assert skipped[0] == f"{path}:3: missing case id (column 'case_id')"
    assert skipped[1].startswith(f"{path}:4: cannot read timestamp 'the next day'")
    events = graph.read(EVENTS, id=prefix + "A-1")
    assert [e["kind"] for e in events] == ["Register", "Decide"]


def test_the_command_imports_reports_and_exits_1_for_skipped_rows(
    neo4j_server: Neo4jServer, graph: Graph, prefix: str, tmp_path: Path
) -> None:
    case = {"id": prefix + "cli-1", "type": "customer-complaint", "opened_at": "2026-02-01"}
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case) + "\nnot json\n", encoding="utf-8")
    env = cli_env(neo4j_server)
    runner = CliRunner()
    result = runner.invoke(app, ["graph", "import", str(path)], env=env)
    assert result.exit_code == 1, result.output
    assert f"skipped {path}:2: not valid JSON" in result.output
    assert "rows read 2, written 1, skipped 1" in result.output
    assert "cases written 1: 1 new, 0 already in the graph" in result.output

    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["graph", "import", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "cases written 1: 0 new, 1 already in the graph" in result.output

    log = tmp_path / "log.csv"
    log.write_text(f"Case;Step;When\n{prefix}L-1;open;2026-02-01T10:00:00Z\n", encoding="utf-8")
    args = ["graph", "import-log", str(log), "--case-col", "Case", "--activity-col", "Step"]
    result = runner.invoke(app, [*args, "--time-col", "When"], env=env)
    assert result.exit_code == 0, result.output
    assert "rows read 1, written 1, skipped 0" in result.output
    result = runner.invoke(app, [*args, "--time-col", "Time"], env=env)
    assert result.exit_code == 2
    assert "no column 'Time' for the time" in result.output


def test_a_log_adds_events_to_a_case_already_there_and_leaves_the_case_as_it_is(
    graph: Graph, prefix: str, tmp_path: Path
) -> None:
    case_id = prefix + "CLM-7"
    upsert_cases(
        graph,
        [
            CaseIn(
                id=case_id,
                type="insurance-claim",
                status="closed",
                opened_at=datetime(2026, 1, 2, 9, 0, tzinfo=UTC),
                priority=2,
                attributes={"amount": 900.0},
            )
        ],
    )
    close_case(graph, case_id, CloseIn(outcome="paid", closed_at=datetime(2026, 2, 1, tzinfo=UTC)))
    path = tmp_path / "log.csv"
    path.write_text(
        "case,activity,time\nCLM-7,Claim assessed,2026-01-10T10:00:00Z\nNEW-1,Start,2026-03-01\n",
        encoding="utf-8",
    )
    summary = import_log(graph, path, LogColumns("case", "activity", "time"), id_prefix=prefix)
    assert (summary.cases_written, summary.cases_new, summary.rows_written) == (2, 1, 2)
    row = graph.read(
        "MATCH (c:Case {id: $id}) RETURN c.type AS type, c.status AS status, "
        "c.outcome AS outcome, c.priority AS priority, c.attributes AS attributes",
        id=case_id,
    )[0]
    assert row == {
        "type": "insurance-claim",
        "status": "closed",
        "outcome": "paid",
        "priority": 2,
        "attributes": '{"amount":900.0}',
    }
    kinds = [e["kind"] for e in graph.read(EVENTS, id=case_id)]
    assert kinds == ["Claim assessed", "closed"]
    assert graph.read(CASE, id=prefix + "NEW-1")[0]["type"] == "process"
