"""The decision log in Neo4j: its batched write, and the reads of one decision or a filtered
page of them, newest first."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, LiteralString

import neo4j
import orjson
from neo4j.exceptions import ConstraintError

from service.decisionlog import queries as q
from service.decisionlog.records import OUTPUT_PREFIX, row, scalar_text
from service.graph.db import Graph, GraphError
from service.graph.models import time_problem
from service.kernel.errors import CasewiseError

MAX_LIMIT = 500
# A batch whose ids another writer is creating at the same moment fails whole and is written
# again, without the ids now there; each retry can only meet ids still being created.
RACE_ATTEMPTS = 5
# Set on a record written to Neo4j before it was spooled: the flusher leaves it out.
IN_GRAPH = "in_graph"
# The open ends of a time range.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
_JSON_FIELDS = ("input", "outputs", "values", "fired", "facts")


class FilterError(CasewiseError):
    """A decision filter has a value Casewise cannot use; ``details`` name field and value."""

    code = "invalid-input"
    status = 422

    def __init__(self, field_name: str, value: Any, message: str) -> None:
        super().__init__(f"invalid decision filter {field_name}={value!r}: {message}")
        self.message = f"invalid decision filter {field_name}: {message}"
        self.details = [{"field": field_name, "message": message, "value": value}]


class DecisionNotFound(CasewiseError):
    """No decision with that id is in the log."""

    code = "not-found"
    status = 404

    def __init__(self, decision_id: str) -> None:
        message = f"no decision {decision_id!r} in the decision log"
        super().__init__(message)
        self.message = message
        self.details = [{"field": "id", "message": "unknown decision", "value": decision_id}]


@dataclass(frozen=True)
class Filter:
    """What GET /v1/decisions and the export select."""

    ruleset: str | None = None
    version: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (field, JSON text)
    case_opened: bool | None = None
    rulesets: frozenset[str] | None = None  # the caller's rulesets (a scoped key); None: all

    def params(self) -> dict[str, Any]:
        return {
            "ruleset": self.ruleset,
            "rulesets": None if self.rulesets is None else sorted(self.rulesets),
            "version": self.version,
            "since": self.since or EARLIEST,
            "until": self.until or LATEST,
            "case_opened": self.case_opened,
            "outputs": [{"key": OUTPUT_PREFIX + k, "value": v} for k, v in self.outputs],
        }


def utc_time(value: dt.datetime) -> dt.datetime:
    """Give ``value`` as an aware UTC datetime (UTC when it names no offset); check it first."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def parse_time(name: str, value: str | None) -> dt.datetime | None:
    """Give an ISO 8601 time as an aware UTC datetime (UTC when it names no offset)."""
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(
            name, value, "must be an ISO 8601 time, e.g. 2026-11-29T10:00:00Z"
        ) from None
    problem = time_problem(parsed)
    if problem:
        raise FilterError(name, value, problem)
    return utc_time(parsed)


def parse_output(value: str) -> tuple[str, str]:
    """Give (field, JSON text) of ``FIELD:VALUE``; VALUE is a JSON scalar or else a string."""
    name, sep, raw = value.partition(":")
    if not sep or not name:
        raise FilterError("output", value, "must be FIELD:VALUE, e.g. decision:approve")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = raw
    if isinstance(parsed, dict | list):
        raise FilterError("output", value, "VALUE must be a scalar (text, number, true/false)")
    return name, scalar_text(parsed)


def parse_bool(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise FilterError(name, value, "must be true or false")


def encode_cursor(at: str, decision_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at, decision_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, decision_id = orjson.loads(base64.urlsafe_b64decode(padded))
        parsed = dt.datetime.fromisoformat(at)
        if time_problem(parsed) or not isinstance(decision_id, str):
            raise ValueError(at)
        return utc_time(parsed), decision_id
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise FilterError(
            "cursor", cursor, "is not a cursor this service gave; use next_cursor as given"
        ) from None


def write(graph: Graph, recs: list[dict[str, Any]]) -> None:
    """Write decision records (and the cases they open) in one transaction; an id already in
    the log keeps its first decision. Each record is then marked ``IN_GRAPH``, so that when it
    is spooled after this (the request path of a decision that opens a case), the flusher
    does not write it again."""
    write_rows(graph, [row(r) for r in recs])
    for rec in recs:
        rec[IN_GRAPH] = True


class _Raced(GraphError):
    """An id of the batch is in the graph already, or was created meanwhile by another writer."""


class Batch(list[dict[str, Any]]):
    """A batch's ``$versions``, sent as the list it is, and written in a log line as its size.

    The driver formats every query's parameters for its debug log before it knows whether
    anyone reads that log: for a batch of 500 decisions, that was a fifth of the flusher's CPU
    (about 4 µs a record, 2026-12-07)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{sum(len(v.get('rows', ())) for v in self)} decision rows>"


def by_version(rows: list[dict[str, Any]]) -> Batch:
    """Give the ``$versions`` of WRITE_DECISIONS: the rows grouped by the ruleset version that
    made them (its hash, and the ruleset named by the first of its rows), by hash, so that
    writers at once take the locks of the versions they share in one order."""
    versions: dict[str, dict[str, Any]] = {}
    for r in rows:
        props = r["props"]
        group = versions.get(props["version"])
        if group is None:
            group = versions[props["version"]] = {
                "hash": props["version"],
                "ruleset": props["ruleset"],
                "rows": [],
            }
        group["rows"].append(r)
    return Batch(versions[h] for h in sorted(versions))


def _run(graph: Graph, query: LiteralString, versions: Batch) -> None:
    """Run one decision write in its own transaction; _Raced when an id was taken."""

    def work(tx: neo4j.ManagedTransaction) -> None:
        try:
            tx.run(query, versions=versions).consume()
        except ConstraintError as exc:
            raise _Raced(f"a decision id is taken: {exc.message}") from exc

    try:
        graph.transaction(work)
    except GraphError as exc:
        if isinstance(exc, _Raced) or not isinstance(exc.__cause__, ConstraintError):
            raise
        # the constraint may also stop the commit, after the query ran
        raise _Raced(f"a decision id is taken: {exc.message}") from exc


def write_rows(graph: Graph, rows: list[dict[str, Any]]) -> None:
    """Write WRITE_DECISIONS rows in one transaction: the first row of each id, and only the
    ids not in the log yet (see queries.CREATE_DECISIONS)."""
    first: dict[str, dict[str, Any]] = {}
    for r in rows:
        first.setdefault(r["id"], r)
    firsts = by_version(list(first.values()))
    try:
        _run(graph, q.CREATE_DECISIONS, firsts)
        return
    except _Raced:
        pass  # some id is there already: leave those rows out
    for attempt in range(RACE_ATTEMPTS):
        try:
            _run(graph, q.WRITE_DECISIONS, firsts)
            return
        except _Raced:
            if attempt == RACE_ATTEMPTS - 1:
                raise


def decision_out(row: dict[str, Any]) -> dict[str, Any]:
    """Give a decision as the API answers it: the JSON fields parsed back."""
    out = dict(row)
    for name in _JSON_FIELDS:
        text = out.get(name)
        out[name] = orjson.loads(text) if isinstance(text, str) else text
    out["case_opened"] = out.get("case_id") is not None
    if out.get("values") is None:
        out.pop("values", None)  # as the answer: only a decision with intermediate values has them
    return out


def get_decision(
    graph: Graph, decision_id: str, rulesets: frozenset[str] | None = None
) -> dict[str, Any]:
    """Give one decision; DecisionNotFound if it is not in the log, or (``rulesets`` given:
    a scoped key's) not of one of ``rulesets``, so that its existence is not told."""
    rows = graph.read(q.GET_DECISION, id=decision_id)
    if not rows or rulesets is not None and rows[0]["decision"]["ruleset"] not in rulesets:
        raise DecisionNotFound(decision_id)
    return decision_out(rows[0]["decision"])


def list_decisions(
    graph: Graph, selection: Filter, limit: int = 50, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Give a page of decisions, newest first, and the cursor of the next page (None: last)."""
    after_at, after_id = decode_cursor(cursor) if cursor else (None, None)
    rows = graph.read(
        list_query(selection),
        **selection.params(),
        upto=after_at or LATEST,
        after_id=after_id,
        limit=limit,
    )
    decisions = [decision_out(r["decision"]) for r in rows]
    following = None
    if len(rows) == limit:
        last = rows[-1]
        following = encode_cursor(last["sort_at"].iso_format(), last["decision"]["id"])
    return decisions, following


def list_query(selection: Filter) -> LiteralString:
    """Give the LIST_DECISIONS query whose index seek reads the fewest decisions not selected."""
    if selection.version is not None:
        return q.LIST_DECISIONS_OF_VERSION
    if selection.ruleset is not None:
        return q.LIST_DECISIONS_OF_RULESET
    return q.LIST_DECISIONS


def iterate(graph: Graph, selection: Filter, page: int = 1000) -> Iterator[dict[str, Any]]:
    """Give every selected decision, newest first, a page at a time."""
    cursor = None
    while True:
        decisions, cursor = list_decisions(graph, selection, page, cursor)
        yield from decisions
        if cursor is None:
            return
