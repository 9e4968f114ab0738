"""Idempotency-Key replays: a chosen decision id claimed once, and the first answer given again.

A decision sent with ``Idempotency-Key: K`` claims id K in the index beside the spool
(``service.decisionlog.keys``) before it opens a case or is spooled. A replay by the same caller
of the same ruleset with the same input gets the first answer, from the index while only the
spool has the record, from the decision log in Neo4j after that; any other use of K is a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from service.decisionlog import keys
from service.decisionlog import store as decisionlog_store
from service.decisionlog.keys import Claim, Holder, KeyIndex
from service.decisionlog.log import DecisionLog
from service.graph import escalation
from service.graph.db import GraphError, GraphHandle
from service.http.errors import ApiError
from service.settings import Settings


def _caller_identity(rec: dict[str, Any]) -> str:
    return rec.get("caller") or ""


def key_index(request: Request) -> KeyIndex:
    """Give the index of chosen decision ids: the decision log's, or (log off) one of its own."""
    decision_log: DecisionLog | None = request.app.state.decision_log
    if decision_log is not None and decision_log.keys is not None:
        return decision_log.keys
    index: KeyIndex | None = getattr(request.app.state, "decision_keys", None)
    if index is None:
        settings: Settings = request.app.state.settings
        index = KeyIndex.beside(settings.spool_dir)  # SpoolError (503) if it cannot be made
        request.app.state.decision_keys = index
    return index


def claim_of(rec: dict[str, Any], data: Any) -> Claim:
    rec["keyed"] = True  # the flusher tells the index once Neo4j has it
    return Claim(rec["id"], _caller_identity(rec), rec["ruleset"], keys.digest(data), rec)


@dataclass(frozen=True)
class First:
    """The first answer under a decision id, and its record while only the spool has it."""

    answer: dict[str, Any]
    record: dict[str, Any] | None


def first_answer(handle: GraphHandle, claim: Claim, holder: Holder) -> First:
    """Give the first answer of a replayed id; IdempotencyConflict if the replay differs."""
    differs = holder.differences(claim)
    if differs:
        raise conflict(claim.id, differs)
    if holder.record is not None:
        return First(answer_of(holder.record), holder.record)
    # The record is in Neo4j (the index let go of it once the flusher wrote it).
    try:
        found = decisionlog_store.get_decision(handle.prepare(), claim.id)
    except decisionlog_store.DecisionNotFound:
        raise ApiError(
            503,
            "decision-log-unavailable",
            f"decision {claim.id!r} was answered before, but its record is not in the decision "
            "log yet; ask again in a moment",
        ) from None
    except GraphError as exc:
        raise ApiError(
            503,
            "graph-unavailable",
            f"decision {claim.id!r} was answered before, and its answer is in the decision log, "
            f"which does not answer now ({exc}); ask again when Neo4j is back",
        ) from exc
    return First(answer_of(found), None)


def conflict(decision_id: str, differs: list[str]) -> ApiError:
    """Give the 409 of an Idempotency-Key used before by another decision."""
    what = " and ".join(differs)
    message = (
        f"Idempotency-Key {decision_id!r} is the id of an earlier decision with another {what}; "
        "a key stands for one decision: send a new key for a new decision"
    )
    detail = {"field": "Idempotency-Key", "message": f"differs in: {', '.join(differs)}",
              "value": decision_id}  # fmt: skip
    return ApiError(409, "idempotency-conflict", message, [detail])


_ANSWER_FIELDS = ("id", "ruleset", "version", "outputs", "fired", "facts", "duration_ms")


def answer_of(rec: dict[str, Any]) -> dict[str, Any]:
    """Give the answer a decision got, from its log record."""
    answer = {name: rec.get(name) for name in _ANSWER_FIELDS}
    if rec.get("values"):
        answer["values"] = rec["values"]
    if escalation.wants_case(answer["outputs"] or {}):
        answer["case_id"] = rec.get("case_id")
    return answer
