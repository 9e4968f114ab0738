"""Type-check a call of a built-in function (``fact``, ``date``, ``days``, ``len``, ``min`` ...).

The builder (``expr_build.py``) has built the arguments; this gives the ``ir`` node of the call,
a constant where the value is known at load (``date("2026-01-31")``).
"""

from __future__ import annotations

import ast
import datetime as dt

from . import ir
from .expr_scope import Scope, name_of, pos_of, raise_at
from .ir import ANY, DATE, DATETIME, LIST, NUMBER, STRING


def call(scope: Scope, node: ast.Call, name: str, args: list[ir.Node]) -> ir.Node:
    """The checked node of the call ``node`` of the function ``name`` on ``args``."""
    pos = pos_of(node)

    def need(n: int | None, *types: str) -> None:
        if n is not None and len(args) != n:
            raise_at(node, f"{name}() takes {n} argument{'s' if n != 1 else ''}, got {len(args)}")
        for a in args:
            if a.type not in (*types, ANY):
                raise_at(a, f"{name}() needs {' or '.join(types)}, not {name_of(a)}")

    if name == "fact":
        need(1, STRING)
        if not isinstance(args[0], ir.Const):
            return raise_at(args[0], 'fact() needs the fact\'s name as a string, e.g. fact("vip")')
        if not scope.allow_facts:
            return raise_at(node, "fact() cannot be used here (only in rule conditions)")
        return ir.Fact(pos, str(args[0].value))
    if name in ("date", "datetime"):
        need(1, STRING)
        if not isinstance(args[0], ir.Const):
            return raise_at(args[0], f'{name}() needs a constant such as "2026-01-31"')
        try:
            if name == "date":
                return ir.Const(pos, dt.date.fromisoformat(args[0].value), DATE)
            value = dt.datetime.fromisoformat(args[0].value.replace("Z", "+00:00"))
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return ir.Const(pos, value, DATETIME)
        except ValueError:
            return raise_at(args[0], f"{args[0].value!r} is not an ISO {name}")
    if name == "days":
        need(2, DATE, DATETIME)
        if args[0].type != args[1].type and ANY not in (args[0].type, args[1].type):
            return raise_at(node, "days() needs two dates (or two date-times)")
        return ir.Call(pos, name, tuple(args), NUMBER)
    if name == "len":
        need(1, STRING, LIST)
        return ir.Call(pos, name, tuple(args), NUMBER)
    if name in ("lower", "upper"):
        need(1, STRING)
        return ir.Call(pos, name, tuple(args), STRING)
    if name == "abs":
        need(1, NUMBER)
        return ir.Call(pos, name, tuple(args), NUMBER)
    # min / max
    if len(args) < 2:
        raise_at(node, f"{name}() takes two or more numbers")
    need(None, NUMBER)
    return ir.Call(pos, name, tuple(args), NUMBER)
