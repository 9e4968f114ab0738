"""Reading cases: the worklist, one case with everything in it, its timeline, its linked cases.

Everything returned is plain JSON-ready data: Neo4j date-times become ISO 8601 strings and the
``attributes`` kept as JSON text become objects again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import neo4j
import neo4j.time

from service.graph import queries as q
from service.graph.cases import CaseNotFound
from service.graph.db import Graph

JSON_TEXT = frozenset({"attributes", "input", "outputs", "fired"})
"""Properties the graph keeps as JSON text (Neo4j has no nested maps); given back as JSON."""

MAX_LINKED = 200
"""Most linked cases ``links`` gives: a shared hub (one busy address) must not flood a page."""


def plain(value: Any) -> Any:
    """Give ``value`` with Neo4j temporal values as ISO strings and JSON text properties parsed."""
    if isinstance(value, neo4j.time.DateTime | neo4j.time.Date):
        # to microseconds, as Python writes them: 2025-03-01T09:00:00+00:00
        native: dt.date = value.to_native()
        return native.isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        # Neo4j maps have no key order; give "id" first, then the rest by name.
        keys = sorted(value, key=lambda k: (k != "id", k))
        return {k: _json_text(value[k]) if k in JSON_TEXT else plain(value[k]) for k in keys}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _json_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return plain(value)


@dataclass(frozen=True)
class CaseScope:
    """The cases a caller may see: every case (``rulesets`` None), or those opened by decisions
    of ``rulesets`` and those ``creator`` created (an API key scoped to rulesets)."""

    rulesets: frozenset[str] | None = None
    creator: str | None = None

    @property
    def everything(self) -> bool:
        return self.rulesets is None

    def params(self) -> dict[str, Any]:
        return {
            "scope_all": self.rulesets is None,
            "scope_rulesets": sorted(self.rulesets or ()),
            "scope_creator": self.creator,
        }


EVERY_CASE = CaseScope()


def in_scope(graph: Graph, ids: Iterable[str], scope: CaseScope) -> set[str]:
    """Give the ids, of those given, of cases in the graph that ``scope`` may see."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return {r["id"] for r in graph.read(q.CASES_IN_SCOPE, ids=wanted, **scope.params())}


def out_of_scope(graph: Graph, ids: Iterable[str], scope: CaseScope) -> list[str]:
    """Give the ids, of those given, of cases in the graph that ``scope`` may not see."""
    wanted = sorted(set(ids))
    if scope.everything or not wanted:
        return []
    return [r["id"] for r in graph.read(q.CASES_OUT_OF_SCOPE, ids=wanted, **scope.params())]


def parties_out_of_scope(graph: Graph, ids: Iterable[str], scope: CaseScope) -> list[str]:
    """Give the ids, of those given, of parties to a case ``scope`` may not see."""
    wanted = sorted(set(ids))
    if scope.everything or not wanted:
        return []
    return [r["id"] for r in graph.read(q.PARTIES_OUT_OF_SCOPE, ids=wanted, **scope.params())]


def check_scope(graph: Graph, case_id: str, scope: CaseScope) -> None:
    """Raise CaseNotFound (404) unless ``scope`` may see the case: a case out of scope is
    answered as if there were none, so its existence is not told."""
    if not scope.everything and case_id not in in_scope(graph, [case_id], scope):
        raise _not_found(case_id)


def _not_found(case_id: str) -> CaseNotFound:
    return CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")


def list_cases(
    graph: Graph,
    *,
    type: str | None = None,
    status: str | None = None,
    due_before: dt.datetime | None = None,
    assignee: str | None = None,
    limit: int = 50,
    offset: int = 0,
    scope: CaseScope = EVERY_CASE,
) -> dict[str, Any]:
    """Give a page of the cases ``scope`` may see (most pressing first) and how many match the
    filters in all."""
    params = {"type": type, "status": status, "due_before": due_before, "assignee": assignee}
    params |= scope.params()

    def work(tx: neo4j.ManagedTransaction) -> dict[str, Any]:
        total = tx.run(q.COUNT_SCOPED_CASES, params).single(strict=True)["total"]
        rows = tx.run(q.LIST_CASES, params, limit=limit, offset=offset).data()
        return {"total": total, "items": [plain(r["case"]) for r in rows]}

    page = graph.read_transaction(work)
    return {"items": page["items"], "total": page["total"], "limit": limit, "offset": offset}


def get_case(graph: Graph, case_id: str) -> dict[str, Any]:
    """Give the case with its parties (roles, identifiers), evidence, events and decisions."""
    rows = graph.read(q.GET_CASE, id=case_id)
    if not rows:
        raise _not_found(case_id)
    row = rows[0]
    case: dict[str, Any] = plain(row["case"])
    parties = plain(row["parties"])
    for party in parties:
        party["roles"] = sorted(party["roles"])
        party["role"] = party["roles"][0] if party["roles"] else None
    case.update(
        parties=parties,
        evidence=plain(row["evidence"]),
        events=plain(row["events"]),
        decisions=plain(row["decisions"]),
    )
    return case


def _at(value: Any) -> dt.datetime:
    if isinstance(value, neo4j.time.DateTime):
        native: dt.datetime = value.to_native()
        return native if native.tzinfo else native.replace(tzinfo=dt.UTC)
    return dt.datetime.min.replace(tzinfo=dt.UTC)


def timeline(graph: Graph, case_id: str) -> list[dict[str, Any]]:
    """Give the case's events, evidence (by received_at) and routing decisions in time order
    (events of one time in the order they happened: by ``seq``)."""
    rows = graph.read(q.TIMELINE, id=case_id)
    if not rows:
        raise _not_found(case_id)
    row = rows[0]
    entries = [("event", e, e.get("at")) for e in row["events"]]
    entries += [("evidence", e, e.get("received_at")) for e in row["evidence"]]
    entries += [("decision", d, d.get("at")) for d in row["decisions"]]
    # equal times keep the order events happened in (their sequence number in the case)
    entries.sort(key=lambda e: (_at(e[2]), e[0], e[1].get("seq") or 0, str(e[1].get("id"))))
    return [{"at": plain(at), "type": kind, "item": plain(item)} for kind, item, at in entries]


def links(graph: Graph, case_id: str, depth: int, limit: int = MAX_LINKED) -> list[dict[str, Any]]:
    """Give the other cases linked to this one within ``depth`` steps, nearest first.

    One step links two cases that share a party, or whose parties share an address, phone,
    e-mail or bank account. Each result has ``hops`` (steps from this case) and ``via``: the
    nodes between the two cases on one shortest link path, intermediate cases included.
    """

    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        if tx.run(q.CASE_EXISTS, id=case_id).single() is None:
            raise _not_found(case_id)
        paths: dict[str, list[dict[str, Any]]] = {case_id: []}
        found: list[dict[str, Any]] = []
        frontier = [case_id]
        for hops in range(1, depth + 1):
            if not frontier or len(found) >= limit:
                break
            rows = tx.run(q.LINKED_CASES, frontier=frontier, reached=list(paths)).data()
            # Shortest via first, then by id, so the answer does not depend on the planner.
            rows.sort(key=lambda r: (len(r["via"]), r["case"]["id"], r["source"], str(r["via"])))
            frontier = []
            for row in rows:
                other = row["case"]["id"]
                if other in paths:
                    continue
                via = list(paths[row["source"]])
                if row["source"] != case_id:
                    via.append({"kind": "Case", "id": row["source"]})
                via += row["via"]
                paths[other] = via
                frontier.append(other)
                found.append({"case": plain(row["case"]), "via": plain(via), "hops": hops})
        found.sort(key=lambda f: (f["hops"], f["case"]["id"]))
        return found[:limit]

    return graph.read_transaction(work)
