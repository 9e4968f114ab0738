"""Decision log routes: the recorded routing decisions, filtered and paged, or one by id.

Plain ``def``s, so FastAPI runs them (and their Neo4j reads) in its thread pool. A decision is
listed once the flusher has written it to Neo4j, normally within a second of its answer.
Without a case graph these routes answer 503 ``graph-unavailable``. An API key scoped to
rulesets (an author's key) reads only the decisions of its rulesets; another is a 404.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from service.api.cases import RESPONSES, get_graph
from service.api.errors import ApiError
from service.auth.middleware import principal_of
from service.decisionlog import store
from service.engine import CasewiseError
from service.graph.db import Graph

router = APIRouter(prefix="/v1/decisions", tags=["decision log"])

GraphDep = Annotated[Graph, Depends(get_graph)]


def _api_error(exc: CasewiseError) -> ApiError:
    status = int(getattr(exc, "status", 422))
    message = str(getattr(exc, "message", exc))
    return ApiError(status, exc.code, message, list(getattr(exc, "details", [])))


def key_rulesets(request: Request) -> frozenset[str] | None:
    """Give the rulesets whose decisions a scoped key may read; None: every ruleset's."""
    principal = principal_of(request)
    if principal is None or principal.rulesets is None or "*" in principal.rulesets:
        return None
    return principal.rulesets


def selection(
    ruleset: str | None = None,
    version: str | None = None,
    since: str | None = None,
    until: str | None = None,
    output: list[str] | None = None,
    case_opened: str | None = None,
) -> store.Filter:
    """Give the filter of the query parameters; FilterError naming a bad one."""
    return store.Filter(
        ruleset=ruleset or None,
        version=version or None,
        since=store.parse_time("since", since),
        until=store.parse_time("until", until),
        outputs=[store.parse_output(value) for value in output or []],
        case_opened=store.parse_bool("case_opened", case_opened),
    )


@router.get("", summary="List recorded decisions", responses=RESPONSES)
def get_decisions(
    graph: GraphDep,
    request: Request,
    ruleset: Annotated[str | None, Query(description="Only decisions of this ruleset.")] = None,
    version: Annotated[
        str | None, Query(description="Only decisions of this ruleset version (sha256).")
    ] = None,
    since: Annotated[
        str | None, Query(description="ISO 8601 time; decisions at or after it (UTC if naive).")
    ] = None,
    until: Annotated[
        str | None, Query(description="ISO 8601 time; decisions before it (UTC if naive).")
    ] = None,
    output: Annotated[
        list[str] | None,
        Query(
            description="FIELD:VALUE, repeatable: only decisions whose output FIELD is VALUE "
            "(a JSON scalar, else text), e.g. decision:approve or open_case:true."
        ),
    ] = None,
    case_opened: Annotated[
        str | None, Query(description="true: only decisions that opened a case; false: none.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=store.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> dict[str, Any]:
    """Give a page of decisions, newest first, and ``next_cursor`` (null on the last page)."""
    try:
        chosen = selection(ruleset, version, since, until, output, case_opened)
        chosen = dataclasses.replace(chosen, rulesets=key_rulesets(request))
        decisions, following = store.list_decisions(graph, chosen, limit, cursor)
    except (store.FilterError, store.DecisionNotFound) as exc:
        raise _api_error(exc) from exc
    return {"decisions": decisions, "next_cursor": following}


@router.get("/{decision_id}", summary="One recorded decision", responses=RESPONSES)
def get_decision(
    decision_id: Annotated[str, Path(description="The decision's id.")],
    graph: GraphDep,
    request: Request,
) -> dict[str, Any]:
    """Give the decision with its input, outputs, fired rules, facts, caller, time, case."""
    try:
        return store.get_decision(graph, decision_id, key_rulesets(request))
    except store.DecisionNotFound as exc:
        raise _api_error(exc) from exc
