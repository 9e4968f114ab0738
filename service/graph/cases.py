"""Writing cases: create or update cases with their parties, evidence and events; close them.

Each call is ONE transaction: the checks (cases exist, party references resolve, ids are not
taken by another case) and every ``UNWIND`` write run in it, so a batch with one bad element
writes nothing. Every node is merged on its client id, so sending the same payload twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, LiteralString

import neo4j

from service.graph import queries as q
from service.graph.db import Graph, GraphError
from service.graph.models import CaseIn, CloseIn, Event, Evidence, Party


class CaseNotFound(GraphError):
    """A write or read names a case the graph does not have."""

    code = "not-found"
    status = 404


class InvalidReference(GraphError):
    """A payload refers to something that does not exist, or reuses an id of another case."""

    code = "invalid-input"
    status = 422


@dataclass(frozen=True)
class WriteSummary:
    """How many elements of the payload were written (merged)."""

    cases: int = 0
    parties: int = 0
    identifiers: int = 0
    evidence: int = 0
    events: int = 0

    def __add__(self, other: WriteSummary) -> WriteSummary:
        return WriteSummary(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":"))


@dataclass
class _Batch:
    """The rows of every statement of one write, and where each element came from."""

    cases: list[dict[str, Any]]
    parties: list[tuple[str, Party, str]]  # (case id, party, field path)
    evidence: list[tuple[str, Evidence, str]]
    events: list[tuple[str, Event, str]]

    @classmethod
    def empty(cls) -> _Batch:
        return cls([], [], [], [])

    def summary(self) -> WriteSummary:
        return WriteSummary(
            cases=len(self.cases),
            parties=len(self.parties),
            identifiers=sum(len(p.identifiers) for _, p, _ in self.parties),
            evidence=len(self.evidence),
            events=len(self.events),
        )

    def steps(self) -> list[tuple[LiteralString, dict[str, Any]]]:
        steps: list[tuple[LiteralString, dict[str, Any]]] = []
        if self.cases:
            steps.append((q.UPSERT_CASES, {"rows": self.cases}))
        for kind, statement in (
            ("person", q.MERGE_PERSONS),
            ("organisation", q.MERGE_ORGANISATIONS),
        ):
            rows = [_party_row(case, p) for case, p, _ in self.parties if p.kind == kind]
            if rows:
                steps.append((statement, {"rows": rows}))
        for kind, statement in q.MERGE_IDENTIFIERS.items():
            rows = [
                {"party": p.id, "value": i.value}
                for _, p, _ in self.parties
                for i in p.identifiers
                if i.kind == kind
            ]
            if rows:
                steps.append((statement, {"rows": rows}))
        if self.evidence:
            rows = [_evidence_row(case, e) for case, e, _ in self.evidence]
            steps.append((q.MERGE_EVIDENCE, {"rows": rows}))
            concerns = [
                {"evidence": e.id, "party": party}
                for _, e, _ in self.evidence
                for party in e.concerns
            ]
            if concerns:
                steps.append((q.MERGE_CONCERNS, {"rows": concerns}))
        if self.events:
            rows = [_event_row(case, e) for case, e, _ in self.events]
            steps.append((q.MERGE_EVENTS, {"rows": rows}))
        return steps


def _case_row(case: CaseIn, created_by: str | None = None) -> dict[str, Any]:
    return {
        "id": case.id,
        "created_by": created_by,
        "type": case.type,
        "status": case.status,
        "opened_at": case.opened_at,
        "due_at": case.due_at,
        "priority": case.priority,
        "assignee": case.assignee,
        "attributes": _json(case.attributes),
    }


def _party_row(case_id: str, party: Party) -> dict[str, Any]:
    return {
        "case": case_id,
        "id": party.id,
        "kind": party.kind,
        "name": party.name,
        "role": party.role,
        "flagged": party.flagged,
        "attributes": _json(party.attributes),
    }


def _evidence_row(case_id: str, evidence: Evidence) -> dict[str, Any]:
    return {
        "case": case_id,
        "id": evidence.id,
        "kind": evidence.kind,
        "received_at": evidence.received_at,
        "verified": evidence.verified,
        "source": evidence.source,
        "effect": evidence.effect,
        "description": evidence.description,
    }


def _event_row(case_id: str, event: Event) -> dict[str, Any]:
    return {
        "case": case_id,
        "id": event.id,
        "kind": event.kind,
        "at": event.at,
        "actor": event.actor,
        "attributes": _json(event.attributes),
    }


def _detail(field: str, message: str, value: Any) -> dict[str, Any]:
    return {"field": field, "message": message, "value": value}


def _check(
    tx: neo4j.ManagedTransaction,
    batch: _Batch,
    known_cases: Iterable[str],
    required: Iterable[str],
) -> None:
    """Raise CaseNotFound or InvalidReference for what the batch refers to but cannot have."""
    known = set(known_cases)
    wanted = sorted(
        set(required)
        | {c for c, _, _ in batch.parties}
        | {c for c, _, _ in batch.evidence}
        | {c for c, _, _ in batch.events}
    )
    missing_cases = [c for c in wanted if c not in known]
    if missing_cases:
        found = {r["id"] for r in tx.run(q.CASES_FOUND, ids=missing_cases).data()}
        unknown = [c for c in missing_cases if c not in found]
        if unknown:
            raise CaseNotFound(
                f"no case {unknown[0]!r}; create it first with POST /v1/cases",
                [{"case_id": c} for c in unknown],
            )
    details: list[dict[str, Any]] = []
    kinds: dict[str, tuple[str, str]] = {}  # party id -> (kind, field) in this payload
    for _, party, field in batch.parties:
        first = kinds.setdefault(party.id, (party.kind, field))
        if first[0] != party.kind:
            details.append(
                _detail(
                    f"{field}.kind", f"party {party.id!r} is a {first[0]} at {first[1]}", party.kind
                )
            )
    references = [
        (party, f"{field}.concerns[{n}]")
        for _, e, field in batch.evidence
        for n, party in enumerate(e.concerns)
    ]
    lookup = sorted(set(kinds) | {party for party, _ in references})
    stored = (
        {r["id"]: r["kind"] for r in tx.run(q.PARTIES_FOUND, ids=lookup).data()} if lookup else {}
    )
    for party_id, (kind, field) in kinds.items():
        if party_id in stored and stored[party_id] != kind:
            message = f"party {party_id!r} is already in the graph as a {stored[party_id]}"
            details.append(_detail(f"{field}.kind", message, kind))
    for party_id, field in references:
        if party_id not in kinds and party_id not in stored:
            message = f"no party {party_id!r} in this payload or in the graph; add the party first"
            details.append(_detail(field, message, party_id))
    details += _owned_elsewhere(tx, q.EVENTS_IN_OTHER_CASES, batch.events, "event")
    details += _owned_elsewhere(tx, q.EVIDENCE_IN_OTHER_CASES, batch.evidence, "evidence")
    if details:
        problems = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        raise InvalidReference(f"{len(details)} bad reference(s): {problems}", details)


def _owned_elsewhere(
    tx: neo4j.ManagedTransaction,
    statement: LiteralString,
    items: Sequence[tuple[str, Event | Evidence, str]],
    name: str,
) -> list[dict[str, Any]]:
    """Give a detail for each event or evidence whose id another case has (or takes in this
    payload): one id is one node, which must not hang off two cases."""
    if not items:
        return []
    details: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    for case, item, field in items:
        first = owner.setdefault(item.id, case)
        if first != case:
            message = f"{name} id {item.id!r} is also given to case {first!r}; use a new id"
            details.append(_detail(f"{field}.id", message, item.id))
    rows = [{"id": item_id, "case": case} for item_id, case in owner.items()]
    taken = {r["id"]: r["case"] for r in tx.run(statement, rows=rows).data()}
    for case, item, field in items:
        if item.id in taken and taken[item.id] != case:
            # the other case is not named: the caller may not be one that may see it
            message = f"{name} id {item.id!r} belongs to another case; use a new id"
            details.append(_detail(f"{field}.id", message, item.id))
    return details


def _write(
    graph: Graph, batch: _Batch, known_cases: Sequence[str] = (), required: Sequence[str] = ()
) -> WriteSummary:
    steps = batch.steps()

    def work(tx: neo4j.ManagedTransaction) -> None:
        _check(tx, batch, known_cases, required)
        for statement, params in steps:
            tx.run(statement, params).consume()

    graph.transaction(work)
    return batch.summary()


def upsert_cases(graph: Graph, cases: list[CaseIn], created_by: str | None = None) -> WriteSummary:
    """Create or update the cases with their parties, evidence and events, in ONE transaction.

    A case created now records ``created_by`` (the API key's name), which scopes what that key
    may see; an update keeps who created it.
    """
    batch = _Batch.empty()
    for n, case in enumerate(cases):
        batch.cases.append(_case_row(case, created_by))
        prefix = f"cases[{n}]"
        batch.parties += [
            (case.id, p, f"{prefix}.parties[{i}]") for i, p in enumerate(case.parties)
        ]
        batch.evidence += [
            (case.id, e, f"{prefix}.evidence[{i}]") for i, e in enumerate(case.evidence)
        ]
        batch.events += [(case.id, e, f"{prefix}.events[{i}]") for i, e in enumerate(case.events)]
    return _write(graph, batch, known_cases=[c.id for c in cases])


def add_parties(graph: Graph, case_id: str, parties: list[Party]) -> WriteSummary:
    """Add parties (with their identifiers) to a case; CaseNotFound if there is no such case."""
    batch = _Batch.empty()
    batch.parties = [(case_id, p, f"parties[{i}]") for i, p in enumerate(parties)]
    return _write(graph, batch, required=[case_id])


def add_evidence(graph: Graph, case_id: str, evidence: list[Evidence]) -> WriteSummary:
    """Add evidence to a case; the parties it concerns must be in the graph already."""
    batch = _Batch.empty()
    batch.evidence = [(case_id, e, f"evidence[{i}]") for i, e in enumerate(evidence)]
    return _write(graph, batch, required=[case_id])


def add_events(graph: Graph, case_id: str, events: list[Event]) -> WriteSummary:
    """Add events to a case."""
    batch = _Batch.empty()
    batch.events = [(case_id, e, f"events[{i}]") for i, e in enumerate(events)]
    return _write(graph, batch, required=[case_id])


def assign_case(
    graph: Graph, case_id: str, assignee: str | None, actor: str | None
) -> dict[str, Any]:
    """Give the case to ``assignee`` (None: to no one), with an event when that changes it.

    Assigning to whoever has it already changes nothing. Give ``{id, assignee, changed}``.
    """
    now = dt.datetime.now(dt.UTC)
    rows = graph.write(
        q.ASSIGN_CASE,
        id=case_id,
        assignee=assignee,
        at=now,
        actor=actor,
        event_id=f"{case_id}:assigned:{now.isoformat()}",
        attributes=_json({"assignee": assignee or ""}),
    )
    if not rows:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    return dict(rows[0])


def close_case(
    graph: Graph, case_id: str, close: CloseIn, actor: str | None = None
) -> dict[str, Any]:
    """Close a case with an outcome; add an Event of kind ``closed`` (by ``actor``). Give the
    closed case."""
    params = {
        "actor": actor,
        "id": case_id,
        "closed_at": close.closed_at,
        "now": dt.datetime.now(dt.UTC),
        "outcome": close.outcome,
        "reason": close.reason,
        "event_id": f"{case_id}:closed",
        "attributes": _json({"outcome": close.outcome, "reason": close.reason or ""}),
    }
    rows = graph.write(q.CLOSE_CASE, **params)
    if not rows:
        raise CaseNotFound(f"no case {case_id!r}; create it first with POST /v1/cases")
    row = dict(rows[0])
    closed_at = row["closed_at"]
    row["closed_at"] = closed_at.to_native().isoformat() if closed_at is not None else None
    return row
