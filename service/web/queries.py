"""The Cypher the pages read with: the worklist, with pending recommendations per case."""

from __future__ import annotations

from typing import LiteralString

from service.graph.queries import CASE_FILTER, COUNT_CASES

WORKLIST_COUNT = COUNT_CASES  # the same filters as GET /v1/cases

# Overdue first (a closed case is never overdue), then priority (1 most urgent), then the
# earliest deadline; cases without a deadline come last within their priority.
WORKLIST: LiteralString = (
    CASE_FILTER
    + """
WITH c, (c.status <> 'closed' AND c.due_at IS NOT NULL AND c.due_at < $now) AS overdue
RETURN c {.id, .type, .status, .priority, .opened_at, .due_at, .assignee} AS case, overdue,
  COUNT { MATCH (r:Recommendation)-[:FOR]->(c) WHERE r.status = 'open' } AS pending
ORDER BY overdue DESC, c.priority, c.due_at IS NULL, c.due_at, c.id
SKIP $offset
LIMIT $limit
"""
)

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

ROUTING_BY_RULESET: LiteralString = (
    """
MATCH (d:RoutingDecision)
WHERE $since IS NULL OR d.at >= $since
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
WHERE $since IS NULL OR d.at >= $since
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
