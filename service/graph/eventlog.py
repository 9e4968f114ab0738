"""Read a process event log in the common CSV shape (case id, activity, timestamp) as cases.

One case per case id, one event per row, sorted by time (rows with equal times keep their file
order). An event's id is a hash of its case id and row content, with a running number for rows
that are exactly alike, so reading the same file again gives the same ids.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from service.graph.models import CaseIn, Event
from service.kernel.errors import CasewiseError

__all__ = ["LogColumns", "ImportFileError", "ParsedLog", "parse_log", "parse_time"]

# Formats tried after ISO 8601 when no --time-format is given. Day-first and month-first dates
# with slashes (01/02/2024) are ambiguous, so they need an explicit --time-format.
TIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S.%f",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
)
DELIMITERS = ",;\t|"
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,100}")
ID_RULE = "1 to 100 characters of A-Z a-z 0-9 . _ : -"


class ImportFileError(CasewiseError):
    """A file cannot be imported at all (unreadable, empty, a named column missing)."""

    code = "invalid-import-file"


@dataclass(frozen=True)
class LogColumns:
    """Which CSV columns hold the case id, the activity, the time and (optionally) the actor."""

    case: str
    activity: str
    time: str
    resource: str | None = None


@dataclass
class ParsedLog:
    """The cases of a log, each with the line of its first row, and the rows left out."""

    cases: list[tuple[CaseIn, int]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    rows_read: int = 0


@dataclass
class _Row:
    line: int
    at: datetime
    event: Event


def parse_time(text: str, time_format: str | None = None) -> datetime | None:
    """Give the time in ``text`` (ISO 8601, or ``time_format``); naive times are UTC."""
    text = text.strip()
    if not text:
        return None
    parsed: datetime | None = None
    if time_format is not None:
        try:
            parsed = datetime.strptime(text, time_format)
        except ValueError:
            return None
    else:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            for candidate in TIME_FORMATS:
                try:
                    parsed = datetime.strptime(text, candidate)
                    break
                except ValueError:
                    continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_log(
    path: Path,
    columns: LogColumns,
    *,
    case_type: str = "process",
    time_format: str | None = None,
    id_prefix: str = "",
) -> ParsedLog:
    """Read an event log; rows that cannot be used are in ``skipped`` as (line, reason)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    lines = text.splitlines(keepends=True)
    if not lines:
        raise ImportFileError(f"{path} is empty; an event log starts with a header row")
    reader = csv.reader(lines, delimiter=_delimiter(lines[0]))
    header = [name.strip() for name in next(reader)]
    index = {role: _column(path, header, name, role) for role, name in _roles(columns)}
    parsed = ParsedLog()
    by_case: dict[str, list[_Row]] = {}
    seen: dict[str, int] = {}
    line = 1
    for values in reader:
        first, line = line + 1, reader.line_num
        if not any(value.strip() for value in values):
            continue
        parsed.rows_read += 1
        row = _row(values, header, index, first, time_format, id_prefix, seen)
        if isinstance(row, str):
            parsed.skipped.append((first, row))
        else:
            by_case.setdefault(row[0], []).append(row[1])
    for case_id, rows in by_case.items():
        rows.sort(key=lambda r: (r.at, r.line))
        try:
            case = CaseIn(
                id=case_id,
                type=case_type,
                opened_at=rows[0].at,
                events=[r.event for r in rows],
            )
        except ValidationError as exc:
            reason = f"case {case_id!r} ({len(rows)} rows) is invalid: {exc.errors()[0]['msg']}"
            parsed.skipped.append((rows[0].line, reason))
            continue
        parsed.cases.append((case, rows[0].line))
    return parsed


def _roles(columns: LogColumns) -> list[tuple[str, str]]:
    roles = [("case", columns.case), ("activity", columns.activity), ("time", columns.time)]
    if columns.resource is not None:
        roles.append(("resource", columns.resource))
    return roles


def _delimiter(header: str) -> str:
    """Give the delimiter the header line uses most (comma when it has none)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _column(path: Path, header: list[str], name: str, role: str) -> int:
    """Give the index of column ``name`` (exact, else ignoring case), or say what there is."""
    if name in header:
        return header.index(name)
    folded = [h.casefold() for h in header]
    if folded.count(name.casefold()) == 1:
        return folded.index(name.casefold())
    hint = difflib.get_close_matches(name, header, n=1)
    suggestion = f" — did you mean {hint[0]!r}?" if hint else ""
    raise ImportFileError(
        f"{path}:1: no column {name!r} for the {role} in the header{suggestion} "
        f"(columns: {', '.join(repr(h) for h in header)})"
    )


def _row(
    values: list[str],
    header: list[str],
    index: dict[str, int],
    line: int,
    time_format: str | None,
    id_prefix: str,
    seen: dict[str, int],
) -> tuple[str, _Row] | str:
    """Give (case id, row) for one CSV row, or the reason it is skipped."""
    if len(values) > len(header):
        return f"has {len(values)} fields, the header has {len(header)} (a comma not in quotes?)"
    values = values + [""] * (len(header) - len(values))  # trailing empty fields left out
    case_id = values[index["case"]].strip()
    activity = values[index["activity"]].strip()
    stamp = values[index["time"]].strip()
    resource = values[index["resource"]].strip() if "resource" in index else ""
    if not case_id:
        return f"missing case id (column {header[index['case']]!r})"
    if not ID_PATTERN.fullmatch(id_prefix + case_id):
        return f"case id {case_id!r} is not a valid id ({ID_RULE})"
    if not activity:
        return f"missing activity (column {header[index['activity']]!r})"
    at = parse_time(stamp, time_format)
    if at is None:
        expected = repr(time_format) if time_format else "ISO 8601 such as 2024-03-01 09:30:00"
        return (
            f"cannot read timestamp {stamp!r} (column {header[index['time']]!r}); "
            f"expected {expected} (use --time-format for other shapes)"
        )
    used = set(index.values())
    attributes = {
        header[i]: value.strip()
        for i, value in enumerate(values)
        if i not in used and value.strip() and header[i]
    }
    case_id = id_prefix + case_id
    key = json.dumps([case_id, activity, at.isoformat(), resource, attributes], sort_keys=True)
    seen[key] = seen.get(key, 0) + 1
    digest = hashlib.sha256(f"{key}#{seen[key]}".encode()).hexdigest()[:24]
    try:
        event = Event(
            id=f"ev-{digest}",
            kind=activity,
            at=at,
            actor=resource or None,
            attributes=attributes,
        )
    except ValidationError as exc:
        return f"event is invalid: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
    return case_id, _Row(line, at, event)
