"""Decision routes: one input, or a batch of inputs, against a loaded ruleset.

A decision whose outputs say ``open_case: true`` opens a case in the graph (see
``service.graph.escalation``) and its answer carries ``case_id``. Only those decisions touch
Neo4j on the request path; every other decision is answered on the event loop without it. A
client that sends the header ``Idempotency-Key: K`` gets decision id ``K`` (``K.<index>`` for
batch item ``index``), so asking again finds the case opened the first time instead of opening
a second one.

Every answered decision is recorded (``service.decisionlog``): the answer leaves only after its
record is fsynced in the local spool (group commit; a batch is one group), and the flusher
writes it to Neo4j. A decision that opens a case is written whole, with its case, before it
is answered. When the graph is configured but down, such a decision is still answered, with
the case id it will have: the flusher opens the case when Neo4j is back.
With CASEWISE_DECISION_LOG=off there is no spool to wait in, and such a decision is a 503.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from service.api.body import read_json_object
from service.api.deps import get_registry, get_settings
from service.api.errors import ApiError, PayloadTooLarge, describe_error
from service.api.models import ERRORS, BatchOut, DecisionOut
from service.api.responses import JSON
from service.auth.middleware import principal_of
from service.decisionlog import records
from service.decisionlog import store as decisionlog_store
from service.decisionlog.log import DecisionLog
from service.decisionlog.spool import SpoolError
from service.engine import Registry, Ruleset
from service.graph import escalation
from service.graph.db import GraphHandle, GraphUnavailable
from service.settings import Settings

log = logging.getLogger("casewise.api")

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# Read from request.headers rather than as a FastAPI Header parameter: no per-request
# parameter machinery on the decision path. Documented for /docs here.
_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The decision id to use (1..90 of A-Z a-z 0-9 . _ : -); asking again with "
    "the same key opens no second case. Batch item i gets KEY.i.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,90}$"},
}
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,90}$")

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
    openapi_extra={"requestBody": _INPUT_BODY, "parameters": [_KEY_PARAMETER]},
)
async def decide(ruleset: str, request: Request) -> JSON:
    """Evaluate the ruleset on the input; give outputs, fired rules, facts and version.

    When the outputs say ``open_case: true`` the answer also has ``case_id``: the case the
    decision opened in the graph (null when no graph is configured).
    """
    return await _decide(request, ruleset)


async def decide_route(request: Request) -> JSON:
    """The same route served without FastAPI's per-request parameter solving (see app.py)."""
    return await _decide(request, request.path_params["ruleset"])


async def _decide(request: Request, ruleset: str) -> JSON:
    registry: Registry = request.app.state.registry
    target = registry.get(ruleset)
    decision_id = _decision_id(request)
    data = await read_json_object(request)
    # Evaluation takes well under a millisecond; a thread hop would cost more than it saves.
    # Throughput across cores comes from `casewise serve --workers`.
    decision = target.evaluate(data, decision_id=decision_id).to_dict()
    decision_log: DecisionLog | None = request.app.state.decision_log
    case_id = None
    if escalation.wants_case(decision["outputs"]):
        handle: GraphHandle = request.app.state.graph
        case_id = _no_graph(decision) if not handle.configured else case_id_of(decision)
        decision["case_id"] = case_id
    if case_id is None and decision_log is None:
        return JSON(decision)  # nothing to write: no case, and the log is off
    rec = records.record(decision, data, _caller(request), case_id)
    if case_id is not None and not (decision_log is not None and decision_log.graph_down):
        try:
            await run_in_threadpool(_open_case, request.app.state.graph, rec)
        except GraphUnavailable:
            if decision_log is None:
                raise
            decision_log.mark_graph_down()  # the flusher opens the case when Neo4j is back
    if decision_log is not None:
        await _record(decision_log, [rec])
    return JSON(decision)


async def _record(decision_log: DecisionLog, recs: list[dict[str, Any]]) -> None:
    """Wait until the records are durable; a 503 if the spool cannot take them."""
    try:
        await decision_log.commit(recs)
    except SpoolError as exc:
        raise ApiError(503, exc.code, str(exc)) from exc


def _caller(request: Request) -> str | None:
    principal = principal_of(request)
    return None if principal is None else principal.name


@router.post(
    "/{ruleset}/batch",
    summary="Decide many inputs",
    response_model=BatchOut,
    responses=ERRORS,
    openapi_extra={"requestBody": _BATCH_BODY, "parameters": [_KEY_PARAMETER]},
)
async def decide_batch(
    ruleset: str,
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
) -> JSON:
    """Evaluate the ruleset on every item; each item gets a decision or an error, in order.

    An item whose decision opens a case gets ``case_id`` as a single decision does (with the
    decision log off and the graph down, that item's answer is a ``graph-unavailable`` error
    and the others stand). The records of all items are committed as one group.
    """
    target = registry.get(ruleset)
    prefix = _decision_id(request)
    items = _batch_items(await read_json_object(request), settings.max_batch)
    handle: GraphHandle = request.app.state.graph
    decision_log: DecisionLog | None = request.app.state.decision_log
    results, recs = await run_in_threadpool(
        _decide_all, target, items, handle, prefix, decision_log, _caller(request)
    )
    if decision_log is not None and recs:
        await _record(decision_log, recs)
    return JSON({"results": results})


def _decision_id(request: Request) -> str | None:
    """Give the Idempotency-Key header, the decision id the client chose; None if it sent none."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        detail = {
            "field": "Idempotency-Key",
            "message": "must be 1..90 characters of letters, digits and . _ : -",
            "value": key[:200],
        }
        raise ApiError(422, "invalid-input", "invalid Idempotency-Key header", [detail])
    return key


def case_id_of(decision: dict[str, Any]) -> str:
    """Give the id of the case a decision opens."""
    return escalation.case_id_for(decision["id"])


def _open_case(handle: GraphHandle, rec: dict[str, Any]) -> None:
    """Write the decision whole with the case it opens, so both exist when it is answered.

    GraphUnavailable (503) when the graph does not answer: with the decision log on, the
    caller answers anyway and the flusher writes the same record (merged on ids) later.
    """
    decisionlog_store.write(handle.prepare(), [rec])


_warned = False


def _no_graph(decision: dict[str, Any]) -> str | None:
    """No case for a decision that asks for one, as no graph is configured: say so once."""
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "decision %s asks for a case but NEO4J_URI is not set: no case is opened, and "
            "decisions that ask for one answer case_id null (said once per process)",
            decision["id"],
        )
    return None


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


def _decide_all(
    ruleset: Ruleset,
    items: list[Any],
    handle: GraphHandle,
    prefix: str | None,
    decision_log: DecisionLog | None,
    caller: str | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Give each item's result, and the records of the decisions made."""
    results: list[dict[str, Any]] = []
    recs: list[dict[str, Any]] = []
    deferred = decision_log is not None and decision_log.graph_down
    # Without the decision log, once the graph failed, later items that need it fail at once
    # instead of each waiting out the driver's connection timeout.
    down: GraphUnavailable | None = None
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            detail = {"field": "(item)", "message": "must be a JSON object", "value": item}
            error = ApiError(422, "invalid-input", "batch item must be a JSON object", [detail])
            results.append({"error": describe_error(error)[1]})
            continue
        try:
            decision_id = None if prefix is None else f"{prefix}.{index}"
            decision = ruleset.evaluate(item, decision_id=decision_id).to_dict()
            case_id = None
            if escalation.wants_case(decision["outputs"]):
                case_id = _no_graph(decision) if not handle.configured else case_id_of(decision)
                decision["case_id"] = case_id
            rec = records.record(decision, item, caller, case_id)
            if case_id is not None and not deferred:
                if down is not None:
                    raise down
                try:
                    _open_case(handle, rec)
                except GraphUnavailable as exc:
                    if decision_log is None:
                        down = exc
                        raise
                    decision_log.mark_graph_down()  # the flusher opens the case
                    deferred = True
            results.append({"decision": decision})
            recs.append(rec)
        except Exception as exc:  # one item's failure must not lose the others' answers
            results.append({"error": describe_error(exc)[1]})
    return results, recs
