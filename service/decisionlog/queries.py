"""The decision log's Cypher: batched idempotent writes, and the reads of GET /v1/decisions."""

from __future__ import annotations

from typing import LiteralString

# One row per spooled record. The first record written for a decision id wins: a later record
# with the same id (another caller's, or another input's, under a reused Idempotency-Key) changes
# nothing, as the node is only set ON CREATE and the rest of the write goes on only for the record
# that created it (``record_digest``). The same record written twice (a crash between the Neo4j
# commit and the spool's deletion, or the request path and the flusher) still leaves one decision,
# one DECIDED_BY and one OPENED, as those MERGE. The case (escalation.case_fields) is created with
# its decision, also for a decision answered while Neo4j was down. case_outcome / case_closed_at
# are never touched here.
WRITE_DECISIONS: LiteralString = """
UNWIND $rows AS row
MERGE (d:RoutingDecision {id: row.id})
ON CREATE SET d += row.props, d += row.out, d.at = datetime(row.at)
WITH d, row
WHERE d.record_digest = row.props.record_digest
MERGE (v:RulesetVersion {hash: row.version})
ON CREATE SET v.name = row.props.ruleset, v.kind = 'ruleset'
MERGE (d)-[:DECIDED_BY]->(v)
WITH d, row
WHERE row.case IS NOT NULL
MERGE (c:Case {id: row.case.id})
ON CREATE SET c.type = row.case.type,
              c.status = 'open',
              c.opened_at = datetime(row.at),
              c.priority = row.case.priority,
              c.attributes = row.case.attributes
MERGE (d)-[:OPENED]->(c)
"""

_DECISION: LiteralString = """d {.id, .ruleset, .version, .input, .outputs, .values, .fired, .facts,
    .caller, .duration_ms, .case_outcome,
    at: toString(d.at),
    case_closed_at: toString(d.case_closed_at),
    case_id: coalesce(d.case_id, head([(d)-[:OPENED]->(c:Case) | c.id])),
    decided_by: head([(d)-[:DECIDED_BY]->(v:RulesetVersion) | v.hash])}"""

GET_DECISION: LiteralString = (
    """
MATCH (d:RoutingDecision {id: $id})
RETURN """
    + _DECISION
    + " AS decision\n"
)

# Newest first; the cursor is the (at, id) of the last decision of the previous page. The time
# bounds are always given (open ones as far past / far future), so that they are a range seek
# on the `at` index read newest first, and a page stops after `limit` matches.
# An output filter compares the property `output.<field>`, the JSON text of that output.
LIST_DECISIONS: LiteralString = (
    """
MATCH (d:RoutingDecision)
WHERE d.at >= $since AND d.at < $until AND d.at <= $upto
  AND ($after_id IS NULL OR d.at < $upto OR d.id < $after_id)
  AND ($ruleset IS NULL OR d.ruleset = $ruleset)
  AND ($rulesets IS NULL OR d.ruleset IN $rulesets)
  AND ($version IS NULL OR d.version = $version)
  AND ($case_opened IS NULL OR EXISTS { (d)-[:OPENED]->(:Case) } = $case_opened)
  AND all(f IN $outputs WHERE d[f.key] = f.value)
WITH d
ORDER BY d.at DESC, d.id DESC
LIMIT $limit
RETURN """
    + _DECISION
    + " AS decision, d.at AS sort_at\n"
)
