"""The Cypher the pages read with: the worklist (pending recommendations, top action, sorting)."""

from __future__ import annotations

from typing import LiteralString

from service.graph.queries import CASE_FILTER

# The filters of GET /v1/cases, and the cases a search found ($ids; null: no search).
WORKLIST_FILTER: LiteralString = CASE_FILTER + "  AND ($ids IS NULL OR c.id IN $ids)\n"

WORKLIST_COUNT: LiteralString = WORKLIST_FILTER + "RETURN count(c) AS total\n"

_ROWS: LiteralString = """
WITH c, (c.status <> 'closed' AND c.due_at IS NOT NULL AND c.due_at < $now) AS overdue,
  coalesce(c.assignee = $me, false) AS mine,
  COLLECT { MATCH (r:Recommendation)-[:FOR]->(c) WHERE r.status = 'open'
            RETURN r.action ORDER BY r.score DESC, r.action } AS advice
WITH c, overdue, mine, advice, size(advice) AS pending
RETURN c {.id, .type, .status, .priority, .opened_at, .due_at, .assignee, .team} AS case,
  overdue, mine, pending, head(advice) AS top
"""

# The orders a person may choose, by column; "triage" (the default): the signed-in expert's
# own cases first, then overdue, then priority (1 most urgent), then the earliest deadline; a
# search's results in the order found ($rank).
SORTS: dict[str, LiteralString] = {
    "triage": "mine DESC, overdue DESC, c.priority, c.due_at IS NULL, c.due_at, c.id",
    "relevance": "$rank[c.id], c.id",
    "id": "c.id",
    "type": "c.type, c.id",
    "status": "c.status, c.id",
    "priority": "c.priority, c.due_at IS NULL, c.due_at, c.id",
    "due": "c.due_at IS NULL, c.due_at, c.priority, c.id",
    "assignee": "c.assignee IS NULL, c.assignee, c.id",
    "pending": "pending DESC, c.priority, c.id",
}
SORTS_DESC: dict[str, LiteralString] = {
    "triage": "mine, overdue, c.priority DESC, c.due_at IS NOT NULL, c.due_at DESC, c.id DESC",
    "relevance": "$rank[c.id] DESC, c.id DESC",
    "id": "c.id DESC",
    "type": "c.type DESC, c.id",
    "status": "c.status DESC, c.id",
    "priority": "c.priority DESC, c.due_at IS NULL, c.due_at, c.id",
    "due": "c.due_at IS NOT NULL, c.due_at DESC, c.priority, c.id",
    "assignee": "c.assignee IS NOT NULL, c.assignee DESC, c.id",
    "pending": "pending, c.priority, c.id",
}
_PAGE: LiteralString = """
SKIP $offset
LIMIT $limit
"""


def worklist_query(sort: str, descending: bool) -> LiteralString:
    """Give the worklist's statement in the order of column ``sort`` (a key of SORTS)."""
    order = (SORTS_DESC if descending else SORTS)[sort]
    return WORKLIST_FILTER + _ROWS + "ORDER BY " + order + _PAGE


# Who a case may be handed to: the experts who decided or hold cases (the page checks the name
# against the users when the form is sent).
COLLEAGUES: LiteralString = """
MATCH (x:Expert) RETURN x.id AS name
UNION
MATCH (c:Case) WHERE c.assignee IS NOT NULL AND c.status <> 'closed'
RETURN DISTINCT c.assignee AS name
"""

CASE_TYPES: LiteralString = """
MATCH (c:Case)
RETURN DISTINCT c.type AS type
ORDER BY type
LIMIT 200
"""

# --- the dashboard: every figure from the graph, over the decisions made since $since -------

# A decision escalated if it opened a case (or is to: its case waits in the spool).
_ESCALATED: LiteralString = (
    "coalesce(d.case_opened, false) OR EXISTS { MATCH (d)-[:OPENED]->(:Case) }"
)

# The routing figures take a `$since` always (the window's start, or store.EARLIEST for all of
# it), so that a window is a range seek on the `at` index: `$since IS NULL OR ...` made every
# dashboard read the whole decision log, however short its window.
ROUTING_BY_RULESET: LiteralString = (
    """
MATCH (d:RoutingDecision)
WHERE d.at >= $since
WITH d, """
    + _ESCALATED
    + """ AS escalated
RETURN d.ruleset AS ruleset, count(*) AS decisions,
  count(CASE WHEN escalated THEN 1 END) AS escalated,
  percentileCont(d.duration_ms, 0.5) AS p50, percentileCont(d.duration_ms, 0.95) AS p95,
  percentileCont(d.duration_ms, 0.99) AS p99, count(d.duration_ms) AS timed
ORDER BY decisions DESC, ruleset
"""
)

ROUTING_BY_DAY: LiteralString = (
    """
MATCH (d:RoutingDecision)
WHERE d.at >= $since
WITH date(d.at) AS day, """
    + _ESCALATED
    + """ AS escalated
RETURN day, count(*) AS decisions, count(CASE WHEN escalated THEN 1 END) AS escalated
ORDER BY day
"""
)

EXPERT_DECISIONS: LiteralString = """
MATCH (x:ExpertDecision)
WHERE $since IS NULL OR x.at >= $since
RETURN x.recommended_action AS action, x.playbook AS playbook, x.rule AS rule,
  x.outcome AS outcome, count(*) AS n
"""

# Reasons are grouped as written, ignoring case and surrounding spaces.
OVERRIDE_REASONS: LiteralString = """
MATCH (x:ExpertDecision {outcome: 'overridden'})
WHERE ($since IS NULL OR x.at >= $since) AND x.reason IS NOT NULL
WITH toLower(trim(x.reason)) AS key, x
RETURN key, head(collect(x.reason)) AS reason, count(*) AS n,
  collect(DISTINCT x.recommended_action)[..3] AS instead_of,
  collect(DISTINCT x.action)[..3] AS taken
ORDER BY n DESC, reason
LIMIT $limit
"""

CYCLE_TIMES: LiteralString = """
MATCH (c:Case {status: 'closed'})
WHERE c.closed_at IS NOT NULL AND c.opened_at IS NOT NULL
  AND ($since IS NULL OR c.closed_at >= $since)
WITH c.type AS type, duration.inSeconds(c.opened_at, c.closed_at).seconds / 86400.0 AS days
RETURN type, count(*) AS closed, percentileCont(days, 0.5) AS p50,
  percentileCont(days, 0.9) AS p90, avg(days) AS mean
ORDER BY type
"""

OPEN_BY_TYPE: LiteralString = """
MATCH (c:Case)
WHERE c.status <> 'closed'
RETURN c.type AS type, count(*) AS open,
  count(CASE WHEN c.due_at IS NOT NULL AND c.due_at < $now THEN 1 END) AS overdue
ORDER BY type
"""
