"""End to end with the recommender: overrides recorded by feedback become a playbook change.

The playbook is a copy of the complaint playbook under a case type of the test's own (the
catalogue copy applies every action to every type), so the learning of other tests' cases is
not touched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.engine import load_ruleset
from service.graph.cases import upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn
from service.recommend.feedback import accept, override
from service.recommend.mining import catalogue_types, suggest
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend
from tests.graphs import KNOWLEDGE

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

ESCALATE = "escalate-to-complaints-manager"


def knowledge_copy(folder: Path, name: str) -> Path:
    (folder / "playbooks").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "schema.cypher", folder / "schema.cypher")
    actions = (KNOWLEDGE / "actions.yaml").read_text(encoding="utf-8")
    actions = re.sub(r"case_types: \[[^\]]*\]", 'case_types: ["*"]', actions)
    (folder / "actions.yaml").write_text(actions, encoding="utf-8")
    text = (KNOWLEDGE / "playbooks" / "customer-complaint.yaml").read_text(encoding="utf-8")
    text = text.replace("playbook: customer-complaint", f"playbook: {name}", 1)
    (folder / "playbooks" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def open_cases(graph: Graph, p: str, name: str, count: int, first: int = 0) -> list[str]:
    now = datetime.now(UTC)
    cases = [
        CaseIn(id=f"{p}c{n}", type=name, opened_at=now - timedelta(days=2),
               due_at=now + timedelta(days=50))
        for n in range(first, first + count)
    ]  # fmt: skip
    upsert_cases(graph, cases)
    return [c.id for c in cases]


def rec_of(items: list[dict[str, object]], rule: str) -> dict[str, object]:
    return next(i for i in items if i["rule"] == rule)


def test_overridden_recommendations_give_a_change_the_recommender_then_follows(
    graph: Graph, p: str, tmp_path: Path
) -> None:
    name = "complaint-" + p.rstrip("-")
    folder = knowledge_copy(tmp_path / "knowledge", name)
    registry = PlaybookRegistry.load(folder)
    assert not registry.problems and registry.names() == [name]

    ids = open_cases(graph, p, name, 6)
    for n, case_id in enumerate(ids):
        item = rec_of(recommend(graph, registry, registry.actions, case_id), "not-contacted")
        assert item["action"] == "contact-customer"
        rid = str(item["id"])
        if n == 0:
            accept(graph, case_id, rid, f"{p}ann")
        else:
            reason = "Customer already called twice!" if n % 2 else "customer already called twice"
            override(graph, case_id, rid, f"{p}bob", ESCALATE, reason, catalogue=registry.actions)

    catalogue = catalogue_types(folder / "actions.yaml")
    found = [
        s
        for s in suggest(graph, folder / "playbooks", set(catalogue), case_types=catalogue)
        if s.playbook == name
    ]
    assert len(found) == 1
    change = found[0]
    assert (change.rule, change.decisions, change.overridden) == ("not-contacted", 6, 5)
    assert change.alternative == ESCALATE and change.change == "replace-action"
    assert change.reasons == [{"reason": "customer already called twice", "count": 5}]
    assert change.cases == sorted(ids)
    assert change.diff is not None

    subprocess.run(["patch", "-p1", "-s", "-d", str(folder)], input=change.diff, text=True,
                   check=True)  # fmt: skip
    patched = folder / "playbooks" / f"{name}.yaml"
    assert load_ruleset(patched, actions=set(catalogue)).kind == "playbook"
    # the recommender loaded from the changed playbook now recommends what experts chose
    changed = PlaybookRegistry.load(folder)
    assert not changed.problems
    (fresh,) = open_cases(graph, p, name, 1, first=10)
    item = rec_of(recommend(graph, changed, changed.actions, fresh), "not-contacted")
    assert item["action"] == ESCALATE
