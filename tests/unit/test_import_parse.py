"""Reading import files without a graph: JSON Lines of cases, CSV event logs, timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.graph.eventlog import ImportFileError, LogColumns, parse_log, parse_time
from service.graph.importer import ImportSummary, Skipped, prefixed, read_jsonl

EXAMPLES = Path(__file__).parents[2] / "knowledge" / "examples"
COLUMNS = LogColumns("case_id", "activity", "timestamp", "resource")
HEADER = "case_id,activity,timestamp,resource,channel\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01 09:30:00", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
        ("2024-03-01T09:30:00Z", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
        ("2024-03-01T09:30:00.250", datetime(2024, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)),
        (
            "2024-03-01T09:30:00+02:00",
            datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024/03/01 09:30:15.000", datetime(2024, 3, 1, 9, 30, 15, tzinfo=UTC)),
        ("2024/03/01 09:30", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
        ("01.03.2024 09:30", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
        ("01-03-2024 09:30:00", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
        ("  2024-03-01 09:30:00 ", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_parse_time_reads_common_shapes_naive_as_utc(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "03/01/2024 09:30", "2024-13-01", "31.02.2024"])
def test_parse_time_refuses_what_it_cannot_read(text: str) -> None:
    assert parse_time(text) is None


def test_parse_time_with_a_format() -> None:
    assert parse_time("03/01/2024 9:30", "%m/%d/%Y %H:%M") == datetime(
        2024, 3, 1, 9, 30, tzinfo=UTC
    )
    assert parse_time("2024-03-01 09:30:00", "%m/%d/%Y %H:%M") is None


def test_example_event_log_gives_one_case_per_id_events_in_time_order() -> None:
    parsed = parse_log(EXAMPLES / "event-log.csv", COLUMNS, case_type="purchase-order")
    assert parsed.skipped == []
    assert parsed.rows_read == 18
    cases = {case.id: case for case, _ in parsed.cases}
    assert sorted(cases) == ["PO-1001", "PO-1002", "PO-1003", "PO-1004"]
    po3 = cases["PO-1003"]
    assert po3.type == "purchase-order"
    times = [event.at for event in po3.events]
    assert times == sorted(times)
    # The file has "Receive goods" (09-15) before "Receive invoice" (09-14).
    assert [e.kind for e in po3.events][-3:] == ["Receive invoice", "Receive goods", "Pay invoice"]
    assert po3.opened_at == times[0]
    assert po3.events[0].actor == "a.nilsen"
    assert po3.events[0].attributes == {"channel": "email"}
    lines = {case.id: line for case, line in parsed.cases}
    assert lines["PO-1003"] == 6


def test_event_ids_are_the_same_on_every_read_and_unique(tmp_path: Path) -> None:
    text = HEADER + "c1,a,2024-01-01 10:00,x,\nc1,a,2024-01-01 10:00,x,\nc1,b,2024-01-01 11:00,x,\n"
    path = write(tmp_path, "log.csv", text)
    first = parse_log(path, COLUMNS)
    second = parse_log(path, COLUMNS)
    ids = [e.id for e in first.cases[0][0].events]
    assert ids == [e.id for e in second.cases[0][0].events]
    assert len(set(ids)) == 3  # two identical rows are two events
    prefixed_log = parse_log(path, COLUMNS, id_prefix="t1-")
    case = prefixed_log.cases[0][0]
    assert case.id == "t1-c1"
    assert not {e.id for e in case.events} & set(ids)


def test_bad_rows_are_skipped_with_their_line_and_reason(tmp_path: Path) -> None:
    text = (
        HEADER
        + "c1,start,2024-01-01 10:00,x,web\n"  # 2
        + ",start,2024-01-01 10:00,x,web\n"  # 3: no case id
        + "c1,end,soon,x,web\n"  # 4: timestamp
        + "c1,,2024-01-01 12:00,x,web\n"  # 5: no activity
        + "c1,end,2024-01-01 12:00,x,web,42\n"  # 6: too many fields
        + "\n"  # 7: blank, ignored
        + "bad id,end,2024-01-01 12:00,x,web\n"  # 8: not an id
        + 'c2,"multi\nline",2024-01-01 12:00,x,web\n'  # 9-10
        + "c2,end,2024-01-02,x,\n"  # 11
    )
    parsed = parse_log(write(tmp_path, "log.csv", text), COLUMNS)
    reasons = dict(parsed.skipped)
    assert sorted(reasons) == [3, 4, 5, 6, 8]
    assert "missing case id (column 'case_id')" in reasons[3]
    assert "cannot read timestamp 'soon'" in reasons[4] and "--time-format" in reasons[4]
    assert "missing activity" in reasons[5]
    assert "has 6 fields, the header has 5" in reasons[6]
    assert "'bad id' is not a valid id" in reasons[8]
    assert parsed.rows_read == 8
    cases = {case.id: (case, line) for case, line in parsed.cases}
    assert cases["c2"][1] == 9
    assert [e.kind for e in cases["c2"][0].events] == ["multi\nline", "end"]
    assert len(cases["c1"][0].events) == 1


def test_short_rows_have_their_trailing_fields_empty(tmp_path: Path) -> None:
    parsed = parse_log(write(tmp_path, "log.csv", HEADER + "c1,end,2024-01-01 12:00\n"), COLUMNS)
    assert parsed.skipped == []
    event = parsed.cases[0][0].events[0]
    assert event.actor is None and event.attributes == {}


def test_semicolon_logs_and_column_names_in_another_case(tmp_path: Path) -> None:
    text = "Case ID;Activity;Time\nA-1;open;2024-05-01T08:00:00\nA-1;close;2024-05-02T08:00:00\n"
    parsed = parse_log(write(tmp_path, "log.csv", text), LogColumns("case id", "activity", "time"))
    assert [e.kind for e in parsed.cases[0][0].events] == ["open", "close"]


def test_a_missing_column_names_the_columns_there_are(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", HEADER + "c1,a,2024-01-01,x,\n")
    with pytest.raises(ImportFileError) as caught:
        parse_log(path, LogColumns("case_id", "activty", "timestamp"))
    message = str(caught.value)
    assert "no column 'activty' for the activity" in message
    assert "did you mean 'activity'?" in message
    assert "'resource'" in message


def test_an_empty_or_missing_log_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="is empty"):
        parse_log(write(tmp_path, "empty.csv", ""), COLUMNS)
    with pytest.raises(ImportFileError, match="cannot read"):
        parse_log(tmp_path / "nope.csv", COLUMNS)


def test_example_cases_file_reads_cleanly() -> None:
    entries = list(read_jsonl(EXAMPLES / "cases.jsonl"))
    assert not [e for e in entries if isinstance(e, Skipped)]
    assert [e.case.id for e in entries if not isinstance(e, Skipped)] == [
        "EX-CLM-1001",
        "EX-CLM-1002",
        "EX-CMP-2001",
        "EX-INV-3001",
    ]


def test_bad_lines_of_a_cases_file_are_skipped_with_line_and_reason(tmp_path: Path) -> None:
    good = {"id": "c-1", "type": "insurance-claim", "opened_at": "2024-01-01T00:00:00Z"}
    bad_case = {"id": "c-2", "type": "Insurance Claim", "opened_at": "2024-01-01", "priority": 9}
    text = "\n".join(
        [json.dumps(good), "{not json", "", json.dumps(bad_case), "[1, 2]", json.dumps(good)]
    )
    path = write(tmp_path, "cases.jsonl", text)
    entries = list(read_jsonl(path))
    skipped = {e.line: str(e) for e in entries if isinstance(e, Skipped)}
    assert sorted(skipped) == [2, 4, 5]
    assert skipped[2].startswith(f"{path}:2: not valid JSON")
    assert "case 'c-2' is invalid" in skipped[4]
    assert "type:" in skipped[4] and "priority:" in skipped[4] and "(got 9)" in skipped[4]
    assert "must be a JSON object, not list" in skipped[5]
    assert [e.line for e in entries if not isinstance(e, Skipped)] == [1, 6]


def test_prefixed_puts_the_prefix_before_every_id_and_identifier() -> None:
    entry = next(iter(read_jsonl(EXAMPLES / "cases.jsonl")))
    assert not isinstance(entry, Skipped)
    case = prefixed(entry.case, "t9-")
    assert case.id == "t9-EX-CLM-1001"
    assert all(p.id.startswith("t9-") for p in case.parties)
    assert all(e.id.startswith("t9-") for e in case.evidence + case.events)
    assert case.evidence[1].concerns == ["t9-EX-O-01"]
    values = [i.value for p in case.parties for i in p.identifiers if i.kind != "phone"]
    assert values and all(v.lower().startswith("t9-") for v in values)


def test_summary_lines_say_what_was_read_written_and_skipped() -> None:
    summary = ImportSummary(rows_read=5, rows_written=3, cases_written=3, cases_new=1)
    summary.skipped.append(Skipped("f.jsonl", 2, "not valid JSON"))
    summary.seconds = 1.5
    lines = summary.lines()
    assert lines[0] == "rows read 5, written 3, skipped 1"
    assert "1 new, 2 already in the graph" in lines[1]


def test_commands_say_how_to_get_a_graph_when_neo4j_uri_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("NEO4J_URI", "CASEWISE_NEO4J_URI"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["graph", "import", str(EXAMPLES / "cases.jsonl")])
    assert result.exit_code == 2
    assert "casewise neo4j start" in result.output
    assert "NEO4J_URI=bolt://127.0.0.1:7687" in result.output
