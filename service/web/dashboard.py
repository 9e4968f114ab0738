"""The dashboard: is automation working, are the recommendations taken, how long do cases take.

Every figure is read from the graph when the page is asked for — routing decisions from the
decision log (``RoutingDecision``), acceptance and overrides from ``ExpertDecision``, cycle time
from closed cases — so nothing resets when the service restarts. ``?days=N`` picks the window
(7, 30, 90 or 365 days; ``all`` for everything); the default is 30 days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.decisionlog import store
from service.graph.db import Graph
from service.http.deps import get_graph
from service.http.errors import ApiError
from service.http.templating import render
from service.web import charts
from service.web import queries as q

router = APIRouter(include_in_schema=False)

WINDOWS = ("7", "30", "90", "365", "all")
DEFAULT_WINDOW = "30"
TOP_REASONS = 10
# More days than this are drawn a column per week.
MOST_DAY_COLUMNS = 92


@dataclass(frozen=True)
class Rate:
    """``part`` of ``whole``, as the page shows it."""

    part: int
    whole: int

    @property
    def share(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def __str__(self) -> str:
        share = self.share
        return "–" if share is None else f"{share:.0%}"


def window(value: str | None) -> str:
    """Check ``?days=``: one of WINDOWS (422 naming the value otherwise)."""
    chosen = (value or DEFAULT_WINDOW).strip() or DEFAULT_WINDOW
    if chosen not in WINDOWS:
        detail = {"field": "days", "message": f"one of {', '.join(WINDOWS)}", "value": chosen}
        raise ApiError(422, "invalid-input", f"invalid days: {chosen!r}", [detail])
    return chosen


def since_of(chosen: str, now: dt.datetime) -> dt.datetime | None:
    return None if chosen == "all" else now - dt.timedelta(days=int(chosen))


def gather(graph: Graph, chosen: str, now: dt.datetime) -> dict[str, Any]:
    """Give every figure the dashboard shows for the window ``chosen`` ending ``now``."""
    since = since_of(chosen, now)
    start = since or store.EARLIEST
    routing = [_routing_row(r) for r in graph.read(q.ROUTING_BY_RULESET, since=start)]
    days = graph.read(q.ROUTING_BY_DAY, since=start)
    by_action, by_rule = _acceptance(graph.read(q.EXPERT_DECISIONS, since=since))
    reasons = graph.read(q.OVERRIDE_REASONS, since=since, limit=TOP_REASONS)
    cycle = [dict(r) for r in graph.read(q.CYCLE_TIMES, since=since)]
    open_cases = [dict(r) for r in graph.read(q.OPEN_BY_TYPE, now=now)]
    total = sum(r["decisions"] for r in routing)
    escalated = sum(r["escalated"] for r in routing)
    decided = sum(r["decided"] for r in by_action)
    accepted = sum(r["accepted"].part for r in by_action)
    return {
        "window": chosen,
        "windows": WINDOWS,
        "since": since,
        "totals": {
            "decisions": total,
            "automation": Rate(total - escalated, total),
            "escalation": Rate(escalated, total),
            "expert_decisions": decided,
            "acceptance": Rate(accepted, decided),
            "override": Rate(decided - accepted, decided),
            "closed": sum(r["closed"] for r in cycle),
        },
        "routing": routing,
        "by_action": by_action,
        "by_rule": by_rule,
        "reasons": [dict(r) for r in reasons],
        "cycle": cycle,
        "open_cases": open_cases,
        "charts": _charts(routing, days, by_action, cycle),
    }


def _routing_row(row: Any) -> dict[str, Any]:
    decisions, escalated = row["decisions"], row["escalated"]
    return {
        "ruleset": row["ruleset"],
        "decisions": decisions,
        "escalated": escalated,
        "automation": Rate(decisions - escalated, decisions),
        "escalation": Rate(escalated, decisions),
        "p50": row["p50"],
        "p95": row["p95"],
        "p99": row["p99"],
        "timed": row["timed"],
    }


def _acceptance(rows: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Group expert decisions by recommended action, and by playbook rule."""
    actions: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rules: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        accepted = row["n"] if row["outcome"] == "accepted" else 0
        for counts in (actions[row["action"]], rules[(row["playbook"], row["rule"])]):
            counts[0] += row["n"]
            counts[1] += accepted

    def entry(decided: int, accepted: int) -> dict[str, Any]:
        return {
            "decided": decided,
            "accepted": Rate(accepted, decided),
            "overridden": Rate(decided - accepted, decided),
        }

    by_action = [{"action": a, **entry(*c)} for a, c in actions.items()]
    by_rule = [{"playbook": p, "rule": r, **entry(*c)} for (p, r), c in rules.items()]
    by_action.sort(key=lambda e: (-e["decided"], e["action"]))
    by_rule.sort(key=lambda e: (-e["decided"], e["playbook"], e["rule"]))
    return by_action, by_rule


def _charts(
    routing: list[dict[str, Any]],
    days: list[Any],
    by_action: list[dict[str, Any]],
    cycle: list[dict[str, Any]],
) -> dict[str, Any]:
    labels, automated, escalated = _per_period(days)
    return {
        "volume": charts.columns(
            "Routine decisions over time",
            labels,
            [("decided by rules", automated), ("opened a case", escalated)],
        ),
        "automation": charts.bars(
            "Automation rate per ruleset",
            [
                charts.Bar(r["ruleset"], r["automation"].share or 0.0, str(r["automation"]))
                for r in routing
            ],
            maximum=1.0,
        ),
        "acceptance": charts.bars(
            "Recommendations accepted, by action",
            [
                charts.Bar(
                    a["action"],
                    a["accepted"].share or 0.0,
                    f"{a['accepted']} of {a['decided']}",
                    "warn" if (a["accepted"].share or 0.0) < 0.5 else "",
                )
                for a in by_action
            ],
            maximum=1.0,
        ),
        "cycle": charts.bars(
            "Median days from opening to closing, by case type",
            [charts.Bar(c["type"], c["p50"], f"{c['p50']:.1f} days") for c in cycle],
        ),
    }


def _per_period(days: list[Any]) -> tuple[list[str], list[float], list[float]]:
    """Decisions per day (per ISO week when there are too many days), automated and escalated."""
    rows = [(r["day"].to_native(), r["decisions"], r["escalated"]) for r in days]
    if len(rows) > MOST_DAY_COLUMNS:
        weeks: dict[str, list[int]] = {}
        for day, decisions, escalated in rows:
            year, week, _ = day.isocalendar()
            counts = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
            counts[0] += decisions
            counts[1] += escalated
        items = [(label, c[0], c[1]) for label, c in weeks.items()]
    else:
        items = [(day.isoformat(), decisions, escalated) for day, decisions, escalated in rows]
    labels = [label for label, _, _ in items]
    return (
        labels,
        [float(d - e) for _, d, e in items],
        [float(e) for _, _, e in items],
    )


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    """Routine decisions, recommendations taken or overridden, case cycle time."""
    chosen = window(request.query_params.get("days"))
    graph = await run_in_threadpool(get_graph, request)
    now = dt.datetime.now(dt.UTC)
    data = await run_in_threadpool(gather, graph, chosen, now)
    return render(request, "dashboard.html", now=now, **data)
