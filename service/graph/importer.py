"""Bulk import into the case graph: cases as JSON Lines, and process event logs as CSV.

Both are restartable: every write MERGEs on client ids (event ids of a log are derived from the
row), so running an import again, after a failure or to completion, adds nothing it added
before. Rows that cannot be imported are skipped and reported as ``file:line: reason``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, LiteralString

from pydantic import ValidationError

from service.graph.cases import WriteSummary, upsert_cases
from service.graph.db import Graph, GraphError, GraphUnavailable
from service.graph.eventlog import ImportFileError, LogColumns, ParsedLog, parse_log
from service.graph.models import CaseIn

__all__ = [
    "ImportFileError",
    "ImportSummary",
    "LogColumns",
    "Progress",
    "Skipped",
    "count_rows",
    "import_cases",
    "import_jsonl",
    "import_log",
    "prefixed",
    "read_jsonl",
]

# Called with the number of rows just finished, so a progress bar can advance.
Progress = Callable[[int], None]

BATCH_SIZE = 500
# A batch of a log also ends at this many events, so a few long cases make no huge transaction.
MAX_BATCH_EVENTS = 10_000

EXISTING_CASES: LiteralString = """
MATCH (c:Case) WHERE c.id IN $ids
RETURN c.id AS id, c.type AS type, c.status AS status, c.opened_at AS opened_at,
       c.due_at AS due_at, c.priority AS priority, c.attributes AS attributes
"""


@dataclass(frozen=True)
class Skipped:
    """One row left out of an import, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class ImportSummary:
    """What an import did: rows read, written and skipped (with reasons), cases new or updated."""

    rows_read: int = 0
    rows_written: int = 0
    cases_written: int = 0
    cases_new: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_skipped(self) -> int:
        """Give how many rows were skipped."""
        return len(self.skipped)

    @property
    def cases_per_second(self) -> float:
        """Give the write rate in cases per second."""
        return self.cases_written / self.seconds if self.seconds > 0 else 0.0

    def add(self, written: WriteSummary) -> None:
        """Add the element counts of one write."""
        for name in ("cases", "parties", "identifiers", "evidence", "events"):
            self.written[name] = self.written.get(name, 0) + int(getattr(written, name))

    def merge(self, other: ImportSummary) -> None:
        """Add what another import (e.g. the next chunk) did to this summary."""
        self.rows_read += other.rows_read
        self.rows_written += other.rows_written
        self.cases_written += other.cases_written
        self.cases_new += other.cases_new
        self.skipped += other.skipped
        for name, count in other.written.items():
            self.written[name] = self.written.get(name, 0) + count
        self.seconds += other.seconds

    def lines(self) -> list[str]:
        """Give the report for people: counts, then what was written."""
        updated = self.cases_written - self.cases_new
        lines = [
            f"rows read {self.rows_read}, written {self.rows_written}, skipped {self.rows_skipped}",
            f"cases written {self.cases_written}: {self.cases_new} new, "
            f"{updated} already in the graph (merged, nothing duplicated)",
        ]
        if self.written:
            parts = ", ".join(f"{name} {count}" for name, count in self.written.items())
            lines.append(f"elements merged: {parts}")
        if self.seconds > 0:
            lines.append(f"took {self.seconds:.1f} s ({self.cases_per_second:.0f} cases/s)")
        return lines


@dataclass(frozen=True)
class _Item:
    """One case to write, where it came from and how many input rows it stands for."""

    case: CaseIn
    path: str
    line: int
    rows: int


def count_rows(path: Path) -> int:
    """Give the number of non-blank lines of a file (a progress bar's total)."""
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc


def prefixed(case: CaseIn, prefix: str) -> CaseIn:
    """Give ``case`` with ``prefix`` before every id and identifier value (to keep data apart)."""
    if not prefix:
        return case
    data = case.model_dump()
    data["id"] = prefix + data["id"]
    for party in data["parties"]:
        party["id"] = prefix + party["id"]
        for identifier in party["identifiers"]:
            identifier["value"] = prefix + identifier["value"]
    for evidence in data["evidence"]:
        evidence["id"] = prefix + evidence["id"]
        evidence["concerns"] = [prefix + party for party in evidence["concerns"]]
    for event in data["events"]:
        event["id"] = prefix + event["id"]
    return CaseIn.model_validate(data)


def read_jsonl(path: Path, *, id_prefix: str = "") -> Iterator[_Item | Skipped]:
    """Give each case of a JSON Lines file, or why its line is skipped; blank lines are ignored."""
    name = str(path)
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        try:
            for number, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                yield _parse_case_line(text, name, number, id_prefix)
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{path} is not UTF-8 text: {exc.reason}") from exc


def _parse_case_line(text: str, name: str, number: int, id_prefix: str) -> _Item | Skipped:
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Skipped(name, number, f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return Skipped(name, number, f"a case must be a JSON object, not {type(data).__name__}")
    label = f"case {data['id']!r}" if isinstance(data.get("id"), str) else "case"
    try:
        case = CaseIn.model_validate(data)
    except ValidationError as exc:
        return Skipped(name, number, f"{label} is invalid: {_describe(exc)}")
    try:
        return _Item(prefixed(case, id_prefix), name, number, 1)
    except ValidationError as exc:  # the prefix made an id too long
        return Skipped(name, number, f"{label} with prefix {id_prefix!r}: {_describe(exc)}")


def _describe(exc: ValidationError) -> str:
    """Give every bad field of a validation error as ``path: message (got value)``."""
    parts = []
    for error in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        got = error.get("input")
        shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
        parts.append(f"{where.lstrip('.') or '(case)'}: {error['msg']}{shown}")
    return "; ".join(parts)


def import_jsonl(
    graph: Graph,
    path: Path,
    *,
    batch_size: int = BATCH_SIZE,
    id_prefix: str = "",
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a JSON Lines file of cases (one ``CaseIn`` per line) in batches."""
    summary = ImportSummary()
    started = time.perf_counter()

    def items() -> Iterator[_Item]:
        for entry in read_jsonl(path, id_prefix=id_prefix):
            summary.rows_read += 1
            if isinstance(entry, Skipped):
                summary.skipped.append(entry)
                if progress is not None:
                    progress(1)
            else:
                yield entry

    _write(graph, items(), summary, batch_size, progress)
    summary.seconds = time.perf_counter() - started
    return summary


def import_log(
    graph: Graph,
    path: Path,
    columns: LogColumns,
    *,
    case_type: str = "process",
    time_format: str | None = None,
    batch_size: int = BATCH_SIZE,
    id_prefix: str = "",
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a CSV event log: a case per case id, an event per row, in time order."""
    started = time.perf_counter()
    parsed: ParsedLog = parse_log(
        path, columns, case_type=case_type, time_format=time_format, id_prefix=id_prefix
    )
    skipped = [Skipped(str(path), line, reason) for line, reason in parsed.skipped]
    summary = ImportSummary(rows_read=parsed.rows_read, skipped=skipped)
    if progress is not None and parsed.skipped:
        progress(len(parsed.skipped))
    items = (_Item(case, str(path), line, len(case.events)) for case, line in parsed.cases)
    # A log adds events: a case already in the graph keeps its status, type and dates.
    _write(graph, items, summary, batch_size, progress, keep_existing=True)
    summary.skipped.sort(key=lambda s: s.line)
    summary.seconds = time.perf_counter() - started
    return summary


def import_cases(
    graph: Graph,
    cases: Iterable[CaseIn],
    *,
    batch_size: int = BATCH_SIZE,
    source: str = "(cases)",
    progress: Progress | None = None,
) -> ImportSummary:
    """Write cases already in memory (demo data, a benchmark) in batches of ``batch_size``."""
    summary = ImportSummary()
    started = time.perf_counter()

    def items() -> Iterator[_Item]:
        for number, case in enumerate(cases, 1):
            summary.rows_read += 1
            yield _Item(case, source, number, 1)

    _write(graph, items(), summary, batch_size, progress)
    summary.seconds = time.perf_counter() - started
    return summary


def _batches(items: Iterable[_Item], batch_size: int) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    events = 0
    for item in items:
        if batch and (
            len(batch) >= batch_size or events + len(item.case.events) > MAX_BATCH_EVENTS
        ):
            yield batch
            batch, events = [], 0
        batch.append(item)
        events += len(item.case.events)
    if batch:
        yield batch


def _write(
    graph: Graph,
    items: Iterable[_Item],
    summary: ImportSummary,
    batch_size: int,
    progress: Progress | None,
    keep_existing: bool = False,
) -> None:
    """Write items batch by batch; a batch the graph refuses is retried case by case.

    With ``keep_existing``, a case already in the graph keeps what it has (type, status,
    dates, priority, attributes) and only gains the item's parties, evidence and events.
    """
    for batch in _batches(items, max(1, batch_size)):
        ids = list(dict.fromkeys(item.case.id for item in batch))
        stored = {row["id"]: row for row in graph.read(EXISTING_CASES, ids=ids)}
        existing = set(stored)
        if keep_existing and stored:
            batch = [_onto_stored(item, stored.get(item.case.id)) for item in batch]
        try:
            written = [(batch, upsert_cases(graph, [item.case for item in batch]))]
        except GraphUnavailable:
            raise
        except GraphError:
            if len(batch) == 1:
                raise
            written = _write_one_by_one(graph, batch, summary)
        for done, result in written:
            summary.add(result)
            summary.cases_written += len(done)
            summary.rows_written += sum(item.rows for item in done)
        summary.cases_new += len({item.case.id for done, _ in written for item in done} - existing)
        if progress is not None:
            progress(sum(item.rows for item in batch))


def _onto_stored(item: _Item, row: dict[str, Any] | None) -> _Item:
    """Give the item with the case's stored fields in place of its own, if it is stored."""
    if row is None:
        return item
    fields = {
        "type": row["type"],
        "status": row["status"],
        "opened_at": _native(row["opened_at"]),
        "due_at": _native(row["due_at"]),
        "priority": row["priority"],
        "attributes": json.loads(row["attributes"]) if row["attributes"] else {},
    }
    try:
        case = CaseIn.model_validate({**item.case.model_dump(), **fields})
    except ValidationError:  # written by something else, in a shape CaseIn does not take
        return item
    return replace(item, case=case)


def _native(value: Any) -> Any:
    """Give a Neo4j temporal value as a Python one (None stays None)."""
    to_native = getattr(value, "to_native", None)
    return to_native() if callable(to_native) else value


def _write_one_by_one(
    graph: Graph, batch: list[_Item], summary: ImportSummary
) -> list[tuple[list[_Item], WriteSummary]]:
    """Write each case of a refused batch alone, skipping (with the reason) those refused."""
    written = []
    for item in batch:
        try:
            written.append(([item], upsert_cases(graph, [item.case])))
        except GraphUnavailable:
            raise
        except GraphError as exc:
            rows = f" ({item.rows} rows)" if item.rows > 1 else ""
            reason = f"case {item.case.id!r}{rows} was refused by the graph: {exc}"
            summary.skipped.append(Skipped(item.path, item.line, reason))
    return written
