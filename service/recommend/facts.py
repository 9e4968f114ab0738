"""A playbook's facts for one case: its named Cypher queries run in one read transaction.

Each query takes ``$case_id`` and returns one row with a ``value`` column (the fact, the input
field of the same name) and optionally ``evidence``: the node ids or paths behind the fact.

Fact queries are written by authors, so they run in a sandbox (``service.recommend.sandbox``):
``check_queries`` plans each one with ``EXPLAIN`` when a playbook is loaded and refuses it
unless it parses, only reads, and its plan stays inside the case graph; ``fetch`` checks a query
the same way before it first runs (once per query text), then runs it with a transaction
timeout and reads at most ``max_rows`` rows. Neo4j's text of a failure is never shown (it can
quote the data the query touched): it is logged under an error id, and the error names the
fact query, its file:line and the id.

Errors (``GraphError``, so the API and the pages show their message with status 503: the
recommendations of that playbook cannot be made until its queries are fixed)::

    FactQueryError          a fact query was refused or failed
    ├── FactQueryRefused    the sandbox refuses it (before anything runs)
    └── FactQueryFailed     it failed while running; the log has Neo4j's text under the id
        └── FactQueryTimedOut   it ran past the timeout
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, LiteralString

import neo4j
import neo4j.graph
import neo4j.time
from neo4j import exceptions as neo4j_errors

from service.engine import Problem, Ruleset
from service.engine.playbook import FactQuery, fact_query_problems
from service.graph.db import Graph, GraphError, GraphUnavailable
from service.recommend.sandbox import CREDENTIAL_LABELS, CREDENTIAL_LINKS, plan_problems

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger("casewise.recommend")

READ_ONLY = ("r",)
"""The EXPLAIN summary's query types a fact query may have: read only."""

# Neo4j's own message is shown for a query that does not parse: it quotes the author's text only
# (EXPLAIN runs nothing). Every other Neo4j error is logged under an id instead.
SHOWN_CODES = ("Neo.ClientError.Statement.SyntaxError",)
_POSITION = re.compile(r"\s*\(line (\d+), column \d+ \(offset: \d+\)\)")
TIMED_OUT = "Neo.ClientError.Transaction.TransactionTimedOut"  # ...ClientConfiguration too
PLAN_SECONDS = 10.0  # planning runs nothing, but a monstrous query could take long to plan
APPROVED_KEPT = 4096  # query texts remembered as checked; the oldest are checked again


class FactQueryError(GraphError):
    """A fact query was refused by the sandbox or failed."""

    code = "fact-query-failed"
    status = 503


class FactQueryRefused(FactQueryError):
    """The sandbox refuses a fact query; ``problems`` says why, at the playbook's file:line."""

    code = "fact-query-refused"

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


class FactQueryFailed(FactQueryError):
    """A fact query failed while running; the service log has Neo4j's text under ``error_id``."""

    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id


class FactQueryTimedOut(FactQueryFailed):
    """A fact query ran past the timeout and was stopped."""

    code = "fact-query-timed-out"


@dataclass(frozen=True)
class FactLimits:
    """How long the fact queries of one case may run, and how many rows one may give."""

    timeout_ms: int = 5000
    max_rows: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> FactLimits:
        return cls(settings.fact_query_timeout_ms, settings.fact_query_max_rows)


@dataclass
class FactValues:
    """The facts of one case: ``values`` is the playbook's input, ``evidence`` what backs each."""

    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, list[Any]] = field(default_factory=dict)


def _where(playbook: Ruleset, fact: FactQuery) -> str:
    return f"{playbook.path}:{fact.line}"


def _logged(playbook: Ruleset, fact: FactQuery, exc: Exception, what: str = "failed") -> str:
    """Log ``exc`` (Neo4j's text) under a new error id; give the id."""
    error_id = secrets.token_hex(6)
    log.error(
        "fact query %s (%s) %s [error id %s]: %s",
        fact.name,
        _where(playbook, fact),
        what,
        error_id,
        exc,
    )
    return error_id


def _statement(text: str) -> LiteralString:
    # Fact queries are authored content from the playbook file, checked at load by
    # check_queries; the case id is always a parameter.
    return text  # type: ignore[return-value,unused-ignore]


def _node(node: neo4j.graph.Node) -> dict[str, Any]:
    labels = sorted(label for label in node.labels if label != "Party") or sorted(node.labels)
    key = node.get("id", node.get("value"))
    return {"kind": labels[0] if labels else "Node", "id": key}


def plain(value: Any) -> Any:
    """Give a query value as JSON-ready data: paths as their nodes and relationship types."""
    if isinstance(value, neo4j.graph.Path):
        return {
            "nodes": [_node(n) for n in value.nodes],
            "relationships": [r.type for r in value.relationships],
        }
    if isinstance(value, neo4j.graph.Node):
        return _node(value)
    if isinstance(value, neo4j.graph.Relationship):
        return {"type": value.type}
    if isinstance(value, neo4j.time.DateTime | neo4j.time.Date):
        native: dt.date = value.to_native()
        return native.isoformat()
    if isinstance(value, neo4j.time.Duration):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


_approved: OrderedDict[tuple[str, str, str], None] = OrderedDict()
_approved_lock = threading.Lock()


def _key(graph: Graph, query: str) -> tuple[str, str, str]:
    return (graph.uri, graph.database, query)


def _remember(graph: Graph, query: str) -> None:
    with _approved_lock:
        _approved[_key(graph, query)] = None
        _approved.move_to_end(_key(graph, query))
        while len(_approved) > APPROVED_KEPT:
            _approved.popitem(last=False)


def _is_approved(graph: Graph, query: str) -> bool:
    with _approved_lock:
        return _key(graph, query) in _approved


def check_query(graph: Graph, playbook: Ruleset, fact: FactQuery) -> list[Problem]:
    """Give a problem for each way ``fact``'s query breaks the sandbox (none: it may run).

    The text check comes first (a refused query is never sent to Neo4j); then the query is
    planned with ``EXPLAIN``: the plan's query type must say it only reads (``r``), it must give
    a ``value`` column, and every operator of the plan must pass ``sandbox.plan_problems``.
    """
    path = str(playbook.path)

    def problem(message: str, line: int = fact.line) -> Problem:
        return Problem(path, line, 1, f"fact '{fact.name}': {message}")

    found = [
        problem(message, fact.line + fact.query[:offset].count("\n"))
        for offset, message in fact_query_problems(fact.query)
    ]
    if found:
        return found
    try:
        with graph.driver.session(database=graph.database) as session:
            explain = neo4j.Query(_statement("EXPLAIN " + fact.query), timeout=PLAN_SECONDS)
            result = session.run(explain, case_id="")
            columns = result.keys()
            summary = result.consume()
    except neo4j_errors.ClientError as exc:  # the query's own mistake
        if exc.code in SHOWN_CODES:
            message = (exc.message or str(exc)).splitlines()[0][:300]
            at = _POSITION.search(message)  # of the statement sent, EXPLAIN and all
            line = fact.line + int(at.group(1)) - 1 if at else fact.line
            return [problem(_POSITION.sub("", message), line)]
        error_id = _logged(playbook, fact, exc, "was refused by Neo4j when planned")
        return [
            problem(
                f"Neo4j cannot plan the query; error id {error_id} — the service log has the "
                "details"
            )
        ]
    except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
        raise GraphUnavailable(
            f"cannot check the fact queries of {path} now: {type(exc).__name__}; they are "
            "checked again on the next recommendation"
        ) from exc
    if summary.query_type not in READ_ONLY:
        return [
            problem(
                f"the query writes to the graph (query type {summary.query_type!r}); a fact "
                "query may only read"
            )
        ]
    found = [problem(message) for message in plan_problems(summary.plan)]
    if not found and "value" not in columns:
        found.append(problem("the query returns no 'value' column"))
    if not found:
        _remember(graph, fact.query)
    return found


def credentials_linked(graph: Graph) -> str | None:
    """Say how credential nodes are linked to other nodes, if they are (None: they are not)."""
    row = graph.read(CREDENTIAL_LINKS)[0]
    if not row["links"]:
        return None
    return (
        f"{row['links']} relationship(s) ({', '.join(row['types'])}) link credential nodes "
        f"({', '.join(sorted(CREDENTIAL_LABELS))}) to other nodes, so a fact query could reach "
        "them; no fact query runs until they are removed"
    )


def check_queries(graph: Graph, playbook: Ruleset) -> list[Problem]:
    """Give a problem for each fact query of ``playbook`` that the sandbox refuses."""
    linked = credentials_linked(graph)
    if linked is not None:
        log.error("%s", linked)
        return [Problem(str(playbook.path), 1, 1, linked)]
    problems: list[Problem] = []
    for fact in playbook.facts.values():
        problems.extend(check_query(graph, playbook, fact))
    return problems


def _refuse_unchecked(graph: Graph, playbook: Ruleset) -> None:
    """Check every fact query not yet approved; FactQueryRefused if one is refused."""
    if all(_is_approved(graph, fact.query) for fact in playbook.facts.values()):
        return
    problems = check_queries(graph, playbook)
    if problems:
        raise FactQueryRefused(
            f"the fact queries of {playbook.path} are refused: "
            + "; ".join(str(p) for p in problems),
            problems,
        )


def _row(
    result: neo4j.Result, playbook: Ruleset, fact: FactQuery, max_rows: int
) -> neo4j.Record | None:
    """The first row of a fact query's result; FactQueryError past ``max_rows`` rows."""
    rows: list[neo4j.Record] = []
    for record in result:
        rows.append(record)
        if len(rows) > max_rows:
            break
    if len(rows) > max_rows:
        raise FactQueryError(
            f"the fact query {fact.name} ({_where(playbook, fact)}) gave more than {max_rows} "
            f"row(s); a fact query gives one row: aggregate (count(), collect()) or end with "
            "LIMIT 1"
        )
    return rows[0] if rows else None


def fetch(
    graph: Graph, playbook: Ruleset, case_id: str, limits: FactLimits | None = None
) -> FactValues:
    """Run every fact query of ``playbook`` for ``case_id`` in one read transaction.

    A query not checked yet is checked first (FactQueryRefused); the transaction is stopped
    after ``limits.timeout_ms`` (FactQueryTimedOut); any other failure is FactQueryFailed.
    """
    limits = limits or FactLimits()
    _refuse_unchecked(graph, playbook)
    running: list[FactQuery] = []

    @neo4j.unit_of_work(timeout=limits.timeout_ms / 1000)
    def work(tx: neo4j.ManagedTransaction) -> FactValues:
        found = FactValues()
        for name, fact in playbook.facts.items():
            running[:] = [fact]
            result = tx.run(_statement(fact.query), case_id=case_id)
            record = _row(result, playbook, fact, limits.max_rows)
            value = plain(record.get("value")) if record is not None else None
            evidence = plain(record.get("evidence")) if record is not None else None
            found.values[name] = value
            if evidence is None:
                found.evidence[name] = []
            else:
                found.evidence[name] = evidence if isinstance(evidence, list) else [evidence]
        return found

    try:
        with graph.driver.session(
            database=graph.database, fetch_size=limits.max_rows + 1
        ) as session:
            return session.execute_read(work)
    except FactQueryError:
        raise
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as exc:
        raise GraphUnavailable(
            f"Neo4j at {graph.uri} is not reachable ({type(exc).__name__}); start it "
            "(`casewise neo4j start`) or check NEO4J_URI"
        ) from exc
    except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
        if not running:
            raise GraphUnavailable(
                f"Neo4j at {graph.uri} cannot run the fact queries now ({type(exc).__name__})"
            ) from exc
        fact = running[0]
        where = f"the fact query {fact.name} ({_where(playbook, fact)})"
        if isinstance(exc, neo4j_errors.Neo4jError) and (exc.code or "").startswith(TIMED_OUT):
            error_id = _logged(playbook, fact, exc, f"timed out after {limits.timeout_ms} ms")
            raise FactQueryTimedOut(
                f"{where} timed out after {limits.timeout_ms} ms and was stopped; error id "
                f"{error_id} — the service log has the details",
                error_id,
            ) from exc
        error_id = _logged(playbook, fact, exc)
        raise FactQueryFailed(
            f"{where} failed; error id {error_id} — the service log has the details", error_id
        ) from exc
