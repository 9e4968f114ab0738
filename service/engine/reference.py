"""Plain-Python evaluation of checked expressions.

It is the meaning of the language written down once: tests compare the durable_rules
compilation against it, and the compiler hands it the few constructs that
durable_rules cannot express (see ``compile.py``).

Rules of meaning: a comparison that involves a missing value is false; arithmetic
with a missing value is missing; ``not`` is plain negation.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Collection
from typing import Any

from . import ir
from .regex import Pattern, compile_regex

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class Env:
    """What an expression is evaluated against."""

    __slots__ = ("data", "today", "facts", "item")

    def __init__(
        self, data: dict[str, Any], today: dt.date, facts: Collection[str] = (), item: Any = None
    ) -> None:
        self.data = data
        self.today = today
        self.facts = facts
        self.item = item


def evaluate(node: ir.Node, env: Env) -> Any:
    """The value of ``node`` (True/False for conditions; None for a missing value)."""
    return _EVAL[type(node)](node, env)


def _const(node: ir.Const, env: Env) -> Any:
    return list(node.value) if isinstance(node.value, tuple) else node.value


def _path(node: ir.Path, env: Env) -> Any:
    # intermediate values are decided into the same mapping as the input fields
    value: Any = env.item if node.scope == "item" else env.data
    for part in node.parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _comparable(a: Any, b: Any) -> bool:
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, num) and isinstance(b, num):
        return True
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        return isinstance(a, dt.datetime) and isinstance(b, dt.datetime)
    return type(a) is type(b)


def _compare(node: ir.Compare, env: Env) -> bool:
    a, b = evaluate(node.left, env), evaluate(node.right, env)
    if a is None or b is None or not _comparable(a, b):
        return False
    return _OPS[node.op](a, b)


def _missing(node: ir.Missing, env: Env) -> bool:
    absent = _path(node.path, env) is None
    return not absent if node.negated else absent


def _and(node: ir.And, env: Env) -> bool:
    return all(evaluate(i, env) is True for i in node.items)


def _or(node: ir.Or, env: Env) -> bool:
    return any(evaluate(i, env) is True for i in node.items)


def _not(node: ir.Not, env: Env) -> bool:
    return evaluate(node.item, env) is not True


def _in(node: ir.In, env: Env) -> bool:
    a, items = evaluate(node.left, env), evaluate(node.right, env)
    if a is None or not isinstance(items, list):
        return False
    found = any(_comparable(a, x) and a == x for x in items)
    return not found if node.negated else found


def _arith(node: ir.Arith, env: Env) -> Any:
    return apply_arith(node.op, evaluate(node.left, env), evaluate(node.right, env))


def apply_arith(op: str, a: Any, b: Any) -> Any:
    """Give ``a op b`` as the language means it (both engines): None when either is missing,
    days between dates, a date moved by days, numbers only otherwise, no value for x / 0."""
    if a is None or b is None:
        return None
    if isinstance(a, dt.date) and isinstance(b, dt.date):
        delta = a - b
        if isinstance(a, dt.datetime):
            return delta.total_seconds() / 86400
        return delta.days
    if isinstance(a, dt.date):
        return a + dt.timedelta(days=b) if op == "+" else a - dt.timedelta(days=b)
    if (
        not isinstance(a, int | float)
        or not isinstance(b, int | float)
        or isinstance(a, bool)
        or isinstance(b, bool)
    ):
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None  # division by zero has no value; comparisons with it are false
    return a / b if op == "/" else a % b


def _neg(node: ir.Neg, env: Env) -> Any:
    a = evaluate(node.item, env)
    return -a if isinstance(a, int | float) and not isinstance(a, bool) else None


def _regex(pattern: str) -> Pattern:
    return compile_regex(pattern)  # RE2: linear in the input, whatever the pattern


def _call(node: ir.Call, env: Env) -> Any:
    args = [evaluate(a, env) for a in node.args]
    if any(a is None for a in args):
        return False if node.vtype == ir.BOOLEAN else None
    return apply_function(node.name, args)


def apply_function(name: str, args: list[Any]) -> Any:
    """Give a built-in function's value on arguments none of which is missing (both engines)."""
    if name in ("startswith", "endswith", "contains", "matches"):
        s, arg = args
        if not isinstance(s, str) or not isinstance(arg, str):
            return False
        if name == "startswith":
            return s.startswith(arg)
        if name == "endswith":
            return s.endswith(arg)
        if name == "contains":
            return arg in s
        return _regex(arg).search(s) is not None
    if name == "days":
        a, b = args
        if not isinstance(a, dt.date) or not isinstance(b, dt.date):
            return None
        if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
            return None
        delta = b - a
        return delta.total_seconds() / 86400 if isinstance(a, dt.datetime) else delta.days
    if name == "len":
        return len(args[0]) if isinstance(args[0], str | list) else None
    if name in ("lower", "upper"):
        s = args[0]
        return (s.lower() if name == "lower" else s.upper()) if isinstance(s, str) else None
    nums = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
    if len(nums) != len(args):
        return None
    if name == "abs":
        return abs(nums[0])
    return min(nums) if name == "min" else max(nums)


def _quant(node: ir.Quant, env: Env) -> bool:
    items = evaluate(node.items, env)
    if not isinstance(items, list):
        return False
    results = (evaluate(node.cond, Env(env.data, env.today, env.facts, x)) is True for x in items)
    return any(results) if node.kind == "any" else all(results)


_EVAL: dict[type, Callable[[Any, Env], Any]] = {
    ir.Const: _const,
    ir.Path: _path,
    ir.Today: lambda n, e: e.today,
    ir.Fact: lambda n, e: n.name in e.facts,
    ir.Compare: _compare,
    ir.Missing: _missing,
    ir.And: _and,
    ir.Or: _or,
    ir.Not: _not,
    ir.In: _in,
    ir.Arith: _arith,
    ir.Neg: _neg,
    ir.Call: _call,
    ir.Quant: _quant,
    ir.Feel: lambda n, e: n.fn(e.data),  # FEEL's meaning is its own (engine/feel/evaluate.py)
}
