"""Every Cypher statement Casewise runs against the case graph, as named constants.

Writes take ``$rows`` (one map per element) and ``UNWIND`` them, so a batch is one statement per
kind of element; every node is ``MERGE``d on its client id (or its normalised value for an
identifier), so sending the same rows twice changes nothing. Labels and relationship types are
fixed in the text, never taken from input: where they depend on the data there is one statement
per label (``MERGE_IDENTIFIERS``).
"""

from __future__ import annotations

from typing import LiteralString

# --- checks run inside the writing transaction, before the writes ------------------------

CASES_FOUND: LiteralString = """
UNWIND $ids AS id
MATCH (c:Case {id: id})
RETURN c.id AS id
"""

PARTIES_FOUND: LiteralString = """
UNWIND $ids AS id
MATCH (p:Party {id: id})
RETURN p.id AS id, p.kind AS kind
"""

# An event or evidence id belongs to one case: a client reusing it for another case is a mistake.
EVENTS_IN_OTHER_CASES: LiteralString = """
UNWIND $rows AS row
MATCH (e:Event {id: row.id})-[:IN_CASE]->(c:Case)
WHERE c.id <> row.case
RETURN e.id AS id, c.id AS case
"""

EVIDENCE_IN_OTHER_CASES: LiteralString = """
UNWIND $rows AS row
MATCH (e:Evidence {id: row.id})-[:SUPPORTS|CONTRADICTS]->(c:Case)
WHERE c.id <> row.case
RETURN e.id AS id, c.id AS case
"""

# --- writes -------------------------------------------------------------------------------

# A case that is not closed has no outcome: an upsert that reopens a case clears them. Who
# created the case (the API key's name) is kept from its creation: it scopes what a key sees.
UPSERT_CASES: LiteralString = """
UNWIND $rows AS row
MERGE (c:Case {id: row.id})
ON CREATE SET c.created_by = row.created_by
WITH c, row, properties(c) AS before
SET c.type = row.type,
    c.status = row.status,
    c.opened_at = row.opened_at,
    c.due_at = row.due_at,
    c.priority = row.priority,
    c.assignee = coalesce(row.assignee, c.assignee),
    c.attributes = row.attributes,
    c.outcome = CASE WHEN row.status = 'closed' THEN c.outcome END,
    c.closed_at = CASE WHEN row.status = 'closed' THEN c.closed_at END,
    c.close_reason = CASE WHEN row.status = 'closed' THEN c.close_reason END
WITH c, before
WHERE properties(c) <> before
SET c.revision = coalesce(c.revision, 0) + 1
"""

# ``flagged`` only ever goes from false to true: a later payload that does not know about the
# flag (and so sends the default, false) must not clear what another source found.
_MERGE_PARTY_HEAD: LiteralString = """
UNWIND $rows AS row
MATCH (c:Case {id: row.case})
MERGE (p:Party {id: row.id})
WITH c, p, row, properties(p) AS before
"""
_MERGE_PARTY_TAIL: LiteralString = """
    p.kind = row.kind,
    p.name = row.name,
    p.flagged = coalesce(p.flagged, false) OR row.flagged,
    p.attributes = row.attributes
MERGE (p)-[:PARTY_TO {role: row.role}]->(c)
  ON CREATE SET c.revision = coalesce(c.revision, 0) + 1
WITH c, p, before
WHERE properties(p) <> before
SET c.revision = coalesce(c.revision, 0) + 1
"""
MERGE_PERSONS: LiteralString = _MERGE_PARTY_HEAD + "SET p:Person," + _MERGE_PARTY_TAIL
MERGE_ORGANISATIONS: LiteralString = _MERGE_PARTY_HEAD + "SET p:Organisation," + _MERGE_PARTY_TAIL

MERGE_IDENTIFIERS: dict[str, LiteralString] = {
    "address": """
UNWIND $rows AS row
MATCH (p:Party {id: row.party})
MERGE (i:Address {value: row.value})
MERGE (p)-[:HAS_ADDRESS]->(i)
""",
    "phone": """
UNWIND $rows AS row
MATCH (p:Party {id: row.party})
MERGE (i:Phone {value: row.value})
MERGE (p)-[:HAS_PHONE]->(i)
""",
    "email": """
UNWIND $rows AS row
MATCH (p:Party {id: row.party})
MERGE (i:Email {value: row.value})
MERGE (p)-[:HAS_EMAIL]->(i)
""",
    "bank_account": """
UNWIND $rows AS row
MATCH (p:Party {id: row.party})
MERGE (i:BankAccount {value: row.value})
MERGE (p)-[:HAS_ACCOUNT]->(i)
""",
}

# The relationship to the case is SUPPORTS or CONTRADICTS by ``row.effect``; a changed effect
# replaces the old relationship, an unchanged one is left as it is.
MERGE_EVIDENCE: LiteralString = """
UNWIND $rows AS row
MATCH (c:Case {id: row.case})
MERGE (e:Evidence {id: row.id})
WITH c, e, row, properties(e) AS before
SET e.kind = row.kind,
    e.received_at = row.received_at,
    e.verified = row.verified,
    e.source = row.source,
    e.effect = row.effect,
    e.description = row.description
WITH c, e, row, before
OPTIONAL MATCH (e)-[old:SUPPORTS|CONTRADICTS]->(c)
WHERE type(old) <> CASE row.effect WHEN 'supports' THEN 'SUPPORTS' ELSE 'CONTRADICTS' END
DELETE old
FOREACH (_ IN CASE WHEN row.effect = 'supports' THEN [1] ELSE [] END |
    MERGE (e)-[:SUPPORTS]->(c))
FOREACH (_ IN CASE WHEN row.effect = 'contradicts' THEN [1] ELSE [] END |
    MERGE (e)-[:CONTRADICTS]->(c))
WITH DISTINCT c, e, before
WHERE properties(e) <> before
SET c.revision = coalesce(c.revision, 0) + 1
"""

MERGE_CONCERNS: LiteralString = """
UNWIND $rows AS row
MATCH (e:Evidence {id: row.evidence})
MATCH (p:Party {id: row.party})
MERGE (e)-[:CONCERNS]->(p)
"""

# A write bumps the case's ``revision`` only when it changes something (the recommendations
# are refreshed for cases changed since: service/recommend/refresh.py); the same rows sent
# twice change nothing.
# Rows come in the order they happened (the file's or the caller's order within equal times):
# a new event takes the case's next sequence number, so reads order by time, then ``seq``.
MERGE_EVENTS: LiteralString = """
UNWIND $rows AS row
MATCH (c:Case {id: row.case})
MERGE (e:Event {id: row.id})
ON CREATE SET c.event_seq = coalesce(c.event_seq, 0) + 1, e.seq = c.event_seq,
              c.revision = coalesce(c.revision, 0) + 1
SET e.kind = row.kind,
    e.at = row.at,
    e.actor = row.actor,
    e.attributes = row.attributes
MERGE (e)-[:IN_CASE]->(c)
"""

# Closing again without a closed_at keeps the first closing time, so a retry changes nothing;
# a case reopened and closed again keeps each closing (its own event) in its timeline.
# The routing decision that opened the case (if one did) gets its outcome and closing time in
# the same write, for the routing-rule suggestions (service/recommend/routing.py).
CLOSE_CASE: LiteralString = """
MATCH (c:Case {id: $id})
WITH c, coalesce($closed_at, CASE WHEN c.status = 'closed' THEN c.closed_at END, $now) AS closed_at,
     CASE WHEN c.status = 'closed' THEN coalesce(c.closings, 1) ELSE coalesce(c.closings, 0) + 1
     END AS closings,
     c.status = 'closed' AND coalesce(c.outcome, '') = $outcome
       AND coalesce(c.close_reason, '') = coalesce($reason, '') AS same
SET c.closed_at = closed_at,
    c.closings = closings,
    c.status = 'closed',
    c.outcome = $outcome,
    c.close_reason = $reason,
    c.revision = coalesce(c.revision, 0) + CASE WHEN same THEN 0 ELSE 1 END
MERGE (e:Event {id: $event_id + CASE closings WHEN 1 THEN '' ELSE ':' + toString(closings) END})
ON CREATE SET c.event_seq = coalesce(c.event_seq, 0) + 1, e.seq = c.event_seq
SET e.kind = 'closed',
    e.at = closed_at,
    e.actor = $actor,
    e.attributes = $attributes
MERGE (e)-[:IN_CASE]->(c)
WITH c
OPTIONAL MATCH (d:RoutingDecision)-[:OPENED]->(c)
FOREACH (_ IN CASE WHEN d IS NULL THEN [] ELSE [1] END |
  SET d.case_outcome = c.outcome, d.case_closed_at = c.closed_at)
WITH DISTINCT c
RETURN c.id AS id, c.status AS status, c.outcome AS outcome, c.closed_at AS closed_at,
       c.close_reason AS reason
"""

# --- reads --------------------------------------------------------------------------------

# Explicit projections, so that a property never set (due_at, outcome) comes back as null.
_CASE: LiteralString = """c {.id, .type, .status, .priority, .opened_at, .due_at, .attributes,
    .outcome, .closed_at, .close_reason, .assignee, .team}"""
_EVENT: LiteralString = "e {.id, .kind, .at, .actor, .attributes, .seq}"
_EVIDENCE: LiteralString = """e {.id, .kind, .received_at, .verified, .source, .effect,
    .description"""

# Assigning to the person already assigned changes nothing and adds no event; every change of
# assignee is an event of kind 'assigned' (or 'unassigned') in the case's timeline.
ASSIGN_CASE: LiteralString = """
MATCH (c:Case {id: $id})
WITH c, coalesce(c.assignee, '') <> coalesce($assignee, '') AS changed
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
  SET c.assignee = $assignee, c.assigned_at = $at, c.revision = coalesce(c.revision, 0) + 1,
      c.event_seq = coalesce(c.event_seq, 0) + 1
  MERGE (e:Event {id: $event_id})
    ON CREATE SET e.kind = CASE WHEN $assignee IS NULL THEN 'unassigned' ELSE 'assigned' END,
                  e.at = $at, e.actor = $actor, e.attributes = $attributes, e.seq = c.event_seq
  MERGE (e)-[:IN_CASE]->(c))
RETURN c.id AS id, c.assignee AS assignee, changed
"""

CASE_EXISTS: LiteralString = """
MATCH (c:Case {id: $id})
RETURN c.id AS id
"""

# The filters of GET /v1/cases and of the worklist page.
CASE_FILTER: LiteralString = """
MATCH (c:Case)
WHERE ($type IS NULL OR c.type = $type)
  AND ($status IS NULL OR c.status = $status)
  AND ($due_before IS NULL OR c.due_at < $due_before)
  AND ($assignee IS NULL OR c.assignee = $assignee)
"""

COUNT_CASES: LiteralString = CASE_FILTER + "RETURN count(c) AS total\n"

# The cases a caller may see: every case ($scope_all), or (an API key scoped to rulesets) the
# cases opened by decisions of its rulesets and the cases it created (``created_by``).
IN_SCOPE: LiteralString = """($scope_all OR c.created_by = $scope_creator
  OR EXISTS { MATCH (d:RoutingDecision)-[:OPENED]->(c) WHERE d.ruleset IN $scope_rulesets })"""

SCOPED_FILTER: LiteralString = CASE_FILTER + "  AND " + IN_SCOPE + "\n"

COUNT_SCOPED_CASES: LiteralString = SCOPED_FILTER + "RETURN count(c) AS total\n"

# Of the given case ids, those in the graph and in the caller's scope.
CASES_IN_SCOPE: LiteralString = (
    """
UNWIND $ids AS id
MATCH (c:Case {id: id})
WHERE """
    + IN_SCOPE
    + """
RETURN c.id AS id
"""
)

# Of the given party ids, those of parties to a case out of the caller's scope: a scoped key
# that named one would change (and then read) another case's party.
PARTIES_OUT_OF_SCOPE: LiteralString = (
    """
UNWIND $ids AS id
MATCH (p:Party {id: id})-[:PARTY_TO]->(c:Case)
WHERE NOT """
    + IN_SCOPE
    + """
RETURN DISTINCT p.id AS id
"""
)

# Of the given case ids, those in the graph but out of the caller's scope.
CASES_OUT_OF_SCOPE: LiteralString = (
    """
UNWIND $ids AS id
MATCH (c:Case {id: id})
WHERE NOT """
    + IN_SCOPE
    + """
RETURN c.id AS id
"""
)

# Most pressing first: the earliest due date (cases without one last), then priority.
LIST_CASES: LiteralString = (
    SCOPED_FILTER
    + """
RETURN """
    + _CASE
    + """ AS case
ORDER BY c.due_at IS NULL, c.due_at, c.priority, c.opened_at, c.id
SKIP $offset
LIMIT $limit
"""
)

IDENTIFIER_KIND: LiteralString = """
CASE WHEN i:Address THEN 'address' WHEN i:Phone THEN 'phone'
     WHEN i:Email THEN 'email' ELSE 'bank_account' END
"""

GET_CASE: LiteralString = (
    """
MATCH (c:Case {id: $id})
RETURN """
    + _CASE
    + """ AS case,
  COLLECT {
    MATCH (p:Party)-[r:PARTY_TO]->(c)
    WITH p, collect(r.role) AS roles
    RETURN p {.id, .kind, .name, .flagged, .attributes, roles: roles,
      identifiers: COLLECT {
        MATCH (p)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->(i)
        RETURN {kind: """
    + IDENTIFIER_KIND
    + """, value: i.value} AS identifier
        ORDER BY identifier.kind, identifier.value
      }}
    ORDER BY p.id
  } AS parties,
  COLLECT {
    MATCH (e:Evidence)-[:SUPPORTS|CONTRADICTS]->(c)
    RETURN """
    + _EVIDENCE
    + """, concerns: COLLECT {
      MATCH (e)-[:CONCERNS]->(p:Party) RETURN p.id ORDER BY p.id
    }}
    ORDER BY e.received_at, e.id
  } AS evidence,
  COLLECT {
    MATCH (e:Event)-[:IN_CASE]->(c)
    RETURN """
    + _EVENT
    + """
    ORDER BY e.at, coalesce(e.seq, 0), e.id
  } AS events,
  COLLECT {
    MATCH (d:RoutingDecision)-[:OPENED]->(c)
    RETURN d {.id, .ruleset, .version, .at}
    ORDER BY d.at, d.id
  } AS decisions
"""
)

# The timeline's three kinds of entry, merged and ordered by time in Python.
TIMELINE: LiteralString = (
    """
MATCH (c:Case {id: $id})
RETURN
  COLLECT { MATCH (e:Event)-[:IN_CASE]->(c) RETURN """
    + _EVENT
    + """ } AS events,
  COLLECT {
    MATCH (e:Evidence)-[r:SUPPORTS|CONTRADICTS]->(c)
    RETURN """
    + _EVIDENCE
    + """, concerns: COLLECT { MATCH (e)-[:CONCERNS]->(p:Party) RETURN p.id ORDER BY p.id }}
  } AS evidence,
  COLLECT { MATCH (d:RoutingDecision)-[:OPENED]->(c) RETURN d {.*} } AS decisions
"""
)

# One step of the link search: the cases linked directly to any case in $frontier, by a shared
# party or by two parties sharing an identifier, leaving out the cases already reached.
LINKED_CASES: LiteralString = (
    """
UNWIND $frontier AS source
MATCH (s:Case {id: source})<-[:PARTY_TO]-(p:Party)-[:PARTY_TO]->(c:Case)
WHERE NOT c.id IN $reached
RETURN DISTINCT source, """
    + _CASE
    + """ AS case,
  [{kind: CASE WHEN p:Person THEN 'Person' ELSE 'Organisation' END,
    id: p.id, name: p.name, flagged: p.flagged}] AS via
UNION
UNWIND $frontier AS source
MATCH (s:Case {id: source})<-[:PARTY_TO]-(p:Party)
      -[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->(i)
      <-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]-(q:Party)-[:PARTY_TO]->(c:Case)
WHERE q <> p AND NOT c.id IN $reached
RETURN DISTINCT source, """
    + _CASE
    + """ AS case,
  [{kind: CASE WHEN p:Person THEN 'Person' ELSE 'Organisation' END,
    id: p.id, name: p.name, flagged: p.flagged},
   {kind: head([l IN labels(i) WHERE l IN ['Address', 'Phone', 'Email', 'BankAccount']]),
    value: i.value},
   {kind: CASE WHEN q:Person THEN 'Person' ELSE 'Organisation' END,
    id: q.id, name: q.name, flagged: q.flagged}] AS via
"""
)
