"""Ruleset routes (what is served) and the health probes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from service.api.models import ERRORS, Health, Ready, RulesetDetail, RulesetList
from service.auth.middleware import principal_of
from service.auth.principals import Principal
from service.engine import Registry, Ruleset
from service.http.deps import get_registry
from service.http.readiness import Readiness
from service.http.responses import JSON

router = APIRouter(tags=["rulesets"])
probes = APIRouter(tags=["health"])

RegistryDep = Annotated[Registry, Depends(get_registry)]


def summary(ruleset: Ruleset) -> dict[str, Any]:
    """Give a ruleset's name, description, version and how many inputs, outputs, rules it has."""
    described = ruleset.describe()
    counts = {key: len(described.get(part) or ()) for key, part in _COUNTED}
    return {
        "name": ruleset.name,
        "description": ruleset.description,
        "version": ruleset.version,
        "counts": counts,
    }


_COUNTED = (("inputs", "input"), ("outputs", "output"), ("rules", "rules"), ("tables", "tables"))


@router.get("/v1/rulesets", summary="List the served rulesets", response_model=RulesetList)
async def list_rulesets(request: Request, registry: RegistryDep) -> JSON:
    """Give every served ruleset the caller may use, sorted by name (a key: its rulesets)."""
    principal = principal_of(request)
    served = sorted(registry, key=lambda r: r.name)
    return JSON({"rulesets": [summary(r) for r in served if may_see(principal, r.name)]})


def may_see(principal: Principal | None, name: str | None) -> bool:
    """Tell whether the caller may see ruleset ``name``: a key only its own rulesets (a file
    that names none is nobody's), everyone else every ruleset."""
    if principal is None or principal.rulesets is None:
        return True
    return name is not None and principal.may_use(name)


@router.get(
    "/v1/rulesets/{name}",
    summary="Describe one ruleset",
    response_model=RulesetDetail,
    responses={404: ERRORS[404]},
)
async def get_ruleset(name: str, registry: RegistryDep) -> JSON:
    """Give the ruleset's input and output schema, rules and tables."""
    return JSON(registry.get(name).describe())


@probes.get("/healthz", summary="The process is alive", response_model=Health)
async def healthz() -> JSON:
    return JSON({"status": "ok"})


@probes.get(
    "/readyz",
    summary="Rulesets are loaded, the spool keeps up, the case graph answers",
    response_model=Ready,
    responses={503: {"model": ERRORS[404]["model"], "description": "Not ready: see details."}},
)
async def readyz(request: Request) -> JSON:
    """Answer 200 once at least one ruleset is served, the spool's backlog is under its
    high-water mark and the configured Neo4j answers; 503 with the problems otherwise
    (``casewise serve`` gives this answer at the connection, service.http.shedding)."""
    readiness: Readiness = request.app.state.readiness
    status, body = await readiness.answer()
    return JSON(body, status_code=status)
