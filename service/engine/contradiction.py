"""Conditions that can never hold, shown directly: a conjunction with two tests on one field
that no value passes both (``amount > 10 and amount < 5``, ``x == "a" and x in ["b"]``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from . import ir


def contradiction(node: ir.Node) -> str | None:
    """Why a conjunction can never hold, shown directly from its parts; None if not shown."""
    parts = _conjuncts(node)
    bounds: dict[str, list[tuple[str, Any]]] = {}
    for part in parts:
        if isinstance(part, ir.Compare):
            left, op, right = part.left, part.op, part.right
            if isinstance(left, ir.Const) and isinstance(right, ir.Path):
                left, right, op = right, left, _FLIP[op]
            if isinstance(left, ir.Path) and isinstance(right, ir.Const):
                if op != "!=" and _orderable(right.value):
                    bounds.setdefault(left.dotted, []).append((op, right.value))
        elif isinstance(part, ir.In) and not part.negated:
            if isinstance(part.left, ir.Path) and isinstance(part.right, ir.Const):
                bounds.setdefault(part.left.dotted, []).append(("in", tuple(part.right.value)))
    for path, tests in bounds.items():
        for (op1, v1), (op2, v2) in _pairs(tests):
            if _disjoint(op1, v1, op2, v2):
                return f"requires {path} {_cond(op1, v1)} and {path} {_cond(op2, v2)}"
    return None


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _conjuncts(node: ir.Node) -> list[ir.Node]:
    if isinstance(node, ir.And):
        return [p for item in node.items for p in _conjuncts(item)]
    return [node]


def _orderable(value: Any) -> bool:
    return isinstance(value, int | float | str | dt.date) and not isinstance(value, bool)


def _pairs(tests: list[tuple[str, Any]]) -> list[tuple[tuple[str, Any], tuple[str, Any]]]:
    return [(a, b) for n, a in enumerate(tests) for b in tests[n + 1 :]]


def _values_of(op: str, value: Any) -> Callable[[Any], bool]:
    if op == "in":
        return lambda x: x in value
    ops: dict[str, Callable[[Any], bool]] = {
        "<": lambda x: x < value,
        "<=": lambda x: x <= value,
        ">": lambda x: x > value,
        ">=": lambda x: x >= value,
        "==": lambda x: x == value,
    }
    return ops[op]


def _disjoint(op1: str, v1: Any, op2: str, v2: Any) -> bool:
    """True when no value passes both tests (checked on the tests' own edge values)."""
    try:
        if op1 in ("==", "in") or op2 in ("==", "in"):
            (eq_op, eq_v), (other_op, other_v) = (
                ((op1, v1), (op2, v2)) if op1 in ("==", "in") else ((op2, v2), (op1, v1))
            )
            pool = eq_v if eq_op == "in" else (eq_v,)
            test = _values_of(other_op, other_v)
            return not any(_same_kind(x, other_v) and test(x) for x in pool)
        if not _same_kind(v1, v2):
            return False
        lo = [(v, op) for op, v in ((op1, v1), (op2, v2)) if op in (">", ">=")]
        hi = [(v, op) for op, v in ((op1, v1), (op2, v2)) if op in ("<", "<=")]
        if len(lo) != 1 or len(hi) != 1:
            return False
        (low, lop), (high, hop) = lo[0], hi[0]
        return bool(low > high or (low == high and (lop == ">" or hop == "<")))
    except TypeError:
        return False


def _same_kind(a: Any, b: Any) -> bool:
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num):
        return True
    return type(a) is type(b)


def _cond(op: str, value: Any) -> str:
    if op == "in":
        return "in [" + ", ".join(show(v) for v in value) + "]"
    return f"{op} {show(value)}"


def show(value: Any) -> str:
    """A value as the findings show it: JSON, and dates as date("...")."""
    if isinstance(value, dt.date):
        return f'date("{value.isoformat()}")'
    return json.dumps(value, ensure_ascii=False)
