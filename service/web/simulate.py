"""The simulation page of a ruleset or playbook: paste a changed file, see what it would change.

``GET /rules/{name}/simulate`` shows the form, the candidate prefilled with the served file's
text; ``POST`` (with the session's CSRF token, like every form) replays the logged decisions
(or, for a playbook, the experts' decisions) on the candidate and shows the report as tables.
A candidate that does not load, or whose fact queries the sandbox refuses, is shown with its
problems next to the form, each a link that puts the editor's cursor at its line and column
(service/web/static/editor.js); a fact query that fails or times out while replaying is
named with an error id, never with Neo4j's text (``service.recommend.facts``). The form posts
to ``#result``, so the browser shows the report (or the problems) it answers with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from service.engine import Registry, RuleFileError, Ruleset
from service.graph.db import GraphHandle, GraphUnavailable
from service.http.templating import render
from service.kernel.errors import CasewiseError
from service.recommend import routing
from service.recommend.facts import FactLimits
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings
from service.simulation import run
from service.simulation.playbooks import CandidateRefused
from service.web import views
from service.web.signin import check_csrf, read_form

router = APIRouter(include_in_schema=False)

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 200_000  # one request replays at most this many (the CLI has no cap)


def _served(request: Request, name: str) -> Ruleset:
    registry: Registry = request.app.state.registry
    playbooks: PlaybookRegistry = request.app.state.playbooks
    served = views.find_ruleset(registry, playbooks, name)
    if served is None:
        raise HTTPException(404, f"no ruleset or playbook {name!r}; /rules lists them")
    return served


def _text(served: Ruleset) -> str:
    try:
        return served.path.read_text(encoding="utf-8")
    except OSError:
        return ""


@router.get("/rules/{name}/simulate")
async def simulate_form(request: Request, name: str) -> Response:
    """The form: the candidate (the served file's text to start from), since, until, limit."""
    served = _served(request, name)
    form = {"candidate": _text(served), "since": "", "until": "", "limit": str(DEFAULT_LIMIT)}
    return render(request, "simulate.html", served=served, form=form, errors={}, report=None)


def _date(form: dict[str, str], field: str, errors: dict[str, str]) -> dt.datetime | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    except ValueError:
        errors[field] = f"a date as YYYY-MM-DD, not {text!r}"
        return None


def _limit(form: dict[str, str], errors: dict[str, str]) -> int:
    text = form.get("limit", "").strip() or str(DEFAULT_LIMIT)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        errors["limit"] = f"a whole number from 1 to {MAX_LIMIT}, not {text!r}"
        return DEFAULT_LIMIT
    return int(text)


@router.post("/rules/{name}/simulate")
async def simulate_page(request: Request, name: str) -> Response:
    """Replay the history on the posted candidate and show the report."""
    served = _served(request, name)
    form = await read_form(request)
    check_csrf(request, form)
    errors: dict[str, str] = {}
    since, until = _date(form, "since", errors), _date(form, "until", errors)
    limit = _limit(form, errors)
    problems: list[dict[str, Any]] = []
    candidate: Ruleset | None = None
    settings: Settings = request.app.state.settings
    playbooks: PlaybookRegistry = request.app.state.playbooks
    text = form.get("candidate", "")
    try:
        # Loading compiles the candidate: never on the event loop.
        candidate = await run_in_threadpool(
            run.load_candidate_text,
            name,
            text,
            max_firings=settings.max_firings,
            actions=set(playbooks.actions) if served.kind == "playbook" else None,
        )
    except RuleFileError as exc:
        problems = [_problem(p) for p in exc.problems]
    if candidate is not None and candidate.kind != served.kind:
        errors["candidate"] = (
            f"The candidate is a {candidate.kind} file; {name} is a {served.kind}, so its "
            f"first line must be '{served.kind}: {name}'. Nothing was replayed."
        )
    if problems or errors or candidate is None:
        if problems:
            errors["candidate"] = (
                f"The candidate does not load: {len(problems)} problem(s), each at its line "
                "and column below. Nothing was replayed."
            )
        values = {"served": served, "form": form, "errors": errors, "problems": problems}
        return render(request, "simulate.html", status=422, report=None, **values)
    handle: GraphHandle = request.app.state.graph
    report: dict[str, Any] | None = None
    note = None
    status = 200
    try:
        graph = await run_in_threadpool(handle.prepare)
        report = await run_in_threadpool(
            lambda: run.simulate(
                graph,
                candidate,
                since=since,
                until=until,
                limit=limit,
                baseline_version=served.version,
                limits=FactLimits.from_settings(settings),
            )
        )
    except CandidateRefused as exc:  # shown like a candidate that does not load
        problems = [_problem(p) for p in exc.problems]
        errors = {
            "candidate": "The candidate's fact queries are refused (below, at their line and "
            "column). Nothing was replayed."
        }
        values = {"served": served, "form": form, "errors": errors, "problems": problems}
        return render(request, "simulate.html", status=422, report=None, **values)
    except run.NothingLogged as exc:
        note = str(exc)
    except GraphUnavailable as exc:
        note, status = str(exc), 503
    except CasewiseError as exc:
        note, status = str(exc), 422
    return render(
        request,
        "simulate.html",
        status=status,
        served=served,
        form=form,
        errors={},
        report=report,
        note=note,
        status_error=status != 200,
    )


def _problem(problem: Any) -> dict[str, Any]:
    """A problem as the page lists it: its text, and the line and column it points at."""
    return {
        "text": str(problem),
        "line": getattr(problem, "line", 0) or 0,
        "col": getattr(problem, "col", 0) or 0,
        "message": getattr(problem, "message", str(problem)),
    }


SHOWN_ROUTING = 20


def routing_suggestions(request: Request) -> list[dict[str, Any]]:
    """Escalating routing rules whose cases experts close with no action, for the rules page
    (none without a graph, or when it does not answer: the playbook part says why)."""
    handle: GraphHandle = request.app.state.graph
    if not handle.configured:
        return []
    settings: Settings = request.app.state.settings
    try:
        found = routing.suggest_routing(
            handle.prepare(),
            settings.rules_dir,
            routing.outcome_set(settings.suggest_no_action_outcomes),
            min_rate=settings.suggest_min_rate,
            min_cases=settings.suggest_min_decisions,
            max_firings=settings.max_firings,
        )
    except GraphUnavailable:
        return []
    return [s.to_dict() for s in found[:SHOWN_ROUTING]]
