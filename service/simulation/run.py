"""Running a simulation: a candidate file (or its text) against the graph's history.

Shared by ``casewise rules simulate`` and the rules pages: load the candidate with the normal
loader, then replay the decision log (a ruleset) or the experts' decisions (a playbook).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from service.engine import RuleFileError, Ruleset, load_ruleset
from service.engine.errors import Problem
from service.engine.simulate import Replay, Report, SimulationError
from service.graph.db import Graph
from service.recommend.facts import FactLimits
from service.simulation import log
from service.simulation.playbooks import PlaybookReport, simulate_playbook


class NothingLogged(SimulationError):
    """No decisions of the candidate's ruleset are in the log (in the asked time range)."""

    code = "not-found"


def load_candidate(
    path: Path, *, max_firings: int = 1000, actions: Collection[str] | None = None
) -> Ruleset:
    """Give the candidate in ``path`` (RuleFileError listing every problem if refused)."""
    return load_ruleset(path, max_firings=max_firings, actions=actions)


def load_candidate_text(
    name: str, text: str, *, max_firings: int = 1000, actions: Collection[str] | None = None
) -> Ruleset:
    """Give the candidate whose text is ``text``, which must define ruleset (or playbook)
    ``name``; problems are named ``candidate <name>.yaml:line:col``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            candidate = load_ruleset(path, max_firings=max_firings, actions=actions)
        except RuleFileError as exc:
            label = f"candidate {name}.yaml"
            raise RuleFileError(
                [Problem(label, p.line, p.col, p.message) for p in exc.problems]
            ) from None
    return candidate


def file_version(path: Path) -> str | None:
    """Give the version (sha256) of the rule file at ``path``, None if there is none."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def simulate_ruleset(
    graph: Graph,
    candidate: Ruleset,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
    baseline_version: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Replay the logged decisions of ``candidate``'s ruleset on it (NothingLogged if none)."""
    replay = Replay(candidate, baseline_version=baseline_version)
    started = time.perf_counter()
    for decision in log.read(graph, candidate.name, since=since, until=until, limit=limit):
        replay.add(decision)
        if progress is not None:
            progress(1)
    if replay.replayed == 0:
        logged = log.logged_rulesets(graph)
        span = " in that time range" if since or until else ""
        others = ", ".join(f"{n} ({c})" for n, c in logged.items()) or "none"
        raise NothingLogged(
            f"no decisions of ruleset '{candidate.name}' are logged{span}, so there is "
            f"nothing to replay; rulesets with logged decisions: {others}"
        )
    return replay.report(time.perf_counter() - started)


def simulate(
    graph: Graph,
    candidate: Ruleset,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
    baseline_version: str | None = None,
    progress: Callable[[int], None] | None = None,
    limits: FactLimits | None = None,
) -> dict[str, Any]:
    """Give the report of ``candidate`` as JSON-ready data, ``kind`` saying which."""
    if candidate.kind == "playbook":
        played: PlaybookReport = simulate_playbook(
            graph,
            candidate,
            since=since,
            until=until,
            limit=limit,
            progress=progress,
            limits=limits,
        )
        if played.replayed == 0:
            span = " in that time range" if since or until else ""
            raise NothingLogged(
                f"no expert decisions on recommendations of playbook '{candidate.name}'{span}, "
                "so there is nothing to replay"
            )
        return {"kind": "playbook", **played.to_dict()}
    report = simulate_ruleset(
        graph,
        candidate,
        since=since,
        until=until,
        limit=limit,
        baseline_version=baseline_version,
        progress=progress,
    )
    return {"kind": "ruleset", **report.to_dict()}


def total(
    graph: Graph,
    candidate: Ruleset,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
) -> int | None:
    """Give how many decisions a simulation of ``candidate`` will replay (None: not known)."""
    if candidate.kind == "playbook":
        return None
    return log.count(graph, candidate.name, since=since, until=until, limit=limit)
