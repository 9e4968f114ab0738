"""Recommendation routes: a case's recommended next actions, and experts deciding on them.

Without a case graph every route answers 503 ``graph-unavailable``; no route changes or
deletes an expert decision (deciding twice is 409 ``already-decided``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from service.api.cases import (
    RESPONSES,
    CaseId,
    GraphDep,
    acts_for_named,
    case_scope,
    check_case,
    check_expert,
)
from service.api.models import ErrorResponse
from service.auth.middleware import principal_of
from service.graph import reads
from service.graph.models import ID_PATTERN
from service.recommend import feedback, reasons
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend
from service.recommend.similar import similar_actions

router = APIRouter(prefix="/v1/cases", tags=["recommendations"])

DECIDE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **RESPONSES,
    404: {"model": ErrorResponse, "description": "Unknown case or recommendation."},
    409: {"model": ErrorResponse, "description": "An expert decided on it already."},
}

RecommendationId = Annotated[
    str, Path(pattern=ID_PATTERN, description="The recommendation's id (rec-...).")
]
ExpertId = Annotated[str, Field(pattern=ID_PATTERN, description="The expert's id.")]


class AcceptIn(BaseModel):
    """The expert who took the recommended action."""

    model_config = ConfigDict(extra="forbid")
    expert: ExpertId


class OverrideIn(BaseModel):
    """The expert, the action taken instead, and why."""

    model_config = ConfigDict(extra="forbid")
    expert: ExpertId
    action: str = Field(min_length=1, max_length=100, description="An action of the catalogue.")
    reason: str = Field(max_length=2000, description="Why, in at least three words.")


def _playbooks(request: Request) -> PlaybookRegistry:
    registry: PlaybookRegistry = request.app.state.playbooks
    return registry


def _expert(request: Request, named: str) -> str:
    """Give the expert who decides: a signed-in expert themself; a system key names one, who
    must be an existing expert user (else a 422)."""
    principal = principal_of(request)
    if principal is not None and principal.kind == "user":
        return principal.name
    if acts_for_named(request):
        check_expert(request, named, "expert")
    return named


@router.get(
    "/{case_id}/recommendations", summary="A case's recommended actions", responses=RESPONSES
)
def get_recommendations(case_id: CaseId, graph: GraphDep, request: Request) -> dict[str, Any]:
    """Give the case's recommended next actions, highest score first, each with its reasons
    in words (what the case shares with which cases and how they ended, the evidence by name
    and state), its score explained, the facts its rule read and the evidence behind them
    (for a key scoped to rulesets, the ids of cases it may not see, and of what only they
    have, are null); none for a closed case."""
    check_case(graph, request, case_id)
    registry = _playbooks(request)
    items = recommend(graph, registry, registry.actions, case_id)
    # a scoped key is told nothing of cases it may not see, in words or in ids
    hidden = reasons.unseen(graph, case_id, items, case_scope(request))
    if hidden:  # a playbook is named after its case type
        reasons.describe(graph, case_id, str(items[0]["playbook"]), items, hidden=hidden)
        reasons.conceal(items, hidden)
    return {"case_id": case_id, "recommendations": items}


@router.get(
    "/{case_id}/similar-actions",
    summary="What experts did next in similar closed cases",
    responses=RESPONSES,
)
def get_similar_actions(case_id: CaseId, graph: GraphDep, request: Request) -> dict[str, Any]:
    """Give the actions experts took next in the closed cases most like this one (same type;
    overlap of evidence kinds, event history and party roles), each with those cases."""
    check_case(graph, request, case_id)
    found = similar_actions(graph, case_id)
    scope = case_scope(request)
    if not scope.everything:  # a scoped key learns nothing of the cases it may not see
        visible = reads.in_scope(graph, [c for f in found for c in f["cases"]], scope)
        kept = [
            {**f, "cases": cases, "count": len(cases)}
            for f in found
            if (cases := [c for c in f["cases"] if c in visible])
        ]
        found = sorted(kept, key=lambda f: (-f["count"], f["action"]))
    return {"case_id": case_id, "similar_actions": found}


@router.post(
    "/{case_id}/recommendations/{rid}/accept",
    summary="Accept a recommendation",
    responses=DECIDE_RESPONSES,
)
def post_accept(
    case_id: CaseId, rid: RecommendationId, body: AcceptIn, graph: GraphDep, request: Request
) -> dict[str, Any]:
    """Record that the expert took the recommended action (an event in the case's timeline)."""
    check_case(graph, request, case_id)
    expert = _expert(request, body.expert)
    catalogue = _playbooks(request).actions
    return {"decision": feedback.accept(graph, case_id, rid, expert, catalogue=catalogue)}


@router.post(
    "/{case_id}/recommendations/{rid}/override",
    summary="Override a recommendation",
    responses=DECIDE_RESPONSES,
)
def post_override(
    case_id: CaseId, rid: RecommendationId, body: OverrideIn, graph: GraphDep, request: Request
) -> dict[str, Any]:
    """Record that the expert took another action instead, and why."""
    check_case(graph, request, case_id)
    registry = _playbooks(request)
    expert = _expert(request, body.expert)
    decision = feedback.override(
        graph, case_id, rid, expert, body.action, body.reason, catalogue=registry.actions
    )
    return {"decision": decision}
