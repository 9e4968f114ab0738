"""What the pages show, gathered from the graph, the recommender and the rule registries.

Plain functions from the app's parts to template values; the routes in ``pages`` call them
in the thread pool, as every graph call is blocking.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from service.engine import Problem, Registry, Ruleset
from service.engine.livefiles import FileStatus
from service.engine.testing import SuiteResult, run_suite
from service.graph import reads
from service.graph.db import Graph
from service.graph.reads import plain
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend
from service.web import queries as q

PAGE_SIZE = 25
STATUSES = ("open", "pending", "closed")


@dataclass(frozen=True)
class Filters:
    """The worklist's filters as the GET form sends them (an empty field is no filter)."""

    type: str | None = None
    status: str | None = "open"
    due_before: dt.date | None = None
    mine: bool = False
    page: int = 1

    def query(self, page: int | None = None) -> dict[str, str]:
        """Give the query string of these filters (on ``page``) for a link."""
        out = {
            "type": self.type or "",
            "status": self.status or "",
            "due_before": self.due_before.isoformat() if self.due_before else "",
        }
        if self.mine:
            out["mine"] = "1"
        out["page"] = str(page or self.page)
        return out


def worklist(
    graph: Graph, filters: Filters, now: dt.datetime, user: str | None = None
) -> dict[str, Any]:
    """Give a page of cases (overdue first, then priority and deadline) with the filters.

    ``user`` is who is signed in: "assigned to me" keeps the cases assigned to them.
    """
    due = (
        dt.datetime.combine(filters.due_before, dt.time(), tzinfo=dt.UTC)
        if filters.due_before
        else None
    )
    assignee = (user or "") if filters.mine else None
    params = {
        "type": filters.type,
        "status": filters.status,
        "due_before": due,
        "assignee": assignee,
    }
    offset = (filters.page - 1) * PAGE_SIZE
    total = graph.read(q.WORKLIST_COUNT, **params)[0]["total"]
    rows = graph.read(q.WORKLIST, **params, now=now, offset=offset, limit=PAGE_SIZE)
    types = [r["type"] for r in graph.read(q.CASE_TYPES) if r["type"]]
    return {
        "rows": [
            {**plain(r["case"]), "overdue": r["overdue"], "pending": r["pending"]} for r in rows
        ],
        "total": total,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "previous": filters.query(filters.page - 1) if filters.page > 1 else None,
        "next": filters.query(filters.page + 1) if offset + len(rows) < total else None,
        "types": types,
    }


def _picture() -> Callable[[Graph, str], Markup] | None:
    """Give ``service.web.picture.neighbourhood_svg`` if that module is there, else None."""
    try:
        module = importlib.import_module("service.web.picture")
    except ModuleNotFoundError as exc:
        if exc.name != "service.web.picture":
            raise
        return None
    draw: Callable[[Graph, str], Markup] | None = getattr(module, "neighbourhood_svg", None)
    return draw


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
    draw = _picture()
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
        "picture": draw(graph, case_id) if draw is not None else None,
        "picture_available": draw is not None,
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
