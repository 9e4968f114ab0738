"""A playbook's facts for one case: its named Cypher queries run in one read transaction.

Each query takes ``$case_id`` and returns one row with a ``value`` column (the fact, the input
field of the same name) and optionally ``evidence``: the node ids or paths behind the fact.
``check_queries`` makes sure, when a playbook is loaded, that every query parses and only reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, LiteralString

import neo4j
import neo4j.graph
import neo4j.time
from neo4j import exceptions as neo4j_errors

from service.engine import Problem, Ruleset
from service.graph.db import Graph, GraphUnavailable

READ_ONLY = ("r",)
"""The EXPLAIN summary's query types a fact query may have: read only."""


@dataclass
class FactValues:
    """The facts of one case: ``values`` is the playbook's input, ``evidence`` what backs each."""

    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, list[Any]] = field(default_factory=dict)


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


def fetch(graph: Graph, playbook: Ruleset, case_id: str) -> FactValues:
    """Run every fact query of ``playbook`` for ``case_id`` in one read transaction."""
    queries = [(name, _statement(fact.query)) for name, fact in playbook.facts.items()]

    def work(tx: neo4j.ManagedTransaction) -> FactValues:
        found = FactValues()
        for name, query in queries:
            record = tx.run(query, case_id=case_id).single(strict=False)
            value = plain(record.get("value")) if record is not None else None
            evidence = plain(record.get("evidence")) if record is not None else None
            found.values[name] = value
            if evidence is None:
                found.evidence[name] = []
            else:
                found.evidence[name] = evidence if isinstance(evidence, list) else [evidence]
        return found

    return graph.read_transaction(work)


def check_queries(graph: Graph, playbook: Ruleset) -> list[Problem]:
    """Give a problem for each fact query that does not parse, or that would write.

    Each query is sent with ``EXPLAIN``: Neo4j plans it without running it, and the plan's
    query type says whether it reads only (``r``) or writes (``w``, ``rw``, ``s``).
    """
    problems: list[Problem] = []
    path = str(playbook.path)
    for name, fact in playbook.facts.items():
        statement = _statement("EXPLAIN " + fact.query)
        try:
            with graph.driver.session(database=graph.database) as session:
                result = session.run(statement, case_id="")
                columns = result.keys()
                summary = result.consume()
        except neo4j_errors.ClientError as exc:  # the query's own mistake
            message = (exc.message or str(exc)).splitlines()[0]
            problems.append(Problem(path, fact.line, 1, f"fact '{name}': {message}"))
            continue
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
            raise GraphUnavailable(
                f"cannot check the fact queries of {path} now: {exc}; they are checked again "
                "on the next recommendation"
            ) from exc
        if summary.query_type not in READ_ONLY:
            problems.append(
                Problem(
                    path,
                    fact.line,
                    1,
                    f"fact '{name}': the query writes to the graph (query type "
                    f"{summary.query_type!r}); a fact query may only read",
                )
            )
        elif "value" not in columns:
            problems.append(
                Problem(path, fact.line, 1, f"fact '{name}': the query returns no 'value' column")
            )
    return problems
