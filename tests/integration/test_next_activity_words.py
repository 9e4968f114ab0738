"""The likely next activities a case page shows: learnt ones cite their histories; after an
activity no history continues from, none is shown (no generic guess dressed as learnt)."""

from __future__ import annotations

import datetime as dt

import pytest

from service.graph.cases import upsert_cases
from service.graph.db import Graph
from service.graph.models import CaseIn
from service.web import casework

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def case(p: str, kind: str, n: int, activities: list[str]) -> CaseIn:
    events = [
        {"id": f"{p}c{n}e{i}", "kind": activity, "at": AT + dt.timedelta(days=n, hours=i)}
        for i, activity in enumerate(activities)
    ]
    return CaseIn.model_validate(
        {"id": f"{p}c{n}", "type": kind, "opened_at": AT + dt.timedelta(days=n), "events": events}
    )


def test_after_an_activity_nothing_learnt_follows_no_next_activity_is_claimed(
    graph: Graph, p: str
) -> None:
    kind = f"{p}claim"
    histories = [["registered", "assessed", "paid"]] * 6 + [["registered", "reopened"]]
    upsert_cases(graph, [case(p, kind, n, h) for n, h in enumerate(histories)])
    open_case = {"id": f"{p}c6", "type": kind, "status": "open"}
    after_registered = casework.suggestions(graph, open_case, ["registered"], {})["next"]
    assert after_registered[0]["activity"] == "assessed"
    assert "learnt from 7 case histories" in after_registered[0]["reason"]
    # "reopened" was never followed by anything: no prediction, and so no histories cited
    assert casework.suggestions(graph, open_case, ["registered", "reopened"], {})["next"] == []
