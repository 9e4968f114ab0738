"""Case routes: write cases with their parties, evidence and events; read them back.

The routes are plain ``def``s, so FastAPI runs them (and their Neo4j calls) in its thread pool
and the event loop stays free for decisions. Without a case graph (NEO4J_URI unset, or Neo4j
not answering) every route here answers 503 ``graph-unavailable``.

An API key scoped to rulesets sees and writes only the cases opened by decisions of its
rulesets and the cases it created (``created_by``); any other case is answered 404, as an
unknown case is, so the key does not learn that it exists. A key with ``*`` and signed-in
users see every case. A key that assigns a case must name an existing expert user.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from service.api.models import ERRORS, ErrorResponse
from service.auth.middleware import principal_of
from service.graph import cases, reads
from service.graph.db import Graph
from service.graph.models import (
    CASE_TYPE_PATTERN,
    ID_PATTERN,
    AssignIn,
    CasesIn,
    CaseStatus,
    CloseIn,
    EventsIn,
    EvidenceIn,
    PartiesIn,
)
from service.http.deps import MAX_OFFSET, UtcTime, get_graph, get_settings
from service.http.errors import ApiError, PayloadTooLarge
from service.recommend import refresh
from service.settings import Settings

router = APIRouter(prefix="/v1/cases", tags=["cases"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ErrorResponse, "description": "Unknown case."},
    503: {
        "model": ErrorResponse,
        "description": "No case graph: NEO4J_URI unset, or Neo4j not reachable.",
    },
}


def case_scope(request: Request) -> reads.CaseScope:
    """Give the cases the caller may see: a key scoped to rulesets, those of its rulesets and
    those it created; every case for a ``*`` key, a user, or open mode."""
    principal = principal_of(request)
    if principal is None or principal.kind != "key" or principal.rulesets is None:
        return reads.EVERY_CASE
    if "*" in principal.rulesets:
        return reads.EVERY_CASE
    return reads.CaseScope(principal.rulesets, principal.name)


def check_case(graph: Graph, request: Request, case_id: str) -> None:
    """Raise CaseNotFound (404) unless the caller may see the case."""
    scope = case_scope(request)
    if not scope.everything:
        reads.check_scope(graph, case_id, scope)


def check_parties(graph: Graph, request: Request, named: list[tuple[str, str]]) -> None:
    """Raise a 422 for each (party id, field) naming a party of a case the caller may not see:
    a scoped key must not change, or attach to its case and read, another case's party."""
    scope = case_scope(request)
    if scope.everything or not named:
        return
    taken = set(reads.parties_out_of_scope(graph, [party for party, _ in named], scope))
    details = [
        {"field": field, "message": "is a party this key may not use; use another id",
         "value": party}
        for party, field in named
        if party in taken
    ]  # fmt: skip
    if details:
        fields = ", ".join(d["field"] for d in details)
        raise ApiError(422, "invalid-input", f"parties this key may not use: {fields}", details)


def check_expert(request: Request, name: str, field: str) -> None:
    """Raise a 422 naming ``field`` unless ``name`` is an existing expert user (for a key that
    acts for, or assigns to, a named expert)."""
    auth = getattr(request.app.state, "auth", None)
    store = auth.store if auth is not None else None
    user = store.find_user(name) if store is not None else None
    if user is None or user.role != "expert":
        message = "must name an existing expert user (casewise users add NAME --role expert)"
        raise ApiError(
            422,
            "invalid-input",
            f"{field} {name!r} is not an expert user of this service",
            [{"field": field, "message": message, "value": name}],
        )


def acts_for_named(request: Request) -> bool:
    """Tell whether the caller names the expert it acts for (an API key), not a signed-in user."""
    principal = principal_of(request)
    return principal is not None and principal.kind == "key"


GraphDep = Annotated[Graph, Depends(get_graph)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CaseId = Annotated[str, Path(pattern=ID_PATTERN, description="The case's id.")]


def _check_batch(count: int, settings: Settings, what: str) -> None:
    if count > settings.max_batch:
        raise PayloadTooLarge(
            f"{what} has {count} items, more than {settings.max_batch}; split it "
            "or raise CASEWISE_MAX_BATCH",
            [{"limit": settings.max_batch, "items": count}],
        )


def _written(request: Request, summary: cases.WriteSummary, case_ids: list[str]) -> dict[str, Any]:
    """Give the answer of a write; the cases written get their recommendations again."""
    refresh.nudge(request.app.state.refresher, case_ids)
    return {"written": summary.to_dict()}


@router.post("", summary="Create or update cases", responses=RESPONSES)
def post_cases(
    body: CasesIn, graph: GraphDep, settings: SettingsDep, request: Request
) -> dict[str, Any]:
    """Write the cases with their parties, evidence and events, all or nothing; idempotent.

    A case created here records the key that created it; a key scoped to rulesets may update
    only the cases it may see (another existing id is a 404)."""
    _check_batch(len(body.cases), settings, "cases")
    taken = reads.out_of_scope(graph, [c.id for c in body.cases], case_scope(request))
    if taken:
        raise cases.CaseNotFound(
            f"no case {taken[0]!r} this key may write; choose another case id",
            [{"case_id": c} for c in taken],
        )
    named = [
        (party.id, f"cases[{n}].parties[{i}].id")
        for n, case in enumerate(body.cases)
        for i, party in enumerate(case.parties)
    ] + [
        (party, f"cases[{n}].evidence[{i}].concerns[{j}]")
        for n, case in enumerate(body.cases)
        for i, evidence in enumerate(case.evidence)
        for j, party in enumerate(evidence.concerns)
    ]
    check_parties(graph, request, named)
    principal = principal_of(request)
    creator = principal.name if principal is not None else None
    summary = cases.upsert_cases(graph, body.cases, created_by=creator)
    return _written(request, summary, [c.id for c in body.cases])


@router.post("/{case_id}/parties", summary="Add parties to a case", responses=RESPONSES)
def post_parties(
    case_id: CaseId, body: PartiesIn, graph: GraphDep, settings: SettingsDep, request: Request
) -> dict[str, Any]:
    """Add people or organisations, in their roles, with their identifiers."""
    check_case(graph, request, case_id)
    _check_batch(len(body.parties), settings, "parties")
    named = [(party.id, f"parties[{i}].id") for i, party in enumerate(body.parties)]
    check_parties(graph, request, named)
    return _written(request, cases.add_parties(graph, case_id, body.parties), [case_id])


@router.post("/{case_id}/evidence", summary="Add evidence to a case", responses=RESPONSES)
def post_evidence(
    case_id: CaseId, body: EvidenceIn, graph: GraphDep, settings: SettingsDep, request: Request
) -> dict[str, Any]:
    """Add evidence supporting or contradicting the case; ``concerns`` names known parties."""
    check_case(graph, request, case_id)
    _check_batch(len(body.evidence), settings, "evidence")
    named = [
        (party, f"evidence[{i}].concerns[{j}]")
        for i, evidence in enumerate(body.evidence)
        for j, party in enumerate(evidence.concerns)
    ]
    check_parties(graph, request, named)
    return _written(request, cases.add_evidence(graph, case_id, body.evidence), [case_id])


@router.post("/{case_id}/events", summary="Add events to a case", responses=RESPONSES)
def post_events(
    case_id: CaseId, body: EventsIn, graph: GraphDep, settings: SettingsDep, request: Request
) -> dict[str, Any]:
    """Add events (what happened, when, by whom)."""
    check_case(graph, request, case_id)
    _check_batch(len(body.events), settings, "events")
    return _written(request, cases.add_events(graph, case_id, body.events), [case_id])


@router.post("/{case_id}/close", summary="Close a case", responses=RESPONSES)
def post_close(case_id: CaseId, body: CloseIn, graph: GraphDep, request: Request) -> dict[str, Any]:
    """Close the case with an outcome; closing again with the same body changes nothing."""
    check_case(graph, request, case_id)
    principal = principal_of(request)
    actor = principal.name if principal is not None else None
    closed = cases.close_case(graph, case_id, body, actor)
    refresh.nudge(request.app.state.refresher, [case_id])  # its open advice is withdrawn
    return {"case": closed}


@router.post("/{case_id}/assign", summary="Assign a case to someone", responses=RESPONSES)
def post_assign(
    case_id: CaseId, body: AssignIn, graph: GraphDep, request: Request
) -> dict[str, Any]:
    """Give the case to ``assignee`` (null: to no one); the change is an event in its timeline.

    Assigning to whoever has it already changes nothing (``changed: false``). A key must
    name an existing expert user.
    """
    check_case(graph, request, case_id)
    if body.assignee is not None and acts_for_named(request):
        check_expert(request, body.assignee, "assignee")
    principal = principal_of(request)
    actor = principal.name if principal is not None else None
    assigned = cases.assign_case(graph, case_id, body.assignee, actor)
    if assigned["changed"]:  # a write: the worklist's recommendations follow it at once
        refresh.nudge(request.app.state.refresher, [case_id])
    return assigned


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@router.get("", summary="List cases", responses=RESPONSES)
def get_cases(
    graph: GraphDep,
    request: Request,
    case_type: Annotated[
        str | None, Query(alias="type", pattern=CASE_TYPE_PATTERN, description="Case type.")
    ] = None,
    status: Annotated[CaseStatus | None, Query(description="open, pending or closed.")] = None,
    due_before: Annotated[
        UtcTime | None, Query(description="Only cases due before this time (UTC if naive).")
    ] = None,
    assignee: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only cases assigned to …")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """Give a page of cases, the earliest due first, then by priority; ``total`` counts all."""
    return reads.list_cases(
        graph,
        type=case_type,
        status=status,
        due_before=_utc(due_before),
        assignee=assignee,
        limit=limit,
        offset=offset,
        scope=case_scope(request),
    )


@router.get("/{case_id}", summary="One case with everything in it", responses=RESPONSES)
def get_case(case_id: CaseId, graph: GraphDep, request: Request) -> dict[str, Any]:
    """Give the case with its parties (roles, identifiers), evidence, events and decisions."""
    check_case(graph, request, case_id)
    return reads.get_case(graph, case_id)


@router.get("/{case_id}/timeline", summary="A case's timeline", responses=RESPONSES)
def get_timeline(case_id: CaseId, graph: GraphDep, request: Request) -> dict[str, Any]:
    """Give the case's events, evidence and routing decisions in time order."""
    check_case(graph, request, case_id)
    return {"case_id": case_id, "entries": reads.timeline(graph, case_id)}


@router.get("/{case_id}/links", summary="Cases linked to a case", responses=RESPONSES)
def get_links(
    case_id: CaseId,
    graph: GraphDep,
    request: Request,
    settings: SettingsDep,
    depth: Annotated[
        int | None,
        Query(
            ge=1, le=4, description="Link steps to follow; default and most CASEWISE_LINK_DEPTH."
        ),
    ] = None,
) -> dict[str, Any]:
    """Give the other cases sharing a party or an identifier with this one, with the path
    (a key scoped to rulesets: only the cases it may see)."""
    if depth is not None and depth > settings.link_depth:
        detail = {
            "field": "depth",
            "message": f"must be at most {settings.link_depth}",
            "value": depth,
        }
        raise ApiError(
            422,
            "invalid-input",
            f"depth {depth} is more than CASEWISE_LINK_DEPTH ({settings.link_depth})",
            [detail],
        )
    depth = depth or settings.link_depth
    scope = case_scope(request)
    check_case(graph, request, case_id)
    found = reads.links(graph, case_id, depth)
    if not scope.everything:  # a scoped key sees only the linked cases it may see
        visible = reads.in_scope(graph, [f["case"]["id"] for f in found], scope)
        found = [f for f in found if f["case"]["id"] in visible]
    return {"case_id": case_id, "depth": depth, "links": found}
