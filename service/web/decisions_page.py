"""The decision log for authors: filter, page by cursor, open one decision, export as JSONL.

The filters are those of GET /v1/decisions (ruleset, version, time, output value, whether a
case was opened), read from a GET form; a bad one is shown above the form as the error it is.
One decision shows why it was made: the rules that fired, the values they read, the facts, and
the case it opened. The export streams every selected decision, one JSON object a line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import Response, StreamingResponse

from service.decisionlog import store
from service.decisionlog.store import FilterError
from service.engine import Registry
from service.graph.db import Graph
from service.http.deps import get_graph
from service.http.templating import render

router = APIRouter(include_in_schema=False)

PAGE = 50
FIELDS = ("ruleset", "version", "since", "until", "output", "case_opened")


def _form(request: Request) -> dict[str, str]:
    """The filter form's values as given (empty when not given)."""
    params = request.query_params
    return {name: params.get(name, "").strip() for name in FIELDS}


def _time(name: str, value: str) -> dt.datetime | None:
    # a datetime-local field gives 2026-12-06T10:30: read as UTC, as the page says
    return store.parse_time(name, value) if value else None


def _selection(form: dict[str, str]) -> store.Filter:
    """The decision filter of the form; FilterError naming a bad field."""
    outputs = [
        store.parse_output(part.strip()) for part in form["output"].split(",") if part.strip()
    ]
    return store.Filter(
        ruleset=form["ruleset"] or None,
        version=form["version"] or None,
        since=_time("since", form["since"]),
        until=_time("until", form["until"]),
        outputs=outputs,
        case_opened=store.parse_bool("case_opened", form["case_opened"] or None),
    )


def _query(form: dict[str, str], **extra: str) -> str:
    return urlencode({k: v for k, v in {**form, **extra}.items() if v})


@router.get("/decisions")
async def decisions_page(request: Request) -> Response:
    """A page of decisions, newest first, with the filters and a link to the next page."""
    form = _form(request)
    registry: Registry = request.app.state.registry
    cursor = request.query_params.get("cursor") or None
    error = None
    decisions: list[dict[str, Any]] = []
    following = None
    try:
        selection = _selection(form)
        graph: Graph = await run_in_threadpool(get_graph, request)
        decisions, following = await run_in_threadpool(
            store.list_decisions, graph, selection, PAGE, cursor
        )
    except FilterError as exc:
        error = {"message": exc.message, "field": exc.details[0]["field"]}
    return render(
        request,
        "decisions.html",
        status=422 if error else 200,
        form=form,
        error=error,
        decisions=decisions,
        rulesets=sorted(registry.names()),
        next_url=f"/decisions?{_query(form, cursor=following)}" if following else None,
        first_url=f"/decisions?{_query(form)}" if cursor else None,
        export_url=f"/decisions/export?{_query(form)}"
        if form["ruleset"] or form["since"] or form["until"]
        else None,
    )


@router.get("/decisions/export")
async def export(request: Request) -> Response:
    """Every selected decision as JSON Lines, newest first (a file to download).

    A ruleset or a time is needed: the whole log is `casewise decisions export`'s to write, not
    a browser's to download.
    """
    form = _form(request)
    if not (form["ruleset"] or form["since"] or form["until"]):
        raise FilterError(
            "ruleset",
            "",
            "choose a ruleset or a time range to export; "
            "`casewise decisions export` writes the whole log",
        )
    selection = _selection(form)  # a bad filter: the error page, nothing streamed
    graph: Graph = await run_in_threadpool(get_graph, request)

    def lines() -> Iterator[bytes]:
        for decision in store.iterate(graph, selection):
            yield orjson.dumps(decision, option=orjson.OPT_SORT_KEYS) + b"\n"

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Disposition": f'attachment; filename="decisions-{stamp}.jsonl"'}
    return StreamingResponse(
        iterate_in_threadpool(lines()), media_type="application/x-ndjson", headers=headers
    )


@router.get("/decisions/{decision_id}")
async def decision_page(request: Request, decision_id: str) -> Response:
    """One decision and why: input, outputs, fired rules, values read, facts, its case."""
    graph: Graph = await run_in_threadpool(get_graph, request)
    decision = await run_in_threadpool(store.get_decision, graph, decision_id)  # 404 if none
    return render(request, "decision.html", d=decision, pretty=_pretty)


def _pretty(value: Any) -> str:
    """A JSON value indented for reading."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
