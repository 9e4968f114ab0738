"""Experts accepting or overriding a recommendation; what the recommender learns from.

Each decision is one transaction: the checks, an ``ExpertDecision`` (by an ``Expert``, on the
``Recommendation``, in the ``Case``) and an ``Event`` of the action taken, so the action shows
in the case's timeline. A recommendation is decided once; no call changes or deletes a
decision. An action taken whose catalogue entry declares an ``effect`` (raise the priority, set
the status, give the case to a team) is carried out in the same transaction, as an event of its
own just after it.

Errors (``CasewiseError`` subclasses, which the HTTP layer renders with their status)::

    RecommendationNotFound   404 not-found        no such recommendation for the case
    InvalidFeedback          422 invalid-input    a short reason, an unknown or unfitting action
    AlreadyDecided           409 already-decided  an expert decided on it before
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, LiteralString

import neo4j
from neo4j import exceptions as neo4j_errors

from service.graph import lifecycle
from service.graph.cases import CaseNotFound
from service.graph.db import Graph
from service.graph.reads import plain
from service.kernel.errors import CasewiseError
from service.recommend.catalogue import Action

MIN_REASON_WORDS = 3


class RecommendationNotFound(CasewiseError):
    """The case has no recommendation with that id."""

    code = "not-found"
    status = 404


class InvalidFeedback(CasewiseError):
    """An override whose action or reason cannot be recorded."""

    code = "invalid-input"
    status = 422


class AlreadyDecided(CasewiseError):
    """An expert has decided on the recommendation already."""

    code = "already-decided"
    status = 409


RECOMMENDATION_STATE: LiteralString = """
MATCH (c:Case {id: $case_id})
OPTIONAL MATCH (r:Recommendation {id: $rid})-[:FOR]->(c)
OPTIONAL MATCH (d:ExpertDecision)-[:ON]->(r)
RETURN c.type AS case_type, r.action AS action, r.rule AS rule, r.playbook AS playbook,
       r IS NOT NULL AS found, collect(d.id) AS decisions
"""

# The decision id is derived from the recommendation's, and ExpertDecision.id is unique: of two
# experts deciding at the same moment, the second one's CREATE fails and is answered 409.
RECORD_DECISION: LiteralString = """
MATCH (c:Case {id: $case_id})
MATCH (r:Recommendation {id: $rid})-[:FOR]->(c)
MERGE (x:Expert {id: $expert})
  ON CREATE SET x.name = $expert
CREATE (d:ExpertDecision {
  id: $decision_id, outcome: $outcome, recommended_action: r.action, action: $action,
  reason: $reason, rule: r.rule, playbook: r.playbook, case_type: c.type, at: $at
})
CREATE (x)-[:DECIDED]->(d), (d)-[:ON]->(r), (d)-[:IN_CASE]->(c)
SET r.status = $outcome, c.revision = coalesce(c.revision, 0) + 1,
    c.event_seq = coalesce(c.event_seq, 0) + 1
MERGE (e:Event {id: $event_id})
  ON CREATE SET e.kind = $action, e.at = $at, e.actor = $expert, e.attributes = $attributes,
                e.seq = c.event_seq
MERGE (e)-[:IN_CASE]->(c)
RETURN d {.*, expert: x.id, recommendation_id: r.id, case_id: c.id, event_id: e.id} AS decision
"""


def decision_id(rid: str) -> str:
    """Give the id of the (one) expert decision on recommendation ``rid``."""
    return "dec-" + hashlib.sha1(rid.encode()).hexdigest()[:16]


def accept(
    graph: Graph,
    case_id: str,
    rid: str,
    expert: str,
    *,
    catalogue: Mapping[str, Action] | None = None,
) -> dict[str, Any]:
    """Record that ``expert`` took the recommended action, and carry out its effect (by the
    ``catalogue``); give the decision, with ``effect``: what changed on the case."""
    return _decide(graph, case_id, rid, expert, "accepted", None, None, None, catalogue or {})


def override(
    graph: Graph,
    case_id: str,
    rid: str,
    expert: str,
    action: str,
    reason: str,
    *,
    catalogue: Mapping[str, Action],
) -> dict[str, Any]:
    """Record that ``expert`` took ``action`` instead, for ``reason``; give the decision."""
    words = re.findall(r"\w+", reason)
    if len(words) < MIN_REASON_WORDS:
        raise InvalidFeedback(
            f"the reason must say in at least {MIN_REASON_WORDS} words why the recommendation "
            "was overridden",
            [{"field": "reason", "message": f"at least {MIN_REASON_WORDS} words", "value": reason}],
        )
    if action not in catalogue:
        raise InvalidFeedback(
            f"unknown action {action!r}; use one of the catalogue: {', '.join(sorted(catalogue))}",
            [{"field": "action", "message": "not in the action catalogue", "value": action}],
        )
    return _decide(
        graph, case_id, rid, expert, "overridden", action, reason, catalogue[action], catalogue
    )


def _decide(
    graph: Graph,
    case_id: str,
    rid: str,
    expert: str,
    outcome: str,
    action: str | None,
    reason: str | None,
    chosen: Action | None,
    catalogue: Mapping[str, Action],
) -> dict[str, Any]:
    did = decision_id(rid)
    at = dt.datetime.now(dt.UTC)

    def work(tx: neo4j.ManagedTransaction) -> dict[str, Any]:
        state = tx.run(RECOMMENDATION_STATE, case_id=case_id, rid=rid).single()
        if state is None:
            raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
        if not state["found"]:
            raise RecommendationNotFound(
                f"case {case_id!r} has no recommendation {rid!r}; "
                f"GET /v1/cases/{case_id}/recommendations lists them",
                [{"recommendation_id": rid}],
            )
        if state["decisions"]:
            raise AlreadyDecided(
                f"recommendation {rid!r} was decided already ({state['decisions'][0]}); "
                "a decision is never changed",
                [{"recommendation_id": rid, "decision_id": state["decisions"][0]}],
            )
        taken = action or str(state["action"])
        if chosen is not None:
            if not chosen.applies_to(str(state["case_type"])):
                raise InvalidFeedback(
                    f"action {taken!r} does not apply to {state['case_type']} cases "
                    f"(it applies to: {', '.join(chosen.case_types)})",
                    [{"field": "action", "message": "not for this case type", "value": taken}],
                )
            if taken == state["action"]:
                raise InvalidFeedback(
                    f"{taken!r} is the recommended action; accept the recommendation instead",
                    [{"field": "action", "message": "the recommended action", "value": taken}],
                )
        attributes = {"recommendation": rid, "decision": did, "outcome": outcome}
        if reason is not None:
            attributes["reason"] = reason
        params = {
            "case_id": case_id,
            "rid": rid,
            "expert": expert,
            "decision_id": did,
            "outcome": outcome,
            "action": taken,
            "reason": reason,
            "at": at,
            "event_id": f"{case_id}:{did}",
            "attributes": json.dumps(attributes, sort_keys=True, separators=(",", ":")),
        }
        try:
            record = tx.run(RECORD_DECISION, params).single(strict=True)
        except neo4j_errors.ConstraintError as exc:
            raise AlreadyDecided(
                f"recommendation {rid!r} was decided already; a decision is never changed",
                [{"recommendation_id": rid, "decision_id": did}],
            ) from exc
        decision: dict[str, Any] = plain(record["decision"])
        taken_action = catalogue.get(taken)
        effects = taken_action.effects if taken_action is not None else {}
        decision["effect"] = (
            lifecycle.change_in(tx, case_id, effects, expert, at=at, because=taken)
            if effects
            else {}
        )
        return decision

    return graph.transaction(work)
