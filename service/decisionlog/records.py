"""A decision as the log records it: built on the request path, turned into a Neo4j row later."""

from __future__ import annotations

import datetime as dt
import hashlib
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


def record_digest(rec: Mapping[str, Any]) -> str:
    """Give the SHA-256 of a record: the same for the same record written again, different for
    another decision that reuses its id (WRITE_DECISIONS lets only the first one write)."""
    return hashlib.sha256(orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)).hexdigest()


def row(rec: Mapping[str, Any]) -> dict[str, Any]:
    """Give the WRITE_DECISIONS row of a spooled record."""
    outputs = rec.get("outputs") or {}
    case_id = rec.get("case_id")
    case = None
    if case_id:
        case = escalation.case_fields(outputs, rec["ruleset"], rec["id"])
        case["id"] = case_id
    return {
        "id": rec["id"],
        "version": rec["version"],
        "at": rec["at"],
        "props": {
            "ruleset": rec["ruleset"],
            "version": rec["version"],
            "input": _text(rec.get("input")),
            "outputs": _text(outputs),
            "fired": _text(rec.get("fired") or []),
            "facts": _text(rec.get("facts") or []),
            # absent (null in Neo4j) for a decision without intermediate values
            "values": _text(rec["values"]) if rec.get("values") else None,
            "caller": rec.get("caller"),
            "duration_ms": rec.get("duration_ms"),
            "case_opened": bool(rec.get("case_opened")),
            "case_id": case_id,
            "record_digest": record_digest(rec),
        },
        "out": {OUTPUT_PREFIX + key: scalar_text(value) for key, value in outputs.items()},
        "case": case,
        "keyed": bool(rec.get("keyed")),  # its id is in the index of chosen ids
    }
