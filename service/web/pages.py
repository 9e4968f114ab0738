"""The pages: the worklist, a case with its recommended actions (the rules pages: rulespages.py).

No JavaScript is needed: filters, sorting and search are GET forms and links; every case form
(accept, override, assign, change, close, reopen) is a POST answered with a 303 back to the
case page at the form's card (post/redirect/get), carrying what happened in the session
(``flash``): a banner there when it was done; when it was refused (a short override reason, a
recommendation decided meanwhile), the message at the card, focused, with what was typed. Every
other error goes to the one error handler, which renders HTML for browsers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.auth import people
from service.auth.middleware import principal_of
from service.auth.store import MemoryStore, Neo4jStore
from service.graph import cases, lifecycle
from service.graph.cases import CaseNotFound
from service.graph.db import Graph
from service.graph.lifecycle import InvalidChange
from service.graph.models import CASE_TYPE_PATTERN, ID_PATTERN, CloseIn
from service.http.deps import get_graph
from service.http.errors import ApiError
from service.http.templating import render
from service.kernel.errors import CasewiseError
from service.recommend import feedback, refresh
from service.recommend.feedback import AlreadyDecided, InvalidFeedback, RecommendationNotFound
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings
from service.web import casework, flash, views
from service.web.signin import check_csrf, read_form

router = APIRouter(include_in_schema=False)

# The expert recorded in open mode (CASEWISE_AUTH=off), where no one signs in.
OPEN_EXPERT = "expert"


def _invalid(field: str, message: str, value: Any) -> ApiError:
    detail = {"field": field, "message": message, "value": value}
    got = f"; got {json.dumps(value)}" if value not in (None, "") else ""
    return ApiError(422, "invalid-input", f"invalid {field}: {message}{got}", [detail])


SEARCH_MAX = 200  # characters of a search


def _filters(request: Request) -> views.Filters:
    """Read the worklist filters from the query string; an empty field means no filter."""
    params = request.query_params
    case_type = params.get("type", "").strip() or None
    if case_type is not None and not re.fullmatch(CASE_TYPE_PATTERN, case_type):
        raise _invalid("type", "a case type is lower-case words joined by dashes", case_type)
    text = params.get("q", "").strip()
    if len(text) > SEARCH_MAX:
        raise _invalid("q", f"a search of at most {SEARCH_MAX} characters", text[:SEARCH_MAX])
    # a search looks at every status unless one is chosen
    status = params.get("status", "" if text else "open").strip() or None
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
    sort = params.get("sort", "").strip()
    if sort and sort not in views.SORTS:
        raise _invalid("sort", f"one of {', '.join(views.SORTS)}, or empty", sort)
    descending = params.get("dir", "") == "desc"
    mine = params.get("mine", "") in {"1", "on", "true"}
    return views.Filters(
        case_type, status, due_before, mine, int(page_text), text, sort, descending
    )


def _user(request: Request) -> tuple[str, bool]:
    """Give who is signed in (the open-mode expert if no one) and whether they are an expert."""
    principal = principal_of(request)
    if principal is None:
        return OPEN_EXPERT, True
    return principal.name, principal.role == "expert"


@router.get("/")
@router.get("/cases")
async def worklist_page(request: Request) -> Response:
    """The worklist: an expert's own cases first, then overdue, priority and deadline; sortable
    by column; a search finds cases by id, reference, party name or identifier."""
    filters = _filters(request)
    graph = await run_in_threadpool(get_graph, request)
    now = dt.datetime.now(dt.UTC)
    user, expert = _user(request)
    playbooks: PlaybookRegistry = request.app.state.playbooks
    labels = {a.id: a.label for a in playbooks.actions.values()}
    data = await run_in_threadpool(views.worklist, graph, filters, now, user, labels, expert)
    return render(
        request,
        "worklist.html",
        filters=filters,
        statuses=views.STATUSES,
        columns=views.COLUMNS,
        teams=playbooks.teams,
        now=now,
        **data,
    )


def _check_id(value: str, field: str) -> None:
    if not re.fullmatch(ID_PATTERN, value):
        raise _invalid(field, "letters, digits and . _ : - only, 1 to 100 of them", value)


async def _case_response(request: Request, case_id: str, status: int = 200) -> Response:
    _check_id(case_id, "case_id")
    graph = await run_in_threadpool(get_graph, request)
    settings: Settings = request.app.state.settings
    playbooks: PlaybookRegistry = request.app.state.playbooks
    data = await run_in_threadpool(views.case_page, graph, playbooks, case_id, settings.link_depth)
    data |= await run_in_threadpool(casework.case_extras, graph, playbooks, data)  # notes, ...
    data |= await run_in_threadpool(views.casework_forms, graph, playbooks, data["case"])
    experts = await run_in_threadpool(_experts, request, graph)
    if experts is not None:  # offer only the names a hand-over takes
        data["colleagues"] = experts
    shown = flash.take(request, case_id)
    error = shown.get("error") if shown else None
    response = render(
        request,
        "case.html",
        status=status,
        flash=shown,
        form_error={**error, "values": shown.get("values") or {}} if shown and error else None,
        **data,
    )
    if shown is not None:
        flash.forget(request, response)
    return response


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str) -> Response:
    """One case: summary, parties, evidence, timeline, linked cases, recommended actions."""
    return await _case_response(request, case_id)


async def _form(request: Request, case_id: str) -> tuple[dict[str, str], Graph, str]:
    """Read and check a case page's form; give it, the graph and the expert sending it."""
    _check_id(case_id, "case_id")
    form = await read_form(request)
    check_csrf(request, form)
    graph: Graph = await run_in_threadpool(get_graph, request)
    expert, _ = _user(request)  # the policy lets only experts send these forms
    return form, graph, expert


def _refused(
    request: Request,
    case_id: str,
    card: str,
    exc: CasewiseError,
    form: dict[str, str],
    **extra: Any,
) -> Response:
    # the message only (details repeat what was typed, which is kept once, in ``values``)
    error = {"card": card, "message": exc.message, **extra}
    return flash.redirect(request, case_id, card, error=error, values=form)


async def _decide(request: Request, case_id: str, rid: str, outcome: str) -> Response:
    _check_id(rid, "rid")
    form, graph, expert = await _form(request, case_id)
    playbooks: PlaybookRegistry = request.app.state.playbooks
    catalogue = playbooks.actions
    try:
        _check_id(expert, "expert")
        if outcome == "accept":
            decision = await run_in_threadpool(
                lambda: feedback.accept(graph, case_id, rid, expert, catalogue=catalogue)
            )
        else:
            action, reason = form.get("action", ""), form.get("reason", "")
            if not action:
                raise InvalidFeedback(
                    "choose the action taken instead",
                    [{"field": "action", "message": "choose an action", "value": ""}],
                )
            decision = await run_in_threadpool(
                lambda: feedback.override(
                    graph, case_id, rid, expert, action, reason, catalogue=catalogue
                )
            )
    except (ApiError, InvalidFeedback) as exc:
        return _refused(request, case_id, rid, exc, form, rid=rid, outcome=outcome)
    except (AlreadyDecided, RecommendationNotFound) as exc:  # its card is gone
        return _refused(request, case_id, "recommendations", exc, form, rid=rid, outcome=outcome)
    refresh.nudge(request.app.state.refresher, [case_id])
    taken = catalogue.get(str(decision.get("action")))
    label = taken.label if taken is not None else str(decision.get("action"))
    done = f"{'Accepted' if outcome == 'accept' else 'Overridden: took'} {label!r}."
    effect = decision.get("effect") or {}
    if effect:
        done += " " + views.describe_changes(effect, playbooks.teams) + "."
    elif taken is not None and taken.effects:  # e.g. raising the priority of a priority 1
        done += " It changed nothing on the case: it was so already."
    return flash.redirect(request, case_id, "recommendations", done=done)


@router.post("/cases/{case_id}/recommendations/{rid}/accept")
async def accept(request: Request, case_id: str, rid: str) -> Response:
    """Record that the expert took the recommended action (and its effect); to the case page."""
    return await _decide(request, case_id, rid, "accept")


@router.post("/cases/{case_id}/recommendations/{rid}/override")
async def override(request: Request, case_id: str, rid: str) -> Response:
    """Record the action the expert took instead, and why; back to the case page."""
    return await _decide(request, case_id, rid, "override")


def _colleague(request: Request, name: str) -> None:
    """Raise a 422 unless ``name`` is an expert user (anyone, without a user store)."""
    auth = getattr(request.app.state, "auth", None)
    store = auth.store if auth is not None else None
    if store is None:
        return
    user = store.find_user(name)
    if user is None or user.role != "expert" or user.disabled:
        detail = {"field": "assignee", "message": "not an expert user", "value": name}
        raise ApiError(
            422,
            "invalid-input",
            f"{name!r} is not an expert user of this service: hand the case to one of the "
            "names offered, or put it in a team queue",
            [detail],
        )


def _experts(request: Request, graph: Graph) -> list[str] | None:
    """Give the expert users a case may be handed to; None without a user store (anyone)."""
    auth = getattr(request.app.state, "auth", None)
    store = auth.store if auth is not None else None
    if isinstance(store, Neo4jStore):
        users = people.list_users(graph)
        return [u.name for u in users if u.role == "expert" and not u.disabled]
    if isinstance(store, MemoryStore):
        return sorted(n for n, u in store.users.items() if u.role == "expert" and not u.disabled)
    return None


@router.post("/cases/{case_id}/assign")
async def assign(request: Request, case_id: str) -> Response:
    """Take the case, give it back (to its team's queue), hand it to a colleague, or put it in
    a team's queue; back to the case page, at its work card."""
    form, graph, me = await _form(request, case_id)
    playbooks: PlaybookRegistry = request.app.state.playbooks
    wanted = form.get("assignee", "").strip()
    team = form.get("team")
    try:
        if team is not None:
            if team and team not in playbooks.teams:
                raise _invalid("team", f"one of {', '.join(sorted(playbooks.teams))}", team)
            changed = await run_in_threadpool(
                lifecycle.change, graph, case_id, {"team": team or None}, me
            )
            if team:  # in a team's queue, no one of it has it yet
                await run_in_threadpool(cases.assign_case, graph, case_id, None, me)
            done = views.describe_changes(changed, playbooks.teams) or "Nothing changed."
        else:
            if wanted and wanted != me:
                await run_in_threadpool(_colleague, request, wanted)
            result = await run_in_threadpool(cases.assign_case, graph, case_id, wanted or None, me)
            who = "you" if wanted == me else wanted
            done = (
                ("Assigned to " + who if wanted else "Given back: no one has it now")
                if result["changed"]
                else "Nothing changed."
            )
    except CaseNotFound:
        raise  # the error page: there is no card to show it at
    except CasewiseError as exc:
        return _refused(request, case_id, "work", exc, form)
    refresh.nudge(request.app.state.refresher, [case_id])
    return flash.redirect(request, case_id, "work", done=done + ("" if done.endswith(".") else "."))


@router.post("/cases/{case_id}/change")
async def change_case(request: Request, case_id: str) -> Response:
    """Set the case's status (open or pending) and priority; back to its work card."""
    form, graph, me = await _form(request, case_id)
    playbooks: PlaybookRegistry = request.app.state.playbooks
    wanted: dict[str, Any] = {}
    try:
        if form.get("status"):
            wanted["status"] = form["status"]
        if form.get("priority"):
            if not re.fullmatch("[1-5]", form["priority"]):
                raise _invalid("priority", "1 (most urgent) to 5", form["priority"])
            wanted["priority"] = int(form["priority"])
        changed = await run_in_threadpool(lifecycle.change, graph, case_id, wanted, me)
    except (ApiError, InvalidChange) as exc:
        return _refused(request, case_id, "work", exc, form)
    refresh.nudge(request.app.state.refresher, [case_id])
    done = views.describe_changes(changed, playbooks.teams)
    return flash.redirect(request, case_id, "work", done=(done or "Nothing changed") + ".")


@router.post("/cases/{case_id}/close")
async def close(request: Request, case_id: str) -> Response:
    """Close the case with its outcome (which the routing-rule suggestions learn from)."""
    form, graph, me = await _form(request, case_id)
    outcome, reason = form.get("outcome", "").strip(), form.get("reason", "").strip()
    try:
        closing = CloseIn(outcome=outcome, reason=reason or None)
    except ValidationError:
        exc = _invalid("outcome", "say how the case ended, in 1 to 200 characters", outcome)
        return _refused(request, case_id, "work", exc, form)
    await run_in_threadpool(cases.close_case, graph, case_id, closing, me)
    refresh.nudge(request.app.state.refresher, [case_id])
    return flash.redirect(request, case_id, "work", done=f"Closed: {outcome}.")


@router.post("/cases/{case_id}/reopen")
async def reopen(request: Request, case_id: str) -> Response:
    """Reopen a closed case (its outcome is cleared); back to its work card."""
    form, graph, me = await _form(request, case_id)
    reason = form.get("reason", "").strip()[:2000] or None
    reopened = await run_in_threadpool(lifecycle.reopen, graph, case_id, me, reason)
    refresh.nudge(request.app.state.refresher, [case_id])
    done = "Reopened." if reopened else "The case was open already."
    return flash.redirect(request, case_id, "work", done=done)
