"""A demo history of routine decisions and of experts' decisions, for the dashboard and mining.

``decision_history`` decides inputs drawn around each ruleset's example tests (the numbers
scaled at random) on days of the last ``days`` days, with the real engine, and gives them as
the decision log records them. Decisions that open a case open it as the log does (the
``case-<decision id>`` cases); those opened more than a week before ``as_of`` are closed: as
"no_action" when the amount was below ``NO_ACTION_BELOW`` (so `casewise rules suggest` has a
routing rule to narrow), else as "fraud-confirmed".

``expert_history`` asks the recommender about some open demo cases and accepts or overrides
the advice as experts would, with reasons, so the dashboard's acceptance figures and the
override mining have something to show.

Routine decision ids are derived from the seed and an index, so writing the same history again
adds nothing; experts decide on the advice as it stands, so a second run may decide more.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from service.decisionlog import records, store
from service.engine import DecisionError, InputError, Registry, Ruleset
from service.engine.testing import example_inputs
from service.graph import escalation
from service.graph.cases import close_case
from service.graph.db import Graph
from service.graph.models import CaseIn, CloseIn
from service.recommend import feedback
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend

NO_ACTION_BELOW = 60_000
CLOSE_AFTER = dt.timedelta(days=7)
DEMO_EXPERTS = ("expert", "jordan", "priya")
OVERRIDE_REASONS = (
    "customer already sent these documents",
    "known customer, long good history",
    "amount too small to refer",
    "duplicate of a case handled last week",
)
# How often the demo's experts override the rule they disagree with; any other rule they
# override once in every OTHER_OVERRIDE_EVERY of its decisions (so never as often as to suggest).
DISPUTED_OVERRIDE = 0.9
OTHER_OVERRIDE_EVERY = 4
DISPUTED_REASON = "known customer, long good history"


@dataclass
class DemoDecisions:
    """What a demo history holds: decision records, and the cases to close afterwards."""

    records: list[dict[str, Any]] = field(default_factory=list)
    closings: dict[str, CloseIn] = field(default_factory=dict)


def _vary(value: Any, rng: random.Random) -> Any:
    """Scale the numbers of an example input at random; keep everything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return max(0, round(value * rng.uniform(0.4, 1.8)))
    if isinstance(value, float):
        return max(0.0, round(value * rng.uniform(0.4, 1.8), 2))
    if isinstance(value, dict):
        return {k: _vary(v, rng) for k, v in value.items()}
    return value


def decision_history(
    registry: Registry,
    per_ruleset: int = 300,
    seed: int = 7,
    *,
    days: int = 60,
    as_of: dt.datetime | None = None,
    prefix: str = "",
) -> DemoDecisions:
    """Decide ``per_ruleset`` varied example inputs of every ruleset, spread over ``days``."""
    rng = random.Random(seed)
    now = as_of or dt.datetime.now(dt.UTC)
    out = DemoDecisions()
    for ruleset in registry:
        inputs = example_inputs(ruleset.path)
        if not inputs:
            continue
        for index in range(per_ruleset):
            at = now - dt.timedelta(seconds=rng.uniform(0, days * 86_400))
            data = _vary(rng.choice(inputs), rng)
            decision_id = f"{prefix}demo-{ruleset.name}-{seed}-{index:05d}"
            made = _decide(ruleset, data, at, decision_id)
            if made is None:
                continue
            record, case_id = made
            out.records.append(record)
            if case_id is not None and now - at > CLOSE_AFTER:
                amount = data.get("amount") if isinstance(data.get("amount"), int | float) else 0
                outcome = "no_action" if amount < NO_ACTION_BELOW else "fraud-confirmed"
                closed_at = at + dt.timedelta(days=rng.uniform(1, 6))
                out.closings[case_id] = CloseIn(outcome=outcome, closed_at=closed_at)
    out.records.sort(key=lambda r: str(r["at"]))
    return out


def _decide(
    ruleset: Ruleset, data: dict[str, Any], at: dt.datetime, decision_id: str
) -> tuple[dict[str, Any], str | None] | None:
    try:
        decision = ruleset.evaluate(data, today=at.date(), decision_id=decision_id).to_dict()
    except (InputError, DecisionError):
        return None  # a scaled number left the schema's range: draw another
    case_id = (
        escalation.case_id_for(decision_id) if escalation.wants_case(decision["outputs"]) else None
    )
    record = records.record(decision, data, "demo", case_id, at)
    return record, case_id


def _batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_decisions(graph: Graph, history: DemoDecisions, batch_size: int = 500) -> int:
    """Write the records as the decision log does, then close the cases due; give the count."""
    for chunk in _batches(history.records, batch_size):
        store.write(graph, chunk)
    for case_id, closing in history.closings.items():
        close_case(graph, case_id, closing)
    return len(history.records)


def expert_history(
    graph: Graph, playbooks: PlaybookRegistry, cases: list[CaseIn], seed: int = 7
) -> int:
    """Accept or override the top recommendation of each case, as the demo's experts; give
    how many decisions were recorded (a recommendation decided before is skipped).

    The experts disagree with one rule: the one that recommends most often in these cases.
    They override it nearly always, choosing the same other action for the same reason, so
    that ``/rules`` shows its suggestion after ``demo load`` at the default thresholds
    (CASEWISE_SUGGEST_MIN_DECISIONS, CASEWISE_SUGGEST_MIN_RATE). Other rules they mostly
    accept, overriding each at a rate that never makes a suggestion.
    """
    rng = random.Random(seed)
    advised = []
    for case in cases:
        advice = recommend(graph, playbooks, playbooks.actions, case.id)
        if advice:
            advised.append((case, advice[0]))
    counts = Counter((top["playbook"], top["rule"]) for _, top in advised)
    disputed = counts.most_common(1)[0][0] if counts else None
    recorded = 0
    seen: Counter[tuple[str, str]] = Counter()
    for case, top in advised:
        expert = rng.choice(DEMO_EXPERTS)
        alternatives = sorted(
            a.id
            for a in playbooks.actions.values()
            if a.id != top["action"] and a.applies_to(case.type) and not a.closes_case
        )
        key = (top["playbook"], top["rule"])
        against = key == disputed
        seen[key] += 1
        if against:
            override = rng.random() < DISPUTED_OVERRIDE
        else:
            override = seen[key] % OTHER_OVERRIDE_EVERY == 0
        try:
            if not override or not alternatives:
                feedback.accept(graph, case.id, top["id"], expert)
            else:
                other = alternatives[0] if against else rng.choice(alternatives)
                reason = DISPUTED_REASON if against else rng.choice(OVERRIDE_REASONS)
                feedback.override(
                    graph, case.id, top["id"], expert, other, reason, catalogue=playbooks.actions
                )
        except (feedback.AlreadyDecided, feedback.InvalidFeedback):
            continue
        recorded += 1
    return recorded
