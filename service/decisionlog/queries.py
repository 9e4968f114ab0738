"""The decision log's Cypher: batched idempotent writes, and the reads of GET /v1/decisions."""

from __future__ import annotations

from typing import LiteralString

# The writes take the rows grouped by the ruleset version that made them (``store.by_version``),
# at most one row per id (``store.write_rows`` keeps the first). The first record written for a
# decision id wins, whole: nothing of a later record with that id is written (the same record
# again, after a crash between the Neo4j commit and the spool's deletion; or another node's
# under a reused Idempotency-Key). So a record written twice leaves one decision, one DECIDED_BY
# and one OPENED. The case (escalation.case_fields) is created with its decision, also for a
# decision answered while Neo4j was down. case_outcome and case_closed_at are never touched here.
#
# Shaped for Neo4j's CPU per record (a fifth less than a MERGE of the version per row and a
# second SET): each version is merged once a batch, not once a row (a locking index seek per
# row), and a row's properties are set in one SetNodePropertiesFromMap, its time `at` made in
# the CREATE (a second SET would add an operator and an Eager; sending `at` as a datetime would
# cost the driver's Python more than it saves Neo4j).
#
# CREATE_DECISIONS is the usual write: every id is new, so each row CREATEs its node and
# relationships, with no search of the id index first (that search was a third of Neo4j's CPU
# per record). The unique constraint on RoutingDecision.id makes the transaction fail whole if
# an id is there already, or is created meanwhile by another writer; then the batch is written
# with WRITE_DECISIONS, which leaves out the rows whose id is in the graph (and is written again
# if another writer still creates one of its ids meanwhile).
_VERSION_ROWS: LiteralString = """UNWIND $versions AS version
MERGE (v:RulesetVersion {hash: version.hash})
ON CREATE SET v.name = version.ruleset, v.kind = 'ruleset'
WITH v, version
UNWIND version.rows AS row
"""
_NEW_DECISIONS: LiteralString = """
CREATE (d:RoutingDecision {at: datetime(row.at)})-[:DECIDED_BY]->(v)
SET d += row.props
WITH d, row
WHERE row.case IS NOT NULL
MERGE (c:Case {id: row.case.id})
ON CREATE SET c.type = row.case.type,
              c.status = 'open',
              c.opened_at = d.at,
              c.priority = row.case.priority,
              c.attributes = row.case.attributes
CREATE (d)-[:OPENED]->(c)
"""
CREATE_DECISIONS: LiteralString = _VERSION_ROWS + _NEW_DECISIONS
WRITE_DECISIONS: LiteralString = (
    _VERSION_ROWS
    + """OPTIONAL MATCH (seen:RoutingDecision {id: row.id})
WITH v, row WHERE seen IS NULL
"""
    + _NEW_DECISIONS
)

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
# bounds are always given (open ones as far past / far future), so that a page is a range seek
# read newest first that stops after `limit` matches. Which index it seeks depends on the filter:
# a version's decisions are read from (version, at) and a ruleset's from (ruleset, at), so that
# a page of an old or rare one costs its page, not a walk of the whole log (a page of an old
# version took 25-33 s on a log of 4.8 million decisions when every filter walked `at`); the
# rest (outputs, a scoped key's rulesets, case_opened) filter the decisions the seek gives.
# An output filter compares the property `output.<field>`, the JSON text of that output.
_FILTERS: LiteralString = """ d.at >= $since AND d.at < $until AND d.at <= $upto
  AND ($after_id IS NULL OR d.at < $upto OR d.id < $after_id)
  AND ($ruleset IS NULL OR d.ruleset = $ruleset)
  AND ($rulesets IS NULL OR d.ruleset IN $rulesets)
  AND ($version IS NULL OR d.version = $version)
  AND ($case_opened IS NULL OR EXISTS { (d)-[:OPENED]->(:Case) } = $case_opened)
  AND all(f IN $outputs WHERE d[f.key] = f.value)
WITH d
"""
_PAGE: LiteralString = (
    """LIMIT $limit
RETURN """
    + _DECISION
    + " AS decision, d.at AS sort_at\n"
)
LIST_DECISIONS: LiteralString = (
    "MATCH (d:RoutingDecision)\nWHERE" + _FILTERS + "ORDER BY d.at DESC, d.id DESC\n" + _PAGE
)
# With its first property fixed, the index gives the decisions in the order of `at`; Neo4j's
# PartialTop sorts by id only among equal times, as for the whole log.
LIST_DECISIONS_OF_VERSION: LiteralString = (
    "MATCH (d:RoutingDecision)\n"
    "WHERE d.version = $version AND"
    + _FILTERS
    + "ORDER BY d.version DESC, d.at DESC, d.id DESC\n"
    + _PAGE
)
LIST_DECISIONS_OF_RULESET: LiteralString = (
    "MATCH (d:RoutingDecision)\n"
    "WHERE d.ruleset = $ruleset AND"
    + _FILTERS
    + "ORDER BY d.ruleset DESC, d.at DESC, d.id DESC\n"
    + _PAGE
)
