"""Scores learned from experts: a playbook's base weight scaled by how often experts agree.

For each (case type, action, rule) the acceptance rate has a Beta(2, 2) prior; the expert
decisions on its recommendations update it (accepted: a success, overridden: a failure). The
score is ``base_weight * posterior_mean / prior_mean``: 1.0 times the base weight before any
decision, lower as experts override it, higher as they accept it.

The action an expert took instead of a recommendation counts as a success of that action
under the pseudo-rule ``(expert)``; every rule's recommendation of that action shares those
successes, so the actions experts choose rise even when no rule recommended them before.
"""

from __future__ import annotations

from typing import LiteralString

from service.graph.db import Graph

PRIOR_ACCEPTED = 2.0
PRIOR_OVERRIDDEN = 2.0
PRIOR_MEAN = PRIOR_ACCEPTED / (PRIOR_ACCEPTED + PRIOR_OVERRIDDEN)
EXPERT_RULE = "(expert)"
"""The rule under which an action chosen by an expert (instead of a recommendation) counts."""

Counts = dict[tuple[str, str], tuple[int, int]]
"""(action, rule) -> (accepted, overridden)."""

DECISION_COUNTS: LiteralString = """
MATCH (d:ExpertDecision {case_type: $case_type})
RETURN d.outcome AS outcome, d.recommended_action AS recommended, d.rule AS rule,
       d.action AS taken, count(*) AS n
"""


def learned_counts(graph: Graph, case_type: str) -> Counts:
    """Give the accepted and overridden counts of each (action, rule) in ``case_type`` cases."""
    counts: dict[tuple[str, str], list[int]] = {}
    for row in graph.read(DECISION_COUNTS, case_type=case_type):
        n = int(row["n"])
        key = (str(row["recommended"]), str(row["rule"]))
        if row["outcome"] == "accepted":
            counts.setdefault(key, [0, 0])[0] += n
        elif row["outcome"] == "overridden":
            counts.setdefault(key, [0, 0])[1] += n
            if row["taken"]:
                counts.setdefault((str(row["taken"]), EXPERT_RULE), [0, 0])[0] += n
    return {key: (accepted, overridden) for key, (accepted, overridden) in counts.items()}


def posterior_mean(accepted: int, overridden: int) -> float:
    """Give the mean acceptance rate after ``accepted`` and ``overridden`` decisions."""
    return (PRIOR_ACCEPTED + accepted) / (PRIOR_ACCEPTED + PRIOR_OVERRIDDEN + accepted + overridden)


def evidence_for(counts: Counts, action: str, rule: str) -> tuple[int, int]:
    """Give the (accepted, overridden) counts behind ``action`` as recommended by ``rule``."""
    accepted, overridden = counts.get((action, rule), (0, 0))
    if rule != EXPERT_RULE:
        accepted += counts.get((action, EXPERT_RULE), (0, 0))[0]
    return accepted, overridden


def score(base_weight: float, counts: Counts, action: str, rule: str) -> float:
    """Give the learned score of ``action`` recommended by ``rule`` with ``base_weight``."""
    accepted, overridden = evidence_for(counts, action, rule)
    return round(base_weight * posterior_mean(accepted, overridden) / PRIOR_MEAN, 6)
