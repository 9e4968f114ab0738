"""Decision routes: one input, or a batch of inputs, against a loaded ruleset."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from service.api.body import read_json_object
from service.api.deps import get_registry, get_settings
from service.api.errors import ApiError, PayloadTooLarge, describe_error
from service.api.models import ERRORS, BatchOut, DecisionOut
from service.api.responses import JSON
from service.engine import Registry, Ruleset
from service.settings import Settings

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_INPUT_BODY = {
    "required": True,
    "description": "The input object, checked against the ruleset's input schema.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": True},
            "example": {"amount": 120, "department": "IT", "vendor": {"risk": "low"}},
        }
    },
}

_BATCH_BODY = {
    "required": True,
    "description": "Inputs to decide, each answered on its own (CASEWISE_MAX_BATCH at most).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["items"],
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "additionalProperties": True},
                    }
                },
            },
            "example": {"items": [{"amount": 120, "department": "IT"}, {"amount": -1}]},
        }
    },
}


@router.post(
    "/{ruleset}",
    summary="Decide one input",
    response_model=DecisionOut,
    responses=ERRORS,
    openapi_extra={"requestBody": _INPUT_BODY},
)
async def decide(ruleset: str, request: Request, registry: RegistryDep) -> JSON:
    """Evaluate the ruleset on the input; give outputs, fired rules, facts and version."""
    target = registry.get(ruleset)
    data = await read_json_object(request)
    # Evaluation takes well under a millisecond; a thread hop would cost more than it saves.
    # Throughput across cores comes from `casewise serve --workers`.
    return JSON(target.evaluate(data).to_dict())


@router.post(
    "/{ruleset}/batch",
    summary="Decide many inputs",
    response_model=BatchOut,
    responses=ERRORS,
    openapi_extra={"requestBody": _BATCH_BODY},
)
async def decide_batch(
    ruleset: str, request: Request, registry: RegistryDep, settings: SettingsDep
) -> JSON:
    """Evaluate the ruleset on every item; each item gets a decision or an error, in order."""
    target = registry.get(ruleset)
    items = _batch_items(await read_json_object(request), settings.max_batch)
    results = await run_in_threadpool(_decide_all, target, items)
    return JSON({"results": results})


def _batch_items(body: dict[str, Any], max_batch: int) -> list[Any]:
    unknown = sorted(set(body) - {"items"})
    details: list[dict[str, Any]] = [
        {"field": key, "message": "unknown key; the body has only 'items'", "value": None}
        for key in unknown
    ]
    items = body.get("items")
    if not isinstance(items, list):
        message = "is required" if items is None else "must be an array of input objects"
        details.insert(0, {"field": "items", "message": message, "value": None})
    if details:
        fields = ", ".join(str(d["field"]) for d in details)
        raise ApiError(422, "invalid-input", f"invalid batch body: {fields}", details)
    assert isinstance(items, list)
    if len(items) > max_batch:
        raise PayloadTooLarge(
            f"batch has {len(items)} items, more than {max_batch}; split it "
            "or raise CASEWISE_MAX_BATCH",
            [{"limit": max_batch, "items": len(items)}],
        )
    return items


def _decide_all(ruleset: Ruleset, items: list[Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            detail = {"field": "(item)", "message": "must be a JSON object", "value": item}
            error = ApiError(422, "invalid-input", "batch item must be a JSON object", [detail])
            results.append({"error": describe_error(error)[1]})
            continue
        try:
            results.append({"decision": ruleset.evaluate(item).to_dict()})
        except Exception as exc:  # one item's failure must not lose the others' answers
            results.append({"error": describe_error(exc)[1]})
    return results
