"""The demo's history of routine decisions: real decisions, spread over time, escalations closed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from service.demo.decisions import NO_ACTION_BELOW, decision_history
from service.engine import Registry
from service.graph import escalation

RULES = Path(__file__).parents[2] / "rules"  # the example rules `make run` serves
AS_OF = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def registry() -> Registry:
    reg = Registry()
    assert reg.load_dir(RULES) == []
    return reg


def test_history_is_real_decisions_of_every_ruleset_over_the_window() -> None:
    reg = registry()
    history = decision_history(reg, 40, seed=3, days=30, as_of=AS_OF)
    by_ruleset = {r["ruleset"] for r in history.records}
    assert by_ruleset == set(reg.names())
    assert len({r["id"] for r in history.records}) == len(history.records)
    times = [dt.datetime.fromisoformat(r["at"]) for r in history.records]
    assert times == sorted(times)
    assert AS_OF - dt.timedelta(days=30) <= times[0] and times[-1] <= AS_OF
    for rec in history.records[:50]:
        ruleset = reg.get(rec["ruleset"])
        day = dt.datetime.fromisoformat(rec["at"]).date()
        again = ruleset.evaluate(rec["input"], today=day).to_dict()
        assert again["outputs"] == rec["outputs"] and again["version"] == rec["version"]


def test_escalations_open_cases_and_old_ones_are_closed_by_amount() -> None:
    history = decision_history(registry(), 300, seed=7, days=60, as_of=AS_OF)
    opened = [r for r in history.records if r["case_opened"]]
    assert opened, "the invoice rules escalate some large suspicious invoices"
    for rec in opened:
        assert rec["case_id"] == escalation.case_id_for(rec["id"])
        assert escalation.wants_case(rec["outputs"])
    closed = [r for r in opened if r["case_id"] in history.closings]
    assert closed and len(closed) < len(opened) + 1
    for rec in closed:
        outcome = history.closings[rec["case_id"]].outcome
        expected = "no_action" if rec["input"]["amount"] < NO_ACTION_BELOW else "fraud-confirmed"
        assert outcome == expected
        assert AS_OF - dt.datetime.fromisoformat(rec["at"]) > dt.timedelta(days=7)


def test_same_seed_same_history() -> None:
    first = decision_history(registry(), 20, seed=5, as_of=AS_OF)
    second = decision_history(registry(), 20, seed=5, as_of=AS_OF)
    strip = [{k: v for k, v in r.items() if k != "duration_ms"} for r in first.records]
    assert strip == [{k: v for k, v in r.items() if k != "duration_ms"} for r in second.records]
