"""FEEL trees compiled once into closures with FEEL's meaning (DMN 1.5, chapter 10).

Numbers are ``Decimal`` computed with 34 significant digits, rounded half-even (IEEE
754 decimal128, as the specification asks); a value of the wrong type, a division by zero
or a missing value gives ``null`` (None), which arithmetic and comparisons carry on;
``and``/``or``/``not`` are three-valued. A closure takes one environment, a mapping of
names to values as the rule engine holds them (Casewise numbers are int or float: they
are read as decimals by their shortest text, ``0.1`` as exactly 0.1).

Names are checked when compiled: an unknown name or function is a ``FeelError`` with a
suggestion, never a null at run time.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import builtins
from .builtins import CTX, to_feel
from .parser import Node

Env = Mapping[str, Any]
Fn = Callable[[Env], Any]
Test = Callable[[Any, Env], Any]
INPUT = "?"  # the environment key of the value a unary test is applied to


class FeelError(ValueError):
    """A FEEL expression that cannot be compiled: an unknown name, a wrong call."""


@dataclass(frozen=True)
class Function:
    """A business knowledge model: named parameters and a body compiled in their scope."""

    name: str
    parameters: tuple[str, ...]
    body: Fn


@dataclass
class Scope:
    """What FEEL names mean: name -> (environment key, type); functions by name."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    reads: dict[str, None] = field(default_factory=dict)  # environment keys read, in order


@dataclass(frozen=True)
class Compiled:
    fn: Fn
    type: str  # number, string, boolean, date, list, object, any


def compile_expression(node: Node, scope: Scope) -> Compiled:
    """The closure of an expression tree; raises FeelError on a name it does not know."""
    return _Compiler(scope).expr(node)


def compile_tests(node: Node, scope: Scope) -> Test:
    """The closure of unary tests: ``f(value, env)`` is True when the value passes."""
    compiler = _Compiler(scope)
    if node.kind == "any":
        return lambda v, env: True
    negated, tests = node.args
    parts = [compiler.test(t) for t in tests]

    def passes(value: Any, env: Env) -> Any:
        result: Any = False
        for part in parts:
            r = part(value, env)
            if r is True:
                result = True
                break
            if r is None:
                result = None
        if negated:
            return None if result is None else not result
        return result

    return passes


def is_constant(node: Node) -> bool:
    """True when the tree reads no name and no input (its value is known when loaded)."""
    if node.kind in ("name", "input", "call"):
        return False
    return all(is_constant(a) for a in _child_nodes(node))


def _child_nodes(node: Node) -> list[Node]:
    out: list[Node] = []
    for a in node.args:
        if isinstance(a, Node):
            out.append(a)
        elif isinstance(a, tuple):
            out.extend(x for x in a if isinstance(x, Node))
    return out


def uses_input(node: Node) -> bool:
    return node.kind == "input" or any(uses_input(a) for a in _child_nodes(node))


class _Compiler:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def expr(self, node: Node) -> Compiled:
        method = getattr(self, "_" + node.kind, None)
        if method is None:
            raise FeelError(f"{node.kind} is not a FEEL expression Casewise evaluates")
        result: Compiled = method(node)
        return result

    # ---- values

    def _number(self, node: Node) -> Compiled:
        value = node.args[0]
        return Compiled(lambda env: value, "number")

    def _string(self, node: Node) -> Compiled:
        value = node.args[0]
        return Compiled(lambda env: value, "string")

    def _bool(self, node: Node) -> Compiled:
        value = node.args[0]
        return Compiled(lambda env: value, "boolean")

    def _null(self, node: Node) -> Compiled:
        return Compiled(lambda env: None, "any")

    def _input(self, node: Node) -> Compiled:
        return Compiled(lambda env: env.get(INPUT), "any")

    def _name(self, node: Node) -> Compiled:
        name = node.args[0]
        found = self.scope.names.get(name)
        if found is None:
            known = list(self.scope.names)
            near = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            if name in self.scope.functions or name in builtins.FUNCTIONS:
                raise FeelError(f"'{name}' is a function; call it, e.g. {name}(...)")
            raise FeelError(f"unknown name '{name}'{hint} (names: {', '.join(known) or 'none'})")
        key, vtype = found
        self.scope.reads.setdefault(key, None)
        return Compiled(lambda env: to_feel(env.get(key)), vtype)

    def _path(self, node: Node) -> Compiled:
        base = self.expr(node.args[0]).fn
        member = node.args[1]

        def path(env: Env) -> Any:
            value = base(env)
            return value.get(member) if isinstance(value, dict) else None

        return Compiled(path, "any")

    def _list(self, node: Node) -> Compiled:
        items = [self.expr(n).fn for n in node.args[0]]
        return Compiled(lambda env: [f(env) for f in items], "list")

    # ---- operators

    def _neg(self, node: Node) -> Compiled:
        item = self.expr(node.args[0]).fn

        def neg(env: Env) -> Any:
            v = item(env)
            return CTX.minus(v) if isinstance(v, Decimal) else None

        return Compiled(neg, "number")

    def _arith(self, node: Node) -> Compiled:
        op, a, b = node.args
        left, right = self.expr(a), self.expr(b)
        apply = builtins.ARITH[op]
        fa, fb = left.fn, right.fn
        vtype = "string" if op == "+" and "string" in (left.type, right.type) else "number"
        return Compiled(lambda env: apply(fa(env), fb(env)), vtype)

    def _compare(self, node: Node) -> Compiled:
        op, a, b = node.args
        fa, fb = self.expr(a).fn, self.expr(b).fn
        apply = builtins.compare
        return Compiled(lambda env: apply(op, fa(env), fb(env)), "boolean")

    def _and(self, node: Node) -> Compiled:
        fa, fb = self.expr(node.args[0]).fn, self.expr(node.args[1]).fn

        def both(env: Env) -> Any:
            a, b = fa(env), fb(env)
            if a is False or b is False:
                return False
            return True if a is True and b is True else None

        return Compiled(both, "boolean")

    def _or(self, node: Node) -> Compiled:
        fa, fb = self.expr(node.args[0]).fn, self.expr(node.args[1]).fn

        def either(env: Env) -> Any:
            a, b = fa(env), fb(env)
            if a is True or b is True:
                return True
            return False if a is False and b is False else None

        return Compiled(either, "boolean")

    def _not(self, node: Node) -> Compiled:
        item = self.expr(node.args[0]).fn

        def negate(env: Env) -> Any:
            v = item(env)
            return (not v) if isinstance(v, bool) else None

        return Compiled(negate, "boolean")

    def _if(self, node: Node) -> Compiled:
        cond, then, other = (self.expr(n) for n in node.args)
        fc, ft, fo = cond.fn, then.fn, other.fn
        vtype = then.type if then.type == other.type else "any"
        return Compiled(lambda env: ft(env) if fc(env) is True else fo(env), vtype)

    def _between(self, node: Node) -> Compiled:
        fx, flo, fhi = (self.expr(n).fn for n in node.args)
        compare = builtins.compare

        def between(env: Env) -> Any:
            x = fx(env)
            low, high = compare(">=", x, flo(env)), compare("<=", x, fhi(env))
            if low is False or high is False:
                return False
            return True if low is True and high is True else None

        return Compiled(between, "boolean")

    def _in(self, node: Node) -> Compiled:
        fx = self.expr(node.args[0]).fn
        tests = [self.test(t) for t in node.args[1]]

        def within(env: Env) -> Any:
            x = fx(env)
            result: Any = False
            for t in tests:
                r = t(x, env)
                if r is True:
                    return True
                if r is None:
                    result = None
            return result

        return Compiled(within, "boolean")

    def _call(self, node: Node) -> Compiled:
        callee, arg_nodes = node.args
        if callee.kind != "name":
            raise FeelError("only named functions can be called")
        name = callee.args[0]
        args = [self.expr(a).fn for a in arg_nodes]
        bkm = self.scope.functions.get(name)
        if bkm is not None:
            if len(args) != len(bkm.parameters):
                raise FeelError(
                    f"{name}() takes {len(bkm.parameters)} argument(s) "
                    f"({', '.join(bkm.parameters)}), got {len(args)}"
                )
            params, body = bkm.parameters, bkm.body

            def invoke(env: Env) -> Any:
                return body(dict(zip(params, (f(env) for f in args), strict=True)))

            return Compiled(invoke, "any")
        builtin = builtins.FUNCTIONS.get(name)
        if builtin is None:
            near = difflib.get_close_matches(
                name, [*self.scope.functions, *builtins.FUNCTIONS], n=1
            )
            hint = f"; did you mean {near[0]}()?" if near else ""
            raise FeelError(f"unknown function {name}(){hint}")
        if not builtin.arity[0] <= len(args) <= builtin.arity[1]:
            raise FeelError(f"{name}() does not take {len(args)} argument(s)")
        impl = builtin.impl

        def call(env: Env) -> Any:
            try:
                return impl(*(f(env) for f in args))
            except (decimal.DecimalException, TypeError, ValueError, OverflowError):
                return None  # FEEL: a function given what it cannot use gives null

        return Compiled(call, builtin.type)

    # ---- unary tests

    def test(self, node: Node) -> Test:
        compare = builtins.compare
        if node.kind == "compare_test":
            op, end = node.args
            f = self.expr(end).fn
            return lambda v, env: compare(op, v, f(env))
        if node.kind == "interval":
            open_lo, lo, hi, open_hi = node.args
            flo, fhi = self.expr(lo).fn, self.expr(hi).fn
            lo_op, hi_op = (">" if open_lo else ">="), ("<" if open_hi else "<=")

            def inside(v: Any, env: Env) -> Any:
                a, b = compare(lo_op, v, flo(env)), compare(hi_op, v, fhi(env))
                if a is False or b is False:
                    return False
                return True if a is True and b is True else None

            return inside
        (inner,) = node.args
        f = self.expr(inner).fn
        if uses_input(inner):  # a boolean test of '?', e.g. ? > 5 and ? < 9
            return lambda v, env: f({**env, INPUT: v}) is True

        def equal(v: Any, env: Env) -> Any:
            expected = f(env)
            if isinstance(expected, list) and not isinstance(v, list):
                return any(compare("=", v, x) is True for x in expected)
            return compare("=", v, expected)

        return equal


def to_casewise(value: Any) -> Any:
    """A FEEL value as the rule engine and the decision JSON hold it: a decimal becomes an
    int when whole (and within 2**53), else the nearest float."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)
        return float(value)
    if isinstance(value, list):
        return [to_casewise(v) for v in value]
    if isinstance(value, dict):
        return {k: to_casewise(v) for k, v in value.items()}
    if isinstance(value, bool | str | dt.date) or value is None:
        return value
    return None
