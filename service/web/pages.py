"""The pages: the worklist, a case with its recommended actions, the rules being served.

No JavaScript is needed: filters are GET forms, accept and override are POST forms answered
with a 303 back to the case page. Errors a person can fix (a short override reason, a
recommendation decided meanwhile) re-render the case page with the message next to the form;
every other error goes to the one error handler, which renders HTML for browsers.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from service.api.cases import get_graph
from service.api.errors import ApiError
from service.auth.middleware import principal_of
from service.engine import Registry
from service.graph import cases
from service.graph.db import Graph, GraphHandle, GraphUnavailable
from service.graph.models import CASE_TYPE_PATTERN, ID_PATTERN
from service.recommend import feedback, mining
from service.recommend.feedback import AlreadyDecided, InvalidFeedback
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings
from service.web import simulate, views
from service.web.signin import check_csrf, read_form
from service.web.templating import render

router = APIRouter(include_in_schema=False)

# The expert recorded in open mode (CASEWISE_AUTH=off), where no one signs in.
OPEN_EXPERT = "expert"


def _invalid(field: str, message: str, value: Any) -> ApiError:
    detail = {"field": field, "message": message, "value": value}
    return ApiError(422, "invalid-input", f"invalid {field}: {message}", [detail])


def _filters(request: Request) -> views.Filters:
    """Read the worklist filters from the query string; an empty field means no filter."""
    params = request.query_params
    case_type = params.get("type", "").strip() or None
    if case_type is not None and not re.fullmatch(CASE_TYPE_PATTERN, case_type):
        raise _invalid("type", "a case type is lower-case words joined by dashes", case_type)
    status = params.get("status", "open").strip() or None
    if status is not None and status not in views.STATUSES:
        raise _invalid("status", f"one of {', '.join(views.STATUSES)}, or empty", status)
    due_text = params.get("due_before", "").strip()
    try:
        due_before = dt.date.fromisoformat(due_text) if due_text else None
    except ValueError:
        raise _invalid("due_before", "a date as YYYY-MM-DD", due_text) from None
    page_text = params.get("page", "1").strip() or "1"
    if not re.fullmatch("[0-9]{1,7}", page_text) or int(page_text) < 1:
        raise _invalid("page", "a whole number from 1 to 9999999", page_text)
    mine = params.get("mine", "") in {"1", "on", "true"}
    return views.Filters(case_type, status, due_before, mine, int(page_text))


@router.get("/")
@router.get("/cases")
async def worklist_page(request: Request) -> Response:
    """The worklist: open cases, overdue first, then by priority and deadline."""
    filters = _filters(request)
    graph = await run_in_threadpool(get_graph, request)
    now = dt.datetime.now(dt.UTC)
    principal = principal_of(request)
    user = principal.name if principal is not None else OPEN_EXPERT
    data = await run_in_threadpool(views.worklist, graph, filters, now, user)
    return render(
        request, "worklist.html", filters=filters, statuses=views.STATUSES, now=now, **data
    )


def _check_id(value: str, field: str) -> None:
    if not re.fullmatch(ID_PATTERN, value):
        raise _invalid(field, "letters, digits and . _ : - only, 1 to 100 of them", value)


async def _case_response(
    request: Request, case_id: str, status: int = 200, form_error: dict[str, Any] | None = None
) -> Response:
    _check_id(case_id, "case_id")
    graph = await run_in_threadpool(get_graph, request)
    settings: Settings = request.app.state.settings
    playbooks: PlaybookRegistry = request.app.state.playbooks
    data = await run_in_threadpool(views.case_page, graph, playbooks, case_id, settings.link_depth)
    return render(
        request,
        "case.html",
        status=status,
        form_error=form_error,
        **data,
    )


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str) -> Response:
    """One case: summary, parties, evidence, timeline, linked cases, recommended actions."""
    return await _case_response(request, case_id)


async def _decide(request: Request, case_id: str, rid: str, outcome: str) -> Response:
    _check_id(case_id, "case_id")
    _check_id(rid, "rid")
    form = await read_form(request)
    check_csrf(request, form)
    # The expert is the signed-in user (the policy lets only experts here).
    principal = principal_of(request)
    expert = principal.name if principal is not None else OPEN_EXPERT
    graph: Graph = await run_in_threadpool(get_graph, request)
    playbooks: PlaybookRegistry = request.app.state.playbooks
    try:
        _check_id(expert, "expert")
        if outcome == "accept":
            await run_in_threadpool(feedback.accept, graph, case_id, rid, expert)
        else:
            action, reason = form.get("action", ""), form.get("reason", "")
            await run_in_threadpool(
                lambda: feedback.override(
                    graph, case_id, rid, expert, action, reason, catalogue=playbooks.actions
                )
            )
    except (ApiError, InvalidFeedback, AlreadyDecided) as exc:
        error = {"rid": rid, "outcome": outcome, "message": exc.message, "details": exc.details}
        status = exc.status
        return await _case_response(request, case_id, status, {**error, "values": form})
    return RedirectResponse(f"/cases/{case_id}#timeline", status_code=303)


@router.post("/cases/{case_id}/assign")
async def assign(request: Request, case_id: str) -> Response:
    """Take the case (``assignee`` = me) or give it up (empty); back to the case page."""
    _check_id(case_id, "case_id")
    form = await read_form(request)
    check_csrf(request, form)
    principal = principal_of(request)
    me = principal.name if principal is not None else OPEN_EXPERT
    wanted = form.get("assignee", "")
    if wanted not in {"", me}:
        raise _invalid("assignee", "experts take a case for themselves, or give it up", wanted)
    graph: Graph = await run_in_threadpool(get_graph, request)
    await run_in_threadpool(cases.assign_case, graph, case_id, wanted or None, me)
    return RedirectResponse(f"/cases/{case_id}#summary", status_code=303)


@router.post("/cases/{case_id}/recommendations/{rid}/accept")
async def accept(request: Request, case_id: str, rid: str) -> Response:
    """Record that the expert took the recommended action; back to the case page."""
    return await _decide(request, case_id, rid, "accept")


@router.post("/cases/{case_id}/recommendations/{rid}/override")
async def override(request: Request, case_id: str, rid: str) -> Response:
    """Record the action the expert took instead, and why; back to the case page."""
    return await _decide(request, case_id, rid, "override")


@router.get("/rules")
async def rules_page(request: Request) -> Response:
    """Every ruleset and playbook with its version and load status, problems by position."""
    registry: Registry = request.app.state.registry
    playbooks: PlaybookRegistry = request.app.state.playbooks
    files = views.rule_files(registry, playbooks)  # live: the status of the last reload
    suggestions, note = await run_in_threadpool(_suggestions, request, playbooks)
    routing = await run_in_threadpool(simulate.routing_suggestions, request)
    return render(
        request,
        "rules.html",
        rulesets=files["rulesets"],
        playbooks=files["playbooks"],
        suggestions=suggestions,
        suggestions_note=note,
        routing_suggestions=routing,
    )


SHOWN_SUGGESTIONS = 20


def _suggestions(
    request: Request, playbooks: PlaybookRegistry
) -> tuple[list[dict[str, Any]], str | None]:
    """Override-mining suggestions for the rules page, or why there are none to show."""
    handle: GraphHandle = request.app.state.graph
    if not handle.configured:
        return [], "No case graph is configured (NEO4J_URI), so there are no expert decisions."
    settings: Settings = request.app.state.settings
    catalogue = {a.id: tuple(a.case_types) for a in playbooks.actions.values()}
    try:
        found = mining.suggest(
            handle.prepare(),
            settings.knowledge_dir / "playbooks",
            set(catalogue),
            min_rate=settings.suggest_min_rate,
            min_decisions=settings.suggest_min_decisions,
            case_types=catalogue,
        )
    except GraphUnavailable as exc:
        return [], f"The case graph does not answer: {exc}"
    note = None
    if len(found) > SHOWN_SUGGESTIONS:
        note = (
            f"The {SHOWN_SUGGESTIONS} most overridden of {len(found)} rules are shown; "
            "`casewise rules suggest` and GET /v1/suggestions list them all."
        )
    return [s.to_dict() for s in found[:SHOWN_SUGGESTIONS]], note


@router.get("/rules/{name}")
async def ruleset_page(request: Request, name: str) -> Response:
    """One ruleset or playbook: inputs, rules, decision tables, and its example tests."""
    registry: Registry = request.app.state.registry
    playbooks: PlaybookRegistry = request.app.state.playbooks
    ruleset = views.find_ruleset(registry, playbooks, name)
    if ruleset is None:
        raise HTTPException(404, f"no ruleset or playbook {name!r}; /rules lists them")
    data = await run_in_threadpool(views.ruleset_page, ruleset)
    return render(request, "ruleset.html", **data)
