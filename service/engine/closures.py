"""Checked expressions compiled once into Python closures.

Each node of the IR becomes one closure ``f(data, today, facts, item)`` with exactly the
meaning ``reference.evaluate`` gives it (the hypothesis tests hold the two together);
only the dispatch on node type and the constant parts are done at load instead of at
every evaluation. Nothing here reads rule text: the closures are built from the
validated tree alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from . import ir
from .reference import _OPS, _comparable, apply_arith, apply_function

Fn = Callable[[dict[str, Any], dt.date, Any, Any], Any]
_NUM = (int, float)


def compile_node(node: ir.Node) -> Fn:
    """A closure giving ``node``'s value (True/False for conditions, None when missing)."""
    return _COMPILE[type(node)](node)


def compile_condition(node: ir.Node) -> Fn:
    """A closure that is True exactly when the condition holds (``is True`` in the reference)."""
    if isinstance(node, ir.Const) and node.value is True:
        return _always
    f = compile_node(node)
    if isinstance(node, ir.And | ir.Or | ir.Not | ir.Compare | ir.Missing | ir.In | ir.Quant):
        return f  # these give only True or False
    return lambda d, t, fs, i: f(d, t, fs, i) is True


def _always(d: Any, t: Any, fs: Any, i: Any) -> bool:
    return True


def _const(node: ir.Const) -> Fn:
    value = node.value
    if isinstance(value, tuple):
        return lambda d, t, fs, i: list(value)
    return lambda d, t, fs, i: value


def _path(node: ir.Path) -> Fn:
    parts = node.parts
    if node.scope == "item":
        if not parts:
            return lambda d, t, fs, i: i

        def item_path(d: Any, t: Any, fs: Any, i: Any) -> Any:
            value = i
            for part in parts:
                if not isinstance(value, dict):
                    return None
                value = value.get(part)
            return value

        return item_path
    if len(parts) == 1:
        (name,) = parts
        return lambda d, t, fs, i: d.get(name)
    if len(parts) == 2:
        first, second = parts

        def two(d: Any, t: Any, fs: Any, i: Any) -> Any:
            value = d.get(first)
            return value.get(second) if isinstance(value, dict) else None

        return two

    def deep(d: Any, t: Any, fs: Any, i: Any) -> Any:
        value = d
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return deep


def _today(node: ir.Today) -> Fn:
    return lambda d, t, fs, i: t


def _fact(node: ir.Fact) -> Fn:
    name = node.name
    return lambda d, t, fs, i: name in fs


def _compare(node: ir.Compare) -> Fn:
    op = _OPS[node.op]
    left, right = compile_node(node.left), compile_node(node.right)
    numeric = node.left.type in (ir.NUMBER,) and node.right.type in (ir.NUMBER,)
    if numeric and isinstance(node.right, ir.Const) and type(node.right.value) in _NUM:
        const = node.right.value

        def with_const(d: Any, t: Any, fs: Any, i: Any) -> bool:
            a = left(d, t, fs, i)
            tp = type(a)
            if tp is int or tp is float:
                return op(a, const)
            if a is None or not _comparable(a, const):
                return False
            return op(a, const)

        return with_const

    def compare(d: Any, t: Any, fs: Any, i: Any) -> bool:
        a = left(d, t, fs, i)
        if a is None:
            return False
        b = right(d, t, fs, i)
        if b is None or not _comparable(a, b):
            return False
        return op(a, b)

    return compare


def _missing(node: ir.Missing) -> Fn:
    path = _path(node.path)
    if node.negated:
        return lambda d, t, fs, i: path(d, t, fs, i) is not None
    return lambda d, t, fs, i: path(d, t, fs, i) is None


def _and(node: ir.And) -> Fn:
    items = tuple(compile_node(n) for n in node.items)
    if len(items) == 2:
        a, b = items
        return lambda d, t, fs, i: a(d, t, fs, i) is True and b(d, t, fs, i) is True

    def all_of(d: Any, t: Any, fs: Any, i: Any) -> bool:
        for f in items:
            if f(d, t, fs, i) is not True:
                return False
        return True

    return all_of


def _or(node: ir.Or) -> Fn:
    items = tuple(compile_node(n) for n in node.items)

    def any_of(d: Any, t: Any, fs: Any, i: Any) -> bool:
        for f in items:
            if f(d, t, fs, i) is True:
                return True
        return False

    return any_of


def _not(node: ir.Not) -> Fn:
    item = compile_node(node.item)
    return lambda d, t, fs, i: item(d, t, fs, i) is not True


def _in(node: ir.In) -> Fn:
    left, right = compile_node(node.left), compile_node(node.right)
    negated = node.negated

    def within(d: Any, t: Any, fs: Any, i: Any) -> bool:
        a, items = left(d, t, fs, i), right(d, t, fs, i)
        if a is None or not isinstance(items, list):
            return False
        found = any(_comparable(a, x) and a == x for x in items)
        return not found if negated else found

    return within


def _arith(node: ir.Arith) -> Fn:
    left, right = compile_node(node.left), compile_node(node.right)
    op = node.op

    def arith(d: Any, t: Any, fs: Any, i: Any) -> Any:
        return apply_arith(op, left(d, t, fs, i), right(d, t, fs, i))

    return arith


def _neg(node: ir.Neg) -> Fn:
    item = compile_node(node.item)

    def neg(d: Any, t: Any, fs: Any, i: Any) -> Any:
        a = item(d, t, fs, i)
        return -a if isinstance(a, _NUM) and not isinstance(a, bool) else None

    return neg


def _call(node: ir.Call) -> Fn:
    args = tuple(compile_node(a) for a in node.args)
    name = node.name
    missing: Any = False if node.vtype == ir.BOOLEAN else None

    def call(d: Any, t: Any, fs: Any, i: Any) -> Any:
        values = [f(d, t, fs, i) for f in args]
        if any(v is None for v in values):
            return missing
        return apply_function(name, values)

    return call


def _quant(node: ir.Quant) -> Fn:
    items_of, cond = compile_node(node.items), compile_node(node.cond)
    every = node.kind == "all"

    def quant(d: Any, t: Any, fs: Any, i: Any) -> bool:
        items = items_of(d, t, fs, i)
        if not isinstance(items, list):
            return False
        if every:
            return all(cond(d, t, fs, x) is True for x in items)
        return any(cond(d, t, fs, x) is True for x in items)

    return quant


def _feel(node: ir.Feel) -> Fn:
    fn = node.fn
    return lambda d, t, fs, i: fn(d)


_COMPILE: dict[type, Callable[[Any], Fn]] = {
    ir.Const: _const,
    ir.Path: _path,
    ir.Today: _today,
    ir.Fact: _fact,
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
    ir.Feel: _feel,
}
