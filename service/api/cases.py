"""Case routes: write cases with their parties, evidence and events; read them back.

The routes are plain ``def``s, so FastAPI runs them (and their Neo4j calls) in its thread pool
and the event loop stays free for decisions. Without a case graph (NEO4J_URI unset, or Neo4j
not answering) every route here answers 503 ``graph-unavailable``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from service.api.deps import get_settings
from service.api.errors import ApiError, PayloadTooLarge
from service.api.models import ERRORS, ErrorResponse
from service.auth.middleware import principal_of
from service.graph import cases, reads
from service.graph.db import Graph, GraphHandle
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


def get_graph(request: Request) -> Graph:
    """Give the case graph, checked and with its schema; GraphUnavailable (503) if there is none."""
    handle: GraphHandle = request.app.state.graph
    return handle.prepare()


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


def _written(summary: cases.WriteSummary) -> dict[str, Any]:
    return {"written": summary.to_dict()}


@router.post("", summary="Create or update cases", responses=RESPONSES)
def post_cases(body: CasesIn, graph: GraphDep, settings: SettingsDep) -> dict[str, Any]:
    """Write the cases with their parties, evidence and events, all or nothing; idempotent."""
    _check_batch(len(body.cases), settings, "cases")
    return _written(cases.upsert_cases(graph, body.cases))


@router.post("/{case_id}/parties", summary="Add parties to a case", responses=RESPONSES)
def post_parties(
    case_id: CaseId, body: PartiesIn, graph: GraphDep, settings: SettingsDep
) -> dict[str, Any]:
    """Add people or organisations, in their roles, with their identifiers."""
    _check_batch(len(body.parties), settings, "parties")
    return _written(cases.add_parties(graph, case_id, body.parties))


@router.post("/{case_id}/evidence", summary="Add evidence to a case", responses=RESPONSES)
def post_evidence(
    case_id: CaseId, body: EvidenceIn, graph: GraphDep, settings: SettingsDep
) -> dict[str, Any]:
    """Add evidence supporting or contradicting the case; ``concerns`` names known parties."""
    _check_batch(len(body.evidence), settings, "evidence")
    return _written(cases.add_evidence(graph, case_id, body.evidence))


@router.post("/{case_id}/events", summary="Add events to a case", responses=RESPONSES)
def post_events(
    case_id: CaseId, body: EventsIn, graph: GraphDep, settings: SettingsDep
) -> dict[str, Any]:
    """Add events (what happened, when, by whom)."""
    _check_batch(len(body.events), settings, "events")
    return _written(cases.add_events(graph, case_id, body.events))


@router.post("/{case_id}/close", summary="Close a case", responses=RESPONSES)
def post_close(case_id: CaseId, body: CloseIn, graph: GraphDep) -> dict[str, Any]:
    """Close the case with an outcome; closing again with the same body changes nothing."""
    return {"case": cases.close_case(graph, case_id, body)}


@router.post("/{case_id}/assign", summary="Assign a case to someone", responses=RESPONSES)
def post_assign(
    case_id: CaseId, body: AssignIn, graph: GraphDep, request: Request
) -> dict[str, Any]:
    """Give the case to ``assignee`` (null: to no one); the change is an event in its timeline.

    Assigning to whoever has it already changes nothing (``changed: false``).
    """
    principal = principal_of(request)
    actor = principal.name if principal is not None else None
    return cases.assign_case(graph, case_id, body.assignee, actor)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@router.get("", summary="List cases", responses=RESPONSES)
def get_cases(
    graph: GraphDep,
    case_type: Annotated[
        str | None, Query(alias="type", pattern=CASE_TYPE_PATTERN, description="Case type.")
    ] = None,
    status: Annotated[CaseStatus | None, Query(description="open, pending or closed.")] = None,
    due_before: Annotated[
        dt.datetime | None, Query(description="Only cases due before this time (UTC if naive).")
    ] = None,
    assignee: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only cases assigned to …")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
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
    )


@router.get("/{case_id}", summary="One case with everything in it", responses=RESPONSES)
def get_case(case_id: CaseId, graph: GraphDep) -> dict[str, Any]:
    """Give the case with its parties (roles, identifiers), evidence, events and decisions."""
    return reads.get_case(graph, case_id)


@router.get("/{case_id}/timeline", summary="A case's timeline", responses=RESPONSES)
def get_timeline(case_id: CaseId, graph: GraphDep) -> dict[str, Any]:
    """Give the case's events, evidence and routing decisions in time order."""
    return {"case_id": case_id, "entries": reads.timeline(graph, case_id)}


@router.get("/{case_id}/links", summary="Cases linked to a case", responses=RESPONSES)
def get_links(
    case_id: CaseId,
    graph: GraphDep,
    settings: SettingsDep,
    depth: Annotated[
        int | None,
        Query(
            ge=1, le=4, description="Link steps to follow; default and most CASEWISE_LINK_DEPTH."
        ),
    ] = None,
) -> dict[str, Any]:
    """Give the other cases sharing a party or an identifier with this one, with the path."""
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
    return {"case_id": case_id, "depth": depth, "links": reads.links(graph, case_id, depth)}
