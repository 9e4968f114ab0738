"""Changing a case as it is worked: status, priority, team queue, reopening; each an event.

Every change is one transaction that reads the case's current values, writes the new ones and
adds an ``Event`` (who, when, what changed from what to what), so the timeline tells the whole
story. A change to what the case has already changes nothing and adds no event. Closing stays in
``cases.close_case`` (its outcome feeds the routing-rule suggestions); ``reopen`` undoes it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any, LiteralString

import neo4j

from service.graph.cases import CaseNotFound
from service.graph.db import Graph, GraphError

CHANGEABLE = ("status", "priority", "team")
OPEN_STATUSES = ("open", "pending")
PRIORITIES = (1, 2, 3, 4, 5)

CASE_NOW: LiteralString = """
MATCH (c:Case {id: $id})
RETURN c.status AS status, c.priority AS priority, c.team AS team, c.assignee AS assignee
"""

# ``$changes`` holds only keys of CHANGEABLE (a null removes the property: no team).
APPLY_CHANGES: LiteralString = """
MATCH (c:Case {id: $id})
SET c += $changes,
    c.revision = coalesce(c.revision, 0) + 1,
    c.event_seq = coalesce(c.event_seq, 0) + 1
CREATE (e:Event {id: $event_id, kind: $kind, at: $at, actor: $actor, attributes: $attributes,
                 seq: c.event_seq})
CREATE (e)-[:IN_CASE]->(c)
"""

# The routing decision that opened the case loses the outcome it was given at closing.
REOPEN: LiteralString = """
MATCH (c:Case {id: $id})
WHERE c.status = 'closed'
SET c.status = 'open', c.outcome = null, c.closed_at = null, c.close_reason = null,
    c.revision = coalesce(c.revision, 0) + 1,
    c.event_seq = coalesce(c.event_seq, 0) + 1
CREATE (e:Event {id: $event_id, kind: 'reopened', at: $at, actor: $actor,
                 attributes: $attributes, seq: c.event_seq})
CREATE (e)-[:IN_CASE]->(c)
WITH c
OPTIONAL MATCH (d:RoutingDecision)-[:OPENED]->(c)
FOREACH (_ IN CASE WHEN d IS NULL THEN [] ELSE [1] END |
  SET d.case_outcome = null, d.case_closed_at = null)
RETURN DISTINCT c.id AS id
"""


class InvalidChange(GraphError):
    """A change a case cannot take (a closed case's status, a priority out of range)."""

    code = "invalid-input"
    status = 422


def _event_id(case_id: str) -> str:
    return f"{case_id}:change:{uuid.uuid4().hex[:16]}"


def _kind(changed: Mapping[str, Any]) -> str:
    if len(changed) > 1:
        return "case-updated"
    key = next(iter(changed))
    return {"status": "status-changed", "priority": "priority-changed", "team": "queued"}[key]


def resolve(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """Give the values ``wanted`` sets, with ``priority: "raise"`` made one step more urgent."""
    out = dict(wanted)
    if out.get("priority") == "raise":
        out["priority"] = max(1, int(current.get("priority") or 3) - 1)
    return out


def change_in(
    tx: neo4j.ManagedTransaction,
    case_id: str,
    wanted: Mapping[str, Any],
    actor: str | None,
    *,
    at: dt.datetime | None = None,
    because: str | None = None,
) -> dict[str, Any]:
    """Set ``wanted`` (keys of CHANGEABLE) on the case inside ``tx``; give what changed as
    ``{key: [before, after]}`` (empty: nothing did, and no event is added)."""
    row = tx.run(CASE_NOW, id=case_id).single()
    if row is None:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    current = dict(row)
    values = resolve(current, wanted)
    unknown = sorted(set(values) - set(CHANGEABLE))
    if unknown:
        raise InvalidChange(f"cannot change {', '.join(unknown)} of a case here")
    if "status" in values and values["status"] not in OPEN_STATUSES:
        raise InvalidChange(
            f"status {values['status']!r} cannot be set here; use one of "
            f"{', '.join(OPEN_STATUSES)} (close a case with its outcome)",
            [{"field": "status", "message": "open or pending", "value": values["status"]}],
        )
    if "priority" in values and values["priority"] not in PRIORITIES:
        raise InvalidChange(
            f"priority {values['priority']!r} is not one of 1 (most urgent) to 5",
            [{"field": "priority", "message": "1 to 5", "value": values["priority"]}],
        )
    if current["status"] == "closed" and "status" in values:
        if because is None:
            raise InvalidChange(f"case {case_id!r} is closed; reopen it first")
        del values["status"]  # an action taken on a closed case does not reopen it
    changed = {k: [current.get(k), v] for k, v in values.items() if current.get(k) != v}
    if not changed:
        return {}
    attributes: dict[str, Any] = {k: f"{b if b is not None else ''}→{a if a is not None else ''}"
                                  for k, (b, a) in changed.items()}  # fmt: skip
    if because:
        attributes["because"] = because
    tx.run(
        APPLY_CHANGES,
        id=case_id,
        changes={k: after for k, (_, after) in changed.items()},
        event_id=_event_id(case_id),
        kind=_kind(changed),
        at=at or dt.datetime.now(dt.UTC),
        actor=actor,
        attributes=json.dumps(attributes, sort_keys=True, separators=(",", ":")),
    ).consume()
    return changed


def change(
    graph: Graph, case_id: str, wanted: Mapping[str, Any], actor: str | None
) -> dict[str, Any]:
    """Set ``wanted`` on the case (one transaction); give what changed (see ``change_in``)."""
    return graph.transaction(lambda tx: change_in(tx, case_id, wanted, actor))


def reopen(graph: Graph, case_id: str, actor: str | None, reason: str | None = None) -> bool:
    """Reopen a closed case (outcome cleared, an event ``reopened``); give whether it was closed."""
    attributes = json.dumps({"reason": reason} if reason else {}, separators=(",", ":"))

    def work(tx: neo4j.ManagedTransaction) -> bool:
        if tx.run(CASE_NOW, id=case_id).single() is None:
            raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
        params = {"id": case_id, "event_id": _event_id(case_id), "actor": actor,
                  "at": dt.datetime.now(dt.UTC), "attributes": attributes}  # fmt: skip
        return tx.run(REOPEN, params).single() is not None

    return graph.transaction(work)
