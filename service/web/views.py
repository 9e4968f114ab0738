"""What the pages show, gathered from the graph, the recommender and the rule registries.

Plain functions from the app's parts to template values; the routes in ``pages`` call them
in the thread pool, as every graph call is blocking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.engine import Problem, Registry, Ruleset
from service.engine.livefiles import FileStatus
from service.engine.testing import SuiteResult, run_suite
from service.graph import reads, search
from service.graph.db import Graph
from service.graph.reads import plain
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend
from service.web import queries as q
from service.web.picture.svg import neighbourhood_svg

PAGE_SIZE = 25
STATUSES = ("open", "pending", "closed")
# The worklist's columns a person may sort by, with their headings.
COLUMNS = {
    "id": "Case",
    "type": "Type",
    "status": "Status",
    "priority": "Priority",
    "due": "Due",
    "assignee": "Assigned to",
    "pending": "Pending recommendations",
}
# Every order: by a column, as a worklist ("triage": the expert's own first, then overdue,
# priority, deadline), or a search's best match first ("relevance").
SORTS = (*COLUMNS, "triage", "relevance")


@dataclass(frozen=True)
class Filters:
    """The worklist's filters as the GET form sends them (an empty field is no filter)."""

    type: str | None = None
    status: str | None = "open"
    due_before: dt.date | None = None
    mine: bool = False
    page: int = 1
    q: str = ""  # what was searched for
    sort: str = ""  # a key of COLUMNS; empty: triage order (relevance for a search)
    descending: bool = False

    def query(self, page: int | None = None, **changes: Any) -> dict[str, str]:
        """Give the query string of these filters (on ``page``, with ``changes``) for a link."""
        out = {
            "q": self.q,
            "type": self.type or "",
            "status": self.status or "",
            "due_before": self.due_before.isoformat() if self.due_before else "",
        }
        if self.mine:
            out["mine"] = "1"
        if self.sort:
            out["sort"] = self.sort
            if self.descending:
                out["dir"] = "desc"
        out["page"] = str(page or self.page)
        out.update(changes)
        return {k: v for k, v in out.items() if v != "" or k in {"status"}}

    def sort_link(self, column: str) -> dict[str, str]:
        """Give the query string sorting by ``column`` (again: the other way round)."""
        descending = self.sort == column and not self.descending
        out = self.query(1, sort=column)
        out.pop("dir", None)
        if descending:
            out["dir"] = "desc"
        return out


def due_in(due: str | None, now: dt.datetime, closed: bool) -> str:
    """Say when a deadline falls, as a person would: "due in 3 days", "2 days overdue"."""
    if not due or closed:
        return ""
    at = dt.datetime.fromisoformat(due)
    seconds = (at - now).total_seconds()
    hours = abs(seconds) / 3600
    if hours < 1:
        span = "less than an hour"
    elif hours < 48:
        span = f"{int(hours)} hour{'s' if int(hours) != 1 else ''}"
    else:
        days = int(hours // 24)
        span = f"{days} days"
    return f"due in {span}" if seconds >= 0 else f"{span} overdue"


def worklist(
    graph: Graph,
    filters: Filters,
    now: dt.datetime,
    user: str | None = None,
    labels: dict[str, str] | None = None,
    expert: bool = False,
) -> dict[str, Any]:
    """Give a page of cases (an expert's own first, then overdue, priority and deadline, or
    as sorted, or a search's best first) with the filters.

    ``user`` is who is signed in: "assigned to me" keeps the cases assigned to them, and an
    ``expert`` sees theirs first. ``labels`` names the actions (the catalogue's labels).
    """
    due = (
        dt.datetime.combine(filters.due_before, dt.time(), tzinfo=dt.UTC)
        if filters.due_before
        else None
    )
    assignee = (user or "") if filters.mine else None
    found = search.search(graph, filters.q) if filters.q else None
    params = {
        "type": filters.type,
        "status": filters.status,
        "due_before": due,
        "assignee": assignee,
        "ids": found,
    }
    offset = (filters.page - 1) * PAGE_SIZE
    total = graph.read(q.WORKLIST_COUNT, **params)[0]["total"]
    sort = filters.sort or ("relevance" if found is not None else "triage")
    rank = {case_id: n for n, case_id in enumerate(found or [])}
    rows = graph.read(
        q.worklist_query(sort, filters.descending),
        **params,
        now=now,
        me=user if expert else None,
        rank=rank,
        offset=offset,
        limit=PAGE_SIZE,
    )
    types = [r["type"] for r in graph.read(q.CASE_TYPES) if r["type"]]
    names = labels or {}
    out_rows = []
    for r in rows:
        case = plain(r["case"])
        out_rows.append(
            {
                **case,
                "overdue": r["overdue"],
                "mine": r["mine"],
                "pending": r["pending"],
                "top": names.get(r["top"], r["top"]) if r["top"] else None,
                "due_in": due_in(case.get("due_at"), now, case["status"] == "closed"),
            }
        )
    return {
        "rows": out_rows,
        "searched": found is not None,
        "total": total,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "previous": filters.query(filters.page - 1) if filters.page > 1 else None,
        "next": filters.query(filters.page + 1) if offset + len(rows) < total else None,
        "types": types,
    }


def case_page(
    graph: Graph, playbooks: PlaybookRegistry, case_id: str, link_depth: int
) -> dict[str, Any]:
    """Give everything the case page shows (CaseNotFound, a 404, if there is no such case)."""
    case = reads.get_case(graph, case_id)
    recommendations = recommend(graph, playbooks, playbooks.actions, case_id)
    why_none = None
    if not recommendations:
        if case["status"] == "closed":
            why_none = "The case is closed, so no action is recommended."
        elif playbooks.get(case["type"]) is None:
            why_none = (
                f"There is no playbook for {case['type']} cases "
                f"(knowledge/playbooks/{case['type']}.yaml), so nothing is recommended."
            )
        else:
            why_none = (
                f"No rule of the {case['type']} playbook matched this case's facts, or experts "
                "have decided on every recommendation already."
            )
    alternatives = sorted(
        (a for a in playbooks.actions.values() if a.applies_to(case["type"])),
        key=lambda a: a.label,
    )
    linked = reads.links(graph, case_id, link_depth)
    due = case.get("due_at")
    overdue = bool(
        case["status"] != "closed"
        and due
        and dt.datetime.fromisoformat(due) < dt.datetime.now(dt.UTC)
    )
    return {
        "case": case,
        "overdue": overdue,
        # identifier values through which another case is linked to this one
        "shared": {node["value"] for link in linked for node in link["via"] if "value" in node},
        "timeline": reads.timeline(graph, case_id),
        "links": linked,
        "link_depth": link_depth,
        "recommendations": recommendations,
        "why_none": why_none,
        "alternatives": alternatives,
        "picture": neighbourhood_svg(graph, case_id),
    }


CHANGE_NAMES = {"status": "status", "priority": "priority", "team": "team queue"}


def describe_changes(changed: dict[str, Any], teams: dict[str, str]) -> str:
    """Say what changed on a case, for a banner: "Priority 3 → 2; team queue → SIU"."""
    parts = []
    for key, (before, after) in changed.items():
        if key == "team":
            before, after = teams.get(before, before), teams.get(after, after)
        was = f" {before}" if before not in (None, "") else ""
        now = after if after not in (None, "") else "none"
        parts.append(f"{CHANGE_NAMES.get(key, key).capitalize()}{was} → {now}")
    return "; ".join(parts)


OUTCOMES = ("resolved", "paid", "declined", "fraud-confirmed", "withdrawn", "no-action")


def casework_forms(
    graph: Graph, playbooks: PlaybookRegistry, case: dict[str, Any]
) -> dict[str, Any]:
    """Give what the case's work card offers: colleagues, team queues, outcomes to close with."""
    names = sorted({r["name"] for r in graph.read(q.COLLEAGUES) if r["name"]})
    return {
        "colleagues": names,
        "teams": playbooks.teams,
        "team_label": playbooks.teams.get(case.get("team") or "", case.get("team")),
        "outcomes": OUTCOMES,
        "priorities": (1, 2, 3, 4, 5),
        "open_statuses": ("open", "pending"),
    }


@dataclass
class RuleFile:
    """One rule file or playbook as the rules page lists it, with its last load."""

    name: str
    kind: str
    path: str
    version: str | None = None  # the version serving from the file
    problems: list[Problem] = field(default_factory=list)  # of the last attempt
    state: str = "serving"  # serving, refused or retired
    loaded_at: dt.datetime | None = None
    last_attempt_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        if self.state == "retired":
            return "retired: the file was deleted"
        if self.problems and self.version:
            return "refused: the last change has problems; the last good version serves"
        return "refused" if self.problems else "loaded"


def _files(statuses: Iterable[FileStatus]) -> list[RuleFile]:
    files = [
        RuleFile(
            s.name or Path(s.path).name.split(".")[0],
            s.kind,
            s.path,
            s.version,
            list(s.errors),
            s.state,
            s.loaded_at,
            s.last_attempt_at,
        )
        for s in statuses
    ]
    return sorted(files, key=lambda f: (f.name, f.path))


def rule_files(registry: Registry, playbooks: PlaybookRegistry) -> dict[str, list[RuleFile]]:
    """Give the rulesets and the playbooks (catalogue included), each with its live status."""
    extra = [
        FileStatus(p.path, None, "playbook", "refused", None, (p,))
        for p in playbooks.problems
        if p.path not in {s.path for s in playbooks.statuses()}
    ]  # the folder's own problems (no playbooks folder)
    return {
        "rulesets": _files(registry.statuses()),
        "playbooks": _files(playbooks.statuses() + extra),
    }


def find_ruleset(registry: Registry, playbooks: PlaybookRegistry, name: str) -> Ruleset | None:
    """Give the ruleset called ``name``, else the playbook of that case type, else None."""
    if name in registry.names():
        return registry.get(name)
    return playbooks.get(name)


def ruleset_page(ruleset: Ruleset) -> dict[str, Any]:
    """Give a ruleset's inputs, rules and tables, and the outcome of its example tests."""
    described = ruleset.describe()
    suite: SuiteResult = run_suite(ruleset.path)
    return {
        "ruleset": ruleset,
        "inputs": described["input"],
        "outputs": described["output"],
        "facts": described.get("facts", {}),
        "rules": described["rules"],
        "tables": described["tables"],
        "suite": suite,
    }
