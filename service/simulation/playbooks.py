"""Simulating a candidate playbook against the experts' decisions on past recommendations.

For every recommendation an expert accepted or overrode (``ExpertDecision -[:ON]->
Recommendation -[:FOR]-> Case``, of the candidate's playbook), the candidate is run on the
case's facts and the report says:

- overridden recommendations the candidate would no longer make (good: experts did not want
  them), and how many of those it would replace with the action the expert chose;
- accepted recommendations the candidate would no longer make (bad: experts wanted them).

The facts are **recomputed from the graph as it is now** by the candidate's own fact queries
(checked first by the sandbox of ``service.recommend.facts``: they must parse, only read and
stay inside the case graph; each case's run is bounded by ``limits``): the graph keeps no
history of facts. A Recommendation stores only the facts its rule read when it was made
(``Recommendation.facts``); those values are put back over the recomputed ones, so the facts
that made the original rule fire are as they were. The others may have moved on since (the
action the expert took is now an event of the case, for one), which can make a candidate rule
that reads them behave differently than it would have then.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, LiteralString

import orjson

from service.engine import InputError, Ruleset
from service.engine.errors import DecisionError, Problem
from service.engine.simulate import EXAMPLES, SimulationError
from service.graph.db import Graph
from service.recommend import facts as fact_queries

PAGE = 500

EXPERT_DECISIONS: LiteralString = """
MATCH (x:ExpertDecision {playbook: $playbook})-[:ON]->(r:Recommendation)-[:FOR]->(c:Case)
WHERE x.outcome IN ['accepted', 'overridden']
  AND ($since IS NULL OR x.at >= $since)
  AND ($until IS NULL OR x.at < $until)
  AND ($after_at IS NULL OR x.at > $after_at OR (x.at = $after_at AND x.id > $after_id))
RETURN x.id AS id, x.outcome AS outcome, x.recommended_action AS recommended,
       x.action AS action, x.rule AS rule, x.at AS at, r.id AS recommendation,
       r.facts AS facts, r.version AS version, c.id AS case_id
ORDER BY x.at, x.id
LIMIT $page
"""


@dataclass
class _Examples:
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, example: dict[str, Any]) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "examples": self.examples}


@dataclass
class PlaybookReport:
    """What the candidate playbook would have recommended where experts decided."""

    playbook: str
    candidate_version: str
    replayed: int = 0
    accepted: int = 0
    overridden: int = 0
    overridden_not_made: _Examples = field(default_factory=_Examples)
    overridden_now_chosen: _Examples = field(default_factory=_Examples)
    accepted_lost: _Examples = field(default_factory=_Examples)
    rejected: _Examples = field(default_factory=_Examples)
    versions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("overridden_not_made", "overridden_now_chosen", "accepted_lost", "rejected"):
            out[key] = getattr(self, key).to_dict()
        return out


def expert_decisions(
    graph: Graph,
    playbook: str,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
    page: int = PAGE,
) -> Iterator[dict[str, Any]]:
    """Give the expert decisions on ``playbook``'s recommendations, oldest first, a page at a
    time."""
    after_at: object = None
    after_id: str | None = None
    left = limit
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        rows = graph.read(
            EXPERT_DECISIONS,
            playbook=playbook,
            since=since,
            until=until,
            after_at=after_at,
            after_id=after_id,
            page=size,
        )
        yield from rows
        if len(rows) < size:
            return
        after_at, after_id = rows[-1]["at"], rows[-1]["id"]
        if left is not None:
            left -= len(rows)


def _day(at: Any) -> dt.date | None:
    native = at.to_native() if hasattr(at, "to_native") else at
    return native.date() if isinstance(native, dt.datetime) else None


class CandidateRefused(SimulationError):
    """The sandbox refuses the candidate's fact queries; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            "the candidate's fact queries cannot be run: " + "; ".join(str(p) for p in problems)
        )
        self.problems = problems


def check_candidate(graph: Graph, candidate: Ruleset) -> None:
    """Raise SimulationError unless ``candidate`` is a playbook whose fact queries the sandbox
    allows (CandidateRefused, with the problems, if it refuses them)."""
    if candidate.kind != "playbook":
        raise SimulationError(f"{candidate.path} is not a playbook")
    problems = fact_queries.check_queries(graph, candidate)
    if problems:
        raise CandidateRefused(problems)


def simulate_playbook(
    graph: Graph,
    candidate: Ruleset,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    limits: fact_queries.FactLimits | None = None,
) -> PlaybookReport:
    """Replay the experts' decisions on ``candidate``'s recommendations; give the report.

    A fact query that fails or times out stops the replay with its FactQueryError.
    """
    check_candidate(graph, candidate)
    started = time.perf_counter()
    report = PlaybookReport(candidate.name, candidate.version)
    versions: dict[str, int] = {}
    facts_of: dict[str, dict[str, Any]] = {}  # per case: recomputed once
    for row in expert_decisions(graph, candidate.name, since=since, until=until, limit=limit):
        report.replayed += 1
        if progress is not None:
            progress(1)
        version = row["version"] or ""
        versions[version] = versions.get(version, 0) + 1
        case_id = row["case_id"]
        if case_id not in facts_of:
            facts_of[case_id] = fact_queries.fetch(graph, candidate, case_id, limits).values
        values = dict(facts_of[case_id])
        stored = orjson.loads(row["facts"]) if row["facts"] else {}
        values.update({k: v for k, v in stored.items() if k in candidate.inputs})
        example = {
            "decision": row["id"],
            "case": case_id,
            "rule": row["rule"],
            "recommended": row["recommended"],
            "chosen": row["action"],
        }
        if row["outcome"] == "accepted":
            report.accepted += 1
        else:
            report.overridden += 1
        try:
            decision = candidate.evaluate(values, today=_day(row["at"]))
        except (InputError, DecisionError) as exc:
            report.rejected.add({**example, "error": str(exc)})
            continue
        actions = {rec["action"] for rec in decision.outputs.get("recommendations", [])}
        if row["outcome"] == "accepted":
            if row["recommended"] not in actions:
                report.accepted_lost.add(example)
        elif row["recommended"] not in actions:
            report.overridden_not_made.add(example)
            if row["action"] in actions:
                report.overridden_now_chosen.add(example)
    report.versions = dict(sorted(versions.items(), key=lambda item: -item[1]))
    report.seconds = round(time.perf_counter() - started, 3)
    return report
