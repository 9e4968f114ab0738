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
RETURN c {.id, .type, .status, .priority, .opened_at, .due_at} AS case, overdue,
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
