"""The recommended next actions of a case, ranked, with the reason and the facts behind each.

``recommend`` reads the case, runs its type's playbook on the facts the playbook's queries
give, drops what does not apply (an action already taken that is not repeatable, an action the
catalogue does not allow for the case type, a recommendation an expert already decided on),
scores what is left with the expert decisions learned so far, words its reasons
(``reasons.py``: the identifiers shared, the linked cases' outcomes, the evidence by name), and
records each recommendation as a ``Recommendation`` node: its id is derived from (case, rule,
action), so asking again updates the same nodes. A recommendation no longer made (the case
changed, or closed) is ``withdrawn`` until it is made again, so the open ones are exactly what
the playbook says now. The case keeps the ``revision`` it was recommended at
(``recommended_revision``), so the background refresh (``refresh.py``) knows which cases changed
since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import string
from collections.abc import Mapping
from typing import Any, LiteralString

from service.engine import InputError, Ruleset
from service.graph.cases import CaseNotFound
from service.graph.db import Graph
from service.kernel import metrics
from service.kernel.errors import CasewiseError
from service.recommend import facts as fact_queries
from service.recommend import reasons, scoring
from service.recommend.catalogue import Action
from service.recommend.playbooks import PlaybookRegistry

CASE_STATE: LiteralString = """
MATCH (c:Case {id: $case_id})
RETURN c.type AS type, c.status AS status, coalesce(c.revision, 0) AS revision,
       coalesce(c.linked_revision, 0) AS linked,
       COLLECT { MATCH (e:Event)-[:IN_CASE]->(c) RETURN DISTINCT e.kind } AS taken,
       COLLECT { MATCH (r:Recommendation)-[:FOR]->(c)
                 WHERE r.status IN ['accepted', 'overridden'] RETURN r.id } AS decided
"""

# A recommendation an expert decided on keeps what it said when it was decided.
MERGE_RECOMMENDATIONS: LiteralString = """
UNWIND $rows AS row
MATCH (c:Case {id: row.case_id})
MERGE (r:Recommendation {id: row.id})
  ON CREATE SET r.status = 'open', r.created_at = row.now
SET r.status = CASE r.status WHEN 'withdrawn' THEN 'open' ELSE r.status END
FOREACH (_ IN CASE WHEN r.status = 'open' THEN [1] ELSE [] END |
  SET r.action = row.action, r.rule = row.rule, r.playbook = row.playbook,
      r.version = row.version, r.base_weight = row.base_weight, r.score = row.score,
      r.rationale = row.rationale, r.trigger = row.trigger, r.reasons = row.reasons,
      r.facts = row.facts, r.evidence = row.evidence,
      r.computed_at = row.now)
MERGE (r)-[:FOR]->(c)
RETURN r.id AS id, r.status AS status, r.created_at AS created_at
"""

# The open recommendations not made now are withdrawn; the case is marked recommended at the
# revision (and the linked revision: a linked case changed, refresh.py) that was read, so a
# change meanwhile leaves it stale, to be recommended again.
SETTLE: LiteralString = """
MATCH (c:Case {id: $case_id})
OPTIONAL MATCH (r:Recommendation {status: 'open'})-[:FOR]->(c)
WHERE NOT r.id IN $keep
SET r.status = 'withdrawn', r.withdrawn_at = $now
WITH DISTINCT c
SET c.recommended_revision = $revision, c.recommended_with = $version,
    c.recommended_linked = $linked
"""


class FactTypeError(CasewiseError):
    """A fact query gave a value that does not fit the fact's declared type (a playbook bug)."""

    code = "internal"
    status = 500


def recommendation_id(case_id: str, rule: str, action: str) -> str:
    """Give the id of the recommendation of ``action`` by ``rule`` in the case: stable."""
    digest = hashlib.sha1(f"{case_id}\x00{rule}\x00{action}".encode()).hexdigest()
    return "rec-" + digest[:16]


class _Facts(string.Formatter):
    """Fills a rationale's {fact} placeholders: lists by their items, missing facts as 'unknown'."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return "unknown"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(super().format_field(value, format_spec))


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Give ``template`` with every {fact} replaced by the fact's value."""
    return _Facts().vformat(template, (), dict(values))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@metrics.RECOMMEND_SECONDS.time()
def recommend(
    graph: Graph, registry: PlaybookRegistry, catalogue: Mapping[str, Action], case_id: str
) -> list[dict[str, Any]]:
    """Give the case's recommended actions, highest score first (CaseNotFound if no case)."""
    rows = graph.read(CASE_STATE, case_id=case_id)
    if not rows:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    case = rows[0]
    playbook = registry.get(str(case["type"]))
    if case["status"] == "closed" or playbook is None:
        return _settle(graph, case_id, case, None, [])
    registry.check(graph)
    playbook = registry.get(str(case["type"]))
    if playbook is None:  # refused by the check of its fact queries
        return _settle(graph, case_id, case, None, [])
    with metrics.FACT_QUERY_SECONDS.time():
        found = fact_queries.fetch(graph, playbook, case_id, registry.limits)
    items = _candidates(playbook, found, catalogue, case, case_id)
    if not items:
        return _settle(graph, case_id, case, playbook.version, [])
    counts = scoring.learned_counts(graph, str(case["type"]))
    for item in items:
        item["score"] = scoring.score(item["base_weight"], counts, item["action"], item["rule"])
    # Two rules recommending one action: the best-scored one speaks for it.
    best: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: (-i["score"], i["rule"])):
        best.setdefault(item["action"], item)
    ranked = sorted(best.values(), key=lambda i: (-i["score"], i["action"]))
    reasons.describe(graph, case_id, str(case["type"]), ranked, counts)
    return _settle(graph, case_id, case, playbook.version, _record(graph, case_id, ranked))


def _settle(
    graph: Graph,
    case_id: str,
    state: Mapping[str, Any],
    version: str | None,
    kept: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Withdraw the open recommendations not in ``kept``, mark the case recommended at the
    revisions in ``state`` (as read before the facts were); give kept."""
    graph.write(
        SETTLE,
        case_id=case_id,
        keep=[item["id"] for item in kept],
        now=dt.datetime.now(dt.UTC),
        revision=state["revision"],
        linked=state["linked"],
        version=version,
    )
    return kept


def _candidates(
    playbook: Ruleset,
    found: fact_queries.FactValues,
    catalogue: Mapping[str, Action],
    case: Mapping[str, Any],
    case_id: str,
) -> list[dict[str, Any]]:
    """Give the playbook's recommendations for these facts that apply to the case."""
    try:
        decision = playbook.evaluate(found.values)
    except InputError as exc:
        raise FactTypeError(
            f"playbook {playbook.name} ({playbook.path}): the fact queries gave values that do "
            f"not fit the facts' types for case {case_id!r}: {exc.details}; fix the queries or "
            "the types"
        ) from exc
    read_by = {f.rule: f.values for f in decision.fired}
    taken = set(case["taken"])
    decided = set(case["decided"])
    items: list[dict[str, Any]] = []
    for rec in decision.outputs.get("recommendations", []):
        action = catalogue.get(rec["action"])
        if action is None or not action.applies_to(str(case["type"])):
            continue
        if action.id in taken and not action.repeatable:
            continue
        rid = recommendation_id(case_id, rec["rule"], action.id)
        if rid in decided:
            continue
        said = fill(rec["rationale"], found.values)  # the rule's words; reasons.py adds names
        items.append(
            {
                "id": rid,
                "action": action.id,
                "label": action.label,
                "score": 0.0,
                "base_weight": float(rec["weight"]),
                "rationale": said,
                "trigger": said,
                "rule": rec["rule"],
                "facts": read_by.get(rec["rule"], {}),
                "evidence": {fact: found.evidence.get(fact, []) for fact in rec["evidence"]},
                "playbook": playbook.name,
                "version": playbook.version,
            }
        )
    return items


def _record(graph: Graph, case_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MERGE the recommendations in one statement; give those still open, with their status."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "case_id": case_id,
            "now": now,
            **{k: item[k] for k in ("id", "action", "rule", "playbook", "version")},
            "base_weight": item["base_weight"],
            "score": item["score"],
            "rationale": item["rationale"],
            "trigger": item["trigger"],
            "reasons": item["reasons"],
            "facts": _json(item["facts"]),
            "evidence": _json(item["evidence"]),
        }
        for item in items
    ]
    written = {r["id"]: r for r in graph.write(MERGE_RECOMMENDATIONS, rows=rows)}
    out = []
    for item in items:
        row = written.get(item["id"])
        if row is None or row["status"] != "open":
            continue  # decided meanwhile
        created = row["created_at"]
        item["status"] = "open"
        item["created_at"] = fact_queries.plain(created)
        out.append(item)
    return out
