"""The demo shows the loop: its experts override one playbook rule often enough that the rules
page suggests a change to it at the default thresholds, without lowering them."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from service.demo import decisions as demo_decisions
from service.demo.cases import generate_set, write_demo
from service.graph.db import Graph
from service.recommend import mining
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings
from tests.graphs import KNOWLEDGE

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

DECIDED = """
MATCH (c:Case)<-[:FOR]-(r:Recommendation)
WHERE c.id STARTS WITH $prefix AND r.status IN ['accepted', 'overridden']
RETURN r.playbook AS playbook, r.rule AS rule, r.status AS status
"""


def test_demo_experts_override_one_rule_enough_for_a_suggestion(graph: Graph) -> None:
    prefix = f"d{uuid.uuid4().hex[:8]}-"
    data = generate_set(500, 7, prefix=prefix)  # what `casewise demo load` makes
    write_demo(graph, data)
    playbooks = PlaybookRegistry.load(KNOWLEDGE)
    open_cases = [c for c in data.cases if c.status != "closed"][:60]
    assert demo_decisions.expert_history(graph, playbooks, open_cases) > 0

    # Mining reads the whole graph, where other tests decide too: the demo's own decisions are
    # counted here as mining counts them on a fresh `make run` graph.
    rows = graph.read(DECIDED, prefix=prefix)
    decided = Counter((r["playbook"], r["rule"]) for r in rows)
    overridden = Counter((r["playbook"], r["rule"]) for r in rows if r["status"] == "overridden")
    (playbook, rule), count = overridden.most_common(1)[0]
    defaults = Settings()
    assert count >= defaults.suggest_min_decisions
    assert count / decided[(playbook, rule)] >= defaults.suggest_min_rate
    suggested = [
        key
        for key, n in overridden.items()
        if n / decided[key] >= defaults.suggest_min_rate
        and decided[key] >= defaults.suggest_min_decisions
    ]
    assert suggested == [(playbook, rule)], (decided, overridden)  # one rule stands out

    catalogue = {a.id: tuple(a.case_types) for a in playbooks.actions.values()}
    found = mining.suggest(
        graph,
        KNOWLEDGE / "playbooks",
        set(catalogue),
        min_rate=0.0,
        min_decisions=1,
        case_types=catalogue,
        playbook=playbook,
    )
    suggestion = next(s for s in found if s.rule == rule)
    reasons = [r["reason"] for r in suggestion.reasons]
    assert mining.normalise_reason(demo_decisions.DISPUTED_REASON) in reasons
    assert suggestion.diff  # a change that loads
