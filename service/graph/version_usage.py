"""How much each stored version of a ruleset or playbook was used: decisions or recommendations.

A ruleset version counts the decisions that name it (``DECIDED_BY``, a relationship count the
store keeps per node); a playbook version counts the recommendations made with it.
"""

from __future__ import annotations

from typing import LiteralString

from service.graph.db import Graph

RULESET_DECISIONS: LiteralString = """
UNWIND $hashes AS hash
MATCH (v:RulesetVersion {hash: hash})
RETURN hash, COUNT { (v)<-[:DECIDED_BY]-() } AS used
"""
PLAYBOOK_RECOMMENDATIONS: LiteralString = """
MATCH (r:Recommendation) WHERE r.playbook = $name AND r.version IN $hashes
RETURN r.version AS hash, count(r) AS used
"""


def usage(graph: Graph, name: str, kind: str, hashes: list[str]) -> dict[str, int]:
    """Give, per version hash of ``name``, how many decisions (or recommendations) it made."""
    if not hashes:
        return {}
    if kind == "playbook":
        rows = graph.read(PLAYBOOK_RECOMMENDATIONS, name=name, hashes=hashes)
    else:
        rows = graph.read(RULESET_DECISIONS, hashes=hashes)
    return {row["hash"]: int(row["used"]) for row in rows}
