"""What was done in similar closed cases: the actions experts took there, ranked by count.

Similarity is the Jaccard index over a case's features: the kinds of its evidence, the kinds of
its events and the roles its parties play (each prefixed, so an evidence kind never equals an
event kind). The ``k`` most similar closed cases of the same type are taken (ties broken by the
most recently closed; scored in the server, so only those k are sent). From each come the
actions experts accepted or chose instead (ExpertDecision nodes), or, for a case without any,
the activity that followed the same point in that case (the event after the one the open case
stopped at).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, LiteralString

from service.graph.cases import CaseNotFound
from service.graph.db import Graph

CASE_FEATURES: LiteralString = """
MATCH (c:Case {id: $case_id})
RETURN c.type AS type,
       COLLECT { MATCH (ev:Evidence)-[:SUPPORTS|CONTRADICTS]->(c)
                 RETURN DISTINCT ev.kind } AS evidence,
       COLLECT { MATCH (e:Event)-[:IN_CASE]->(c)
                 WITH e ORDER BY e.at, coalesce(e.seq, 0), e.id RETURN e.kind } AS events,
       COLLECT { MATCH (:Party)-[r:PARTY_TO]->(c) RETURN DISTINCT r.role } AS roles
"""

# Scored in the server, so only the k nearest travel; UNION makes each case's features a set.
NEAREST_CLOSED: LiteralString = """
MATCH (c:Case {type: $type, status: 'closed'})
WHERE c.id <> $case_id
WITH c, COLLECT {
    MATCH (ev:Evidence)-[:SUPPORTS|CONTRADICTS]->(c) RETURN 'evidence:' + ev.kind AS f
    UNION MATCH (e:Event)-[:IN_CASE]->(c) RETURN 'event:' + e.kind AS f
    UNION MATCH (:Party)-[r:PARTY_TO]->(c) RETURN 'role:' + r.role AS f
  } AS features
WITH c, size([f IN features WHERE f IN $mine]) AS common, size(features) AS n
WITH c, toFloat(common) / (n + size($mine) - common) AS score
WHERE score > 0
RETURN c.id AS id, score,
       COLLECT { MATCH (e:Event)-[:IN_CASE]->(c)
                 WITH e ORDER BY e.at, coalesce(e.seq, 0), e.id RETURN e.kind } AS events
ORDER BY score DESC, c.closed_at DESC, c.id
LIMIT $k
"""

# What experts did in each case: the recommended action when accepted, their own when not.
EXPERT_ACTIONS: LiteralString = """
UNWIND $ids AS id
MATCH (d:ExpertDecision)-[:IN_CASE]->(:Case {id: id})
RETURN id AS case_id,
       CASE d.outcome WHEN 'accepted' THEN coalesce(d.action, d.recommended_action)
                      ELSE d.action END AS action
"""


def features(row: dict[str, Any]) -> frozenset[str]:
    """Give a case's feature set from its evidence kinds, event kinds and party roles."""
    return frozenset(
        [f"evidence:{k}" for k in row["evidence"] if k]
        + [f"event:{k}" for k in row["events"] if k]
        + [f"role:{r}" for r in row["roles"] if r]
    )


def following(events: Sequence[str], point: Sequence[str]) -> str | None:
    """Give the activity in ``events`` after the point the sequence ``point`` stopped at.

    The point is the last occurrence of ``point``'s last activity at or before the same
    position; without one, the activity at the same position.
    """
    position = len(point)
    if point:
        last = point[-1]
        spots = [i for i, kind in enumerate(events) if kind == last]
        if spots:
            before = [i for i in spots if i <= position - 1] or spots[:1]
            position = before[-1] + 1
    return events[position] if position < len(events) else None


def similar_actions(graph: Graph, case_id: str, k: int = 5) -> list[dict[str, Any]]:
    """Give [{action, cases, count}] done in the ``k`` closed cases most like ``case_id``."""
    found = graph.read(CASE_FEATURES, case_id=case_id)
    if not found:
        raise CaseNotFound(f"no case '{case_id}'", [{"case": case_id}])
    target = found[0]
    mine = sorted(features(target))
    if not mine:
        return []  # nothing to compare a case without evidence, events or parties by
    nearest = graph.read(NEAREST_CLOSED, type=target["type"], case_id=case_id, mine=mine, k=k)
    if not nearest:
        return []
    decided: dict[str, list[str]] = defaultdict(list)
    for row in graph.read(EXPERT_ACTIONS, ids=[row["id"] for row in nearest]):
        if row["action"]:
            decided[row["case_id"]].append(row["action"])
    by_action: dict[str, list[str]] = defaultdict(list)
    for row in nearest:
        actions = decided.get(row["id"])
        if not actions:
            after = following(row["events"], target["events"])
            actions = [after] if after else []
        for action in dict.fromkeys(actions):
            by_action[action].append(row["id"])
    ranked = sorted(by_action.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"action": a, "cases": ids, "count": len(ids)} for a, ids in ranked]
