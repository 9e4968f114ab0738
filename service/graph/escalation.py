"""Escalation: a routing decision whose outputs say ``open_case: true`` opens a case.

The case id is ``case-<decision id>``; the decision log writes it with the decision
(``service.decisionlog``: ``WRITE_DECISIONS``), both merged on their ids and the first record
kept, so asking again with the same decision id (``Idempotency-Key``) finds the case opened the
first time (and ``service.api.decisions`` answers a replay with the first answer). The case's
type is the output ``case_type``, or the ruleset's name when the rules set none; its priority is
the output ``case_priority`` (1..5) or 3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from service.graph.models import CASE_TYPE_PATTERN

DEFAULT_PRIORITY = 3
CASE_ID_PREFIX = "case-"


def wants_case(outputs: Mapping[str, Any]) -> bool:
    """Tell whether a decision's outputs ask for a case (``open_case`` is exactly true)."""
    return outputs.get("open_case") is True


def case_id_for(decision_id: str) -> str:
    """Give the id of the case a decision opens."""
    return CASE_ID_PREFIX + decision_id


def _case_type(outputs: Mapping[str, Any], ruleset: str) -> str:
    value = outputs.get("case_type")
    if isinstance(value, str) and re.match(CASE_TYPE_PATTERN, value):
        return value
    return ruleset


def _priority(outputs: Mapping[str, Any]) -> int:
    value = outputs.get("case_priority")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return value
    return DEFAULT_PRIORITY


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def case_fields(outputs: Mapping[str, Any], ruleset: str, decision_id: str) -> dict[str, Any]:
    """Give the id, type, priority and attributes of the case a decision opens."""
    return {
        "id": case_id_for(decision_id),
        "type": _case_type(outputs, ruleset),
        "priority": _priority(outputs),
        "attributes": _json({"ruleset": ruleset, "decision_id": decision_id}),
    }
