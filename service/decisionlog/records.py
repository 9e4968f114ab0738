"""A decision as the log records it: built on the request path, turned into a Neo4j row later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson

from service.graph import escalation

OUTPUT_PREFIX = "output."


def record(
    decision: Mapping[str, Any],
    data: Any,
    caller: str | None,
    case_id: str | None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Give the log record of an answered decision (``Decision.to_dict()`` and its input),
    made ``at`` (default now). A decision's intermediate ``values`` are kept when it has any."""
    rec = {
        "id": decision["id"],
        "ruleset": decision["ruleset"],
        "version": decision["version"],
        "input": data,
        "outputs": decision["outputs"],
        "fired": decision["fired"],
        "facts": decision["facts"],
        "at": (at or dt.datetime.now(dt.UTC)).isoformat(),
        "caller": caller,
        "duration_ms": decision["duration_ms"],
        "case_opened": case_id is not None,
        "case_id": case_id,
    }
    values = decision.get("values")
    if values:
        rec["values"] = values
    return rec


def scalar_text(value: Any) -> str:
    """Give the JSON text an output value is stored and filtered as."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def row(rec: Mapping[str, Any]) -> dict[str, Any]:
    """Give the WRITE_DECISIONS row of a spooled record: the node's properties as one map
    (absent values left out, as Neo4j stores no nulls), its time and the case it opens."""
    outputs = rec.get("outputs") or {}
    decision_id = rec["id"]
    props = {
        "id": decision_id,
        "ruleset": rec["ruleset"],
        "version": rec["version"],
        "input": _text(rec.get("input")),
        "outputs": _text(outputs),
        "fired": _text(rec.get("fired") or []),
        "facts": _text(rec.get("facts") or []),
        "caller": rec.get("caller"),
        "duration_ms": rec.get("duration_ms"),
        "case_opened": bool(rec.get("case_opened")),
    }
    if rec.get("values"):  # only a decision with intermediate values has them
        props["values"] = _text(rec["values"])
    for key, value in outputs.items():
        props[OUTPUT_PREFIX + key] = scalar_text(value)
    case = None
    case_id = rec.get("case_id")
    if case_id:
        props["case_id"] = case_id
        case = escalation.case_fields(outputs, rec["ruleset"], decision_id)
        case["id"] = case_id
    return {"id": decision_id, "at": rec["at"], "props": props, "case": case}
