"""Decision routes: one input, or a batch of inputs, against a loaded ruleset.

A decision whose outputs say ``open_case: true`` opens a case in the graph (see
``service.graph.escalation``) and its answer carries ``case_id``. Only those decisions touch
Neo4j on the request path; every other decision is answered on the event loop without it.

A client that sends the header ``Idempotency-Key: K`` gets decision id ``K`` (``K.<index>`` for
batch item ``index``). The id is claimed in the index of chosen ids beside the spool
(``service.decisionlog.keys``, shared by the workers) before anything is written: asking again
from the same caller with the same input gives the first answer (same outputs, same case, nothing
logged or opened twice); from another caller, for another ruleset or with another input it is a
409 ``idempotency-conflict``. A batch item id and a single decision's id share that index, so
they never take each other's place; and the log's writes to Neo4j keep the first record.

A decision asked by an author (a user, or a key with the role author) is a dry run: answered with
``dry_run: true`` and ``would_open_case``, with no case opened, nothing logged, no id claimed.

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

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from service.api.body import LARGE_KEY, read_json_object
from service.api.models import DECISION_ERRORS, BatchOut, DecisionOut
from service.api.replays import claim_of, first_answer, key_index
from service.auth.middleware import principal_of
from service.auth.principals import Principal
from service.decisionlog import records
from service.decisionlog import store as decisionlog_store
from service.decisionlog.keys import Claim, KeyIndex
from service.decisionlog.log import DecisionLog
from service.engine import Registry, Ruleset
from service.graph import escalation
from service.graph.db import GraphHandle, GraphUnavailable
from service.http.deps import get_registry, get_settings
from service.http.errors import ApiError, PayloadTooLarge, describe_error
from service.http.requestlog import note_batch, note_decision
from service.http.responses import JSON, render_json
from service.settings import Settings

log = logging.getLogger("casewise.api")

# Documents the bearer scheme in OpenAPI; the AuthMiddleware checks the key before a route runs.
BEARER = HTTPBearer(
    scheme_name="bearer",
    description="An API key (`casewise keys create`), or a signed-in session cookie.",
    auto_error=False,
)
router = APIRouter(prefix="/v1/decisions", tags=["decisions"], dependencies=[Security(BEARER)])

RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# Read from request.headers rather than as a FastAPI Header parameter: no per-request
# parameter machinery on the decision path. Documented for /docs here.
_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The decision id to use (1..90 of A-Z a-z 0-9 . _ : -); asking again with "
    "the same key, from the same caller with the same input, gives the first answer and opens "
    "no second case; from another caller or with another input it is a 409. Batch item i gets "
    "KEY.i.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,90}$"},
}
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,90}$")

_INPUT_BODY = {
    "required": True,
    "description": "The input object, checked against the ruleset's input schema "
    "(GET /v1/rulesets/{name} describes it).",
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
    responses=DECISION_ERRORS,
    openapi_extra={"requestBody": _INPUT_BODY, "parameters": [_KEY_PARAMETER]},
)
async def decide(ruleset: str, request: Request) -> JSON:
    """Evaluate the ruleset on the input; give outputs, fired rules, facts and version.

    When the outputs say ``open_case: true`` the answer also has ``case_id``: the case the
    decision opened in the graph (null when no graph is configured). An author's decision is a
    dry run: ``dry_run: true`` and ``would_open_case``, no case opened, nothing logged.
    """
    return JSON(await _decide(request, ruleset))


class DecideRoute:
    """The same route as a plain ASGI app (see app.py), which Starlette's ``Route`` serves as
    it is (a function it would wrap, per request): no parameter solving, no wrapper, the answer
    sent as two messages. Errors go to the app's handlers as any route's do."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        body = render_json(await _decide(request, scope["path_params"]["ruleset"]))
        length = (b"content-length", str(len(body)).encode("ascii"))
        start = {"type": "http.response.start", "status": 200, "headers": [length, _JSON_TYPE]}
        await send(start)
        await send({"type": "http.response.body", "body": body})


decide_route = DecideRoute()
_JSON_TYPE = (b"content-type", b"application/json")


async def _decide(request: Request, ruleset: str) -> dict[str, Any]:
    """Give the answer to a single decision request."""
    state = request.app.state
    registry: Registry = state.registry
    target = registry.get(ruleset)
    decision_id = _decision_id(request)
    data = await read_json_object(request)
    # Evaluation takes well under a millisecond; a thread hop would cost more than it saves.
    # Throughput across cores comes from `casewise serve --workers`.
    if LARGE_KEY in request.scope:  # a large input is checked off the loop: /healthz answers
        decided = await run_in_threadpool(target.evaluate, data, decision_id=decision_id)
        decision = decided.to_dict()
    else:
        decision = target.evaluate(data, decision_id=decision_id).to_dict()
    note_decision(request.scope, decision)  # for the request's log line and metrics
    principal = principal_of(request)
    if dry_run(principal):
        return _dry_answer(decision)
    decision_log: DecisionLog | None = state.decision_log
    handle: GraphHandle = state.graph
    case_id = None
    if escalation.wants_case(decision["outputs"]):
        case_id = _no_graph(decision) if not handle.configured else case_id_of(decision)
        decision["case_id"] = case_id
    if case_id is None and decision_log is None and decision_id is None:
        return decision  # nothing to write: no case, the log is off, no id to keep
    rec = records.record(decision, data, caller_of(principal), case_id)
    if decision_id is not None:
        claim = claim_of(rec, data)
        index = key_index(request)
        holder = (await run_in_threadpool(index.claim, [claim]))[0]
        if holder is not None:
            first = await run_in_threadpool(first_answer, handle, claim, holder)
            if first.record is not None and decision_log is not None:
                await decision_log.commit([first.record])  # in case it never reached the spool
            return first.answer
        try:
            await _write(request, decision_log, handle, rec, case_id)
        except Exception:
            await run_in_threadpool(index.release, [claim])  # nothing answered: free the id
            raise
        return decision
    await _write(request, decision_log, handle, rec, case_id)
    return decision


async def _write(
    request: Request,
    decision_log: DecisionLog | None,
    handle: GraphHandle,
    rec: dict[str, Any],
    case_id: str | None,
) -> None:
    """Open the decision's case (if any), then wait until its record is durable."""
    if case_id is not None and not (decision_log is not None and decision_log.graph_down):
        try:
            await run_in_threadpool(_open_case, handle, rec)
        except GraphUnavailable:
            if decision_log is None:
                raise
            decision_log.mark_graph_down()  # the flusher opens the case when Neo4j is back
    if decision_log is not None:
        await decision_log.commit([rec])  # SpoolError (503) if the spool cannot take it


def dry_run(principal: Principal | None) -> bool:
    """Tell whether a caller's decisions are dry runs: an author's (user or key) are."""
    return principal is not None and principal.role == "author"


def _dry_answer(decision: dict[str, Any]) -> dict[str, Any]:
    return {
        **decision,
        "dry_run": True,
        "would_open_case": escalation.wants_case(decision["outputs"]),
    }


def caller_of(principal: Principal | None) -> str | None:
    """Give the caller's name as the log records it (None in open mode)."""
    return None if principal is None else principal.name


@router.post(
    "/{ruleset}/batch",
    summary="Decide many inputs",
    response_model=BatchOut,
    responses=DECISION_ERRORS,
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
    and the others stand). The records of all items are committed as one group. An item whose
    id (``KEY.i``) an earlier decision took gets that decision's answer if it is the same
    caller's with the same input, else an ``idempotency-conflict`` error.
    """
    target = registry.get(ruleset)
    prefix = _decision_id(request)
    items = _batch_items(await read_json_object(request), settings.max_batch)
    principal = principal_of(request)
    if dry_run(principal):
        results = await run_in_threadpool(_dry_all, target, items, prefix)
        return JSON({"results": note_batch(request.scope, results)})
    handle: GraphHandle = request.app.state.graph
    decision_log: DecisionLog | None = request.app.state.decision_log
    index = key_index(request) if prefix is not None else None
    results, recs, claimed = await run_in_threadpool(
        _decide_all, target, items, handle, prefix, decision_log, caller_of(principal), index
    )
    if decision_log is not None and recs:
        try:
            await decision_log.commit(recs)
        except ApiError:
            if index is not None and claimed:  # nothing answered: the ids are free again
                await run_in_threadpool(index.release, claimed)
            raise
    return JSON({"results": note_batch(request.scope, results)})


def _decision_id(request: Request) -> str | None:
    """Give the Idempotency-Key header, the decision id the client chose; None if it sent none."""
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    for name, value in headers:  # no Headers object on the hot path
        if name == b"idempotency-key":
            key = value.decode("latin-1")
            break
    else:
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


def _item_error(item: Any) -> dict[str, Any]:
    detail = {"field": "(item)", "message": "must be a JSON object", "value": item}
    error = ApiError(422, "invalid-input", "batch item must be a JSON object", [detail])
    return {"error": describe_error(error)[1]}


def _dry_all(ruleset: Ruleset, items: list[Any], prefix: str | None) -> list[dict[str, Any]]:
    """Give each item's dry-run answer (an author's batch): nothing opened or logged."""
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results.append(_item_error(item))
            continue
        try:
            decision_id = None if prefix is None else f"{prefix}.{index}"
            decision = ruleset.evaluate(item, decision_id=decision_id).to_dict()
            results.append({"decision": _dry_answer(decision)})
        except Exception as exc:  # one item's failure must not lose the others' answers
            results.append({"error": describe_error(exc)[1]})
    return results


def _decide_all(
    ruleset: Ruleset,
    items: list[Any],
    handle: GraphHandle,
    prefix: str | None,
    decision_log: DecisionLog | None,
    caller: str | None,
    index: KeyIndex | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Claim]]:
    """Give each item's result, the records of the decisions made (and replayed), and the ids
    claimed for the decisions made."""
    results: list[dict[str, Any] | None] = []
    decided: list[tuple[int, dict[str, Any], dict[str, Any], Any]] = []
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            results.append(_item_error(item))
            continue
        try:
            decision_id = None if prefix is None else f"{prefix}.{number}"
            decision = ruleset.evaluate(item, decision_id=decision_id).to_dict()
            case_id = None
            if escalation.wants_case(decision["outputs"]):
                case_id = _no_graph(decision) if not handle.configured else case_id_of(decision)
                decision["case_id"] = case_id
            rec = records.record(decision, item, caller, case_id)
        except Exception as exc:  # one item's failure must not lose the others' answers
            results.append({"error": describe_error(exc)[1]})
            continue
        results.append(None)
        decided.append((number, decision, rec, item))
    recs: list[dict[str, Any]] = []
    fresh = decided
    if index is not None and decided:
        claims = [claim_of(rec, item) for _, _, rec, item in decided]
        holders = index.claim(claims)
        fresh = []
        for (number, decision, rec, item), claim, holder in zip(
            decided, claims, holders, strict=True
        ):
            if holder is None:
                fresh.append((number, decision, rec, item))
                continue
            try:
                first = first_answer(handle, claim, holder)
            except Exception as exc:
                results[number] = {"error": describe_error(exc)[1]}
                continue
            results[number] = {"decision": first.answer}
            if first.record is not None:
                recs.append(first.record)  # in case it never reached the spool
    deferred = decision_log is not None and decision_log.graph_down
    # Without the decision log, once the graph failed, later items that need it fail at once
    # instead of each waiting out the driver's connection timeout.
    down: GraphUnavailable | None = None
    failed: list[Claim] = []
    claimed: list[Claim] = []
    for number, decision, rec, item in fresh:
        try:
            if rec["case_id"] is not None and not deferred:
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
            results[number] = {"decision": decision}
            recs.append(rec)
            if index is not None:
                claimed.append(claim_of(rec, item))
        except Exception as exc:  # one item's failure must not lose the others' answers
            results[number] = {"error": describe_error(exc)[1]}
            if index is not None:
                failed.append(claim_of(rec, item))
    if failed and index is not None:
        index.release(failed)  # not answered as decided: the ids are free again
    return [r for r in results if r is not None], recs, claimed
