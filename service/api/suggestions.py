"""``GET /v1/suggestions``: playbook rules experts keep overriding, with a proposed change.

A plain ``def`` route, so FastAPI runs its Neo4j reads in the thread pool; proposed changes
are checked against the action catalogue the service loaded at start-up. The thresholds are
CASEWISE_SUGGEST_MIN_RATE and CASEWISE_SUGGEST_MIN_DECISIONS unless the query gives others.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from service.api.cases import RESPONSES, GraphDep
from service.api.deps import get_settings
from service.recommend import mining, routing
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings

router = APIRouter(prefix="/v1/suggestions", tags=["recommendations"])


@router.get("", summary="Suggested playbook changes", responses=RESPONSES)
def get_suggestions(
    request: Request,
    graph: GraphDep,
    settings: Annotated[Settings, Depends(get_settings)],
    min_rate: Annotated[
        float | None, Query(gt=0, le=1, description="Override rate from which a rule is listed.")
    ] = None,
    min_decisions: Annotated[
        int | None,
        Query(ge=1, le=2**31, description="Fewest decisions on a rule before it is judged."),
    ] = None,
    playbook: Annotated[str | None, Query(description="Only this playbook's rules.")] = None,
    ruleset: Annotated[
        str | None, Query(description="Only this ruleset's escalating rules.")
    ] = None,
) -> dict[str, Any]:
    """List rules overridden often enough, with the alternative, reasons, cases and a diff;
    and escalating routing rules whose cases experts close with no action."""
    served: PlaybookRegistry = request.app.state.playbooks  # the catalogue loaded at start-up
    catalogue = {a.id: tuple(a.case_types) for a in served.actions.values()}
    rate = settings.suggest_min_rate if min_rate is None else min_rate
    least = settings.suggest_min_decisions if min_decisions is None else min_decisions
    # `playbook` alone asks for playbook rules only, `ruleset` alone for routing rules only.
    found = (
        []
        if ruleset and not playbook
        else mining.suggest(
            graph,
            settings.knowledge_dir / "playbooks",
            set(catalogue),
            min_rate=rate,
            min_decisions=least,
            case_types=catalogue,
            playbook=playbook,
        )
    )
    escalations = (
        []
        if playbook and not ruleset
        else routing.suggest_routing(
            graph,
            settings.rules_dir,
            routing.outcome_set(settings.suggest_no_action_outcomes),
            min_rate=rate,
            min_cases=least,
            ruleset=ruleset,
            max_firings=settings.max_firings,
        )
    )
    return {
        "suggestions": [s.to_dict() for s in found],
        "routing_suggestions": [s.to_dict() for s in escalations],
    }
