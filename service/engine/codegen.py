"""Checked conditions compiled into Python source, then into functions, once per load.

The compiled engine's hot path: each stage's rule conditions, and each table's rows,
become one generated function that reads every field once and tests the conditions
inline, with exactly the meaning of ``reference.evaluate`` (the hypothesis tests hold
them together).

The source is built from the validated IR only, never from rule text: names in it are
generated (``_v3``), field names and string constants are written with ``repr``, finite
numbers with ``repr``, and every other constant is passed in by reference. What has no
inline form here (``any``/``all``, ``in`` a field's list, string methods, arithmetic on
dates, fields of unknown type) calls the closure ``closures.compile_node`` gives it.

Inline forms lean on what input checking guarantees: a field of type number holds an int
or float (never a bool) or is missing (None); a string field a str or None; and so on. An
expression's checked type (``ir`` node ``type``) is therefore the type of its value
whenever it has one, which is what makes ``a is not None and a > b`` exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

from . import ir
from .closures import compile_node
from .reference import _OPS, _comparable, apply_arith, apply_function

# types whose values, when present, are all mutually comparable with ==, <, ...
_SAME = (ir.NUMBER, ir.STRING, ir.BOOLEAN, ir.DATE, ir.DATETIME)
_PY = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
_BOOL_NODES = (ir.And, ir.Or, ir.Not, ir.Compare, ir.Missing, ir.In, ir.Quant, ir.Fact)


def _cmp(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None or not _comparable(a, b):
        return False
    return _OPS[op](a, b)


def _call(name: str, missing: Any, *args: Any) -> Any:
    if any(a is None for a in args):
        return missing
    return apply_function(name, list(args))


class _Writer:
    """Source for a group of conditions that share one prologue of field reads."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_cmp": _cmp, "_call": _call, "_arith": apply_arith}
        self.reads: dict[tuple[str, tuple[str, ...]], str] = {}
        self.prologue: list[str] = []
        self.counter = itertools.count()

    def const(self, value: Any) -> str:
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return repr(value)
        if isinstance(value, str):
            return repr(value)
        name = f"_k{next(self.counter)}"
        self.names[name] = value
        return name

    def temp(self) -> str:
        return f"_t{next(self.counter)}"

    def path(self, node: ir.Path) -> str:
        key = (node.scope, node.parts)
        if key in self.reads:
            return self.reads[key]
        if len(node.parts) == 1:
            code = f"d.get({node.parts[0]!r})"
        else:
            parent = self.path(ir.Path(node.pos, node.parts[:-1], node.scope, None))
            code = f"{parent}.get({node.parts[-1]!r}) if isinstance({parent}, dict) else None"
        name = f"_v{next(self.counter)}"
        self.prologue.append(f"    {name} = {code}")
        self.reads[key] = name
        return name

    def closure(self, node: ir.Node) -> str:
        name = f"_c{next(self.counter)}"
        self.names[name] = compile_node(node)
        return f"{name}(d, t, fs, None)"

    # ------------------------------------------------------------ expressions

    def expr(self, node: ir.Node) -> str:
        """Python source for the node's value."""
        if isinstance(node, ir.Const):
            if isinstance(node.value, tuple):
                return self.closure(node)
            return self.const(node.value)
        if isinstance(node, ir.Path):
            if node.scope == "item":
                return self.closure(node)
            return self.path(node)
        if isinstance(node, ir.Today):
            return "t"
        if isinstance(node, ir.Fact):
            return f"({node.name!r} in fs)"
        if isinstance(node, ir.Compare):
            return self.compare(node)
        if isinstance(node, ir.Missing):
            if node.path.scope == "item":
                return self.closure(node)
            return f"({self.path(node.path)} is {'not ' if node.negated else ''}None)"
        if isinstance(node, ir.And | ir.Or):
            joiner = " and " if isinstance(node, ir.And) else " or "
            return "(" + joiner.join(self.cond(i) for i in node.items) + ")"
        if isinstance(node, ir.Not):
            return f"(not {self.cond(node.item)})"
        if isinstance(node, ir.In):
            return self.within(node)
        if isinstance(node, ir.Arith):
            return self.arith(node)
        if isinstance(node, ir.Neg):
            if node.item.type == ir.NUMBER:
                t = self.temp()
                return f"(None if ({t} := {self.expr(node.item)}) is None else -{t})"
            return self.closure(node)
        if isinstance(node, ir.Call):
            return self.call(node)
        return self.closure(node)

    def cond(self, node: ir.Node) -> str:
        """Python source that is True exactly when the condition holds (else False)."""
        if isinstance(node, ir.Const):
            return "True" if node.value is True else "False"
        code = self.expr(node)
        if isinstance(node, _BOOL_NODES) or (
            isinstance(node, ir.Call) and node.vtype == ir.BOOLEAN
        ):
            return code  # these give True or False, never another value
        return f"({code} is True)"

    def operand(self, node: ir.Node, tests: list[str]) -> str:
        """Source for a value that must not be None; the test for that joins ``tests``."""
        code = self.expr(node)
        if self.never_none(node, code):
            return code
        if code.isidentifier():
            tests.append(f"{code} is not None")
            return code
        t = self.temp()
        tests.append(f"({t} := {code}) is not None")
        return t

    def never_none(self, node: ir.Node, code: str) -> bool:
        """Whether the node's value is known never to be missing."""
        return isinstance(node, ir.Const) and node.value is not None

    def compare(self, node: ir.Compare) -> str:
        left, right = node.left, node.right
        if left.type == right.type and left.type in _SAME:
            tests: list[str] = []
            a = self.operand(left, tests)
            b = self.operand(right, tests)
            return "(" + " and ".join([*tests, f"{a} {_PY[node.op]} {b}"]) + ")"
        return f"_cmp({node.op!r}, {self.expr(left)}, {self.expr(right)})"

    def within(self, node: ir.In) -> str:
        right = node.right
        if not isinstance(right, ir.Const) or not isinstance(right.value, tuple):
            return self.closure(node)
        items = [v for v in right.value if v is not None]
        left_type = node.left.type
        kinds = {
            ir.NUMBER: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            ir.STRING: lambda v: isinstance(v, str),
        }
        if left_type not in kinds or not all(kinds[left_type](v) for v in items):
            return self.closure(node)
        values = self.const(frozenset(items))
        tests: list[str] = []
        a = self.operand(node.left, tests)
        word = "not in" if node.negated else "in"
        return "(" + " and ".join([*tests, f"{a} {word} {values}"]) + ")"

    def arith(self, node: ir.Arith) -> str:
        if node.left.type == ir.NUMBER and node.right.type == ir.NUMBER:
            tests: list[str] = []
            a = self.operand(node.left, tests)
            b = self.operand(node.right, tests)
            if node.op in ("/", "%"):
                tests.append(f"{b} != 0")
            if not tests:
                return f"({a} {node.op} {b})"
            return f"({a} {node.op} {b} if {' and '.join(tests)} else None)"
        return f"_arith({node.op!r}, {self.expr(node.left)}, {self.expr(node.right)})"

    def call(self, node: ir.Call) -> str:
        if node.name in ("min", "max", "abs") and all(a.type == ir.NUMBER for a in node.args):
            temps = [self.temp() for _ in node.args]
            tests = " or ".join(
                f"({t} := {self.expr(a)}) is None" for t, a in zip(temps, node.args, strict=True)
            )
            return f"(None if {tests} else {node.name}({', '.join(temps)}))"
        missing = "False" if node.vtype == ir.BOOLEAN else "None"
        args = "".join(f", {self.expr(a)}" for a in node.args)
        return f"_call({node.name!r}, {missing}{args})"

    def build(self, name: str, args: str, body: list[str]) -> Callable[..., Any]:
        source = "\n".join([f"def {name}({args}):", *self.prologue, *body])
        namespace = dict(self.names)
        exec(compile(source, f"<casewise {name}>", "exec"), namespace)  # noqa: S102 - from the IR
        function: Callable[..., Any] = namespace[name]
        function.__casewise_source__ = source  # type: ignore[attr-defined]
        return function


def compile_filter(
    conditions: Sequence[ir.Node], items: Sequence[Any], *, first: bool = False
) -> Callable[[dict[str, Any], dt.date, Any], list[Any]]:
    """``f(data, today, facts)``: the items whose condition holds, in order (``first``:
    only the first of them)."""
    w = _Writer()
    w.names["_items"] = tuple(items)
    body = ["    held = []", "    add = held.append"]
    for k, node in enumerate(conditions):
        hit = f"return [_items[{k}]]" if first else f"add(_items[{k}])"
        if isinstance(node, ir.Const) and node.value is True:
            body.append(f"    {hit}")
            if first:
                break
            continue
        body.append(f"    if {w.cond(node)}:")
        body.append(f"        {hit}")
    body.append("    return held")
    return w.build("held", "d, t, fs", body)


def compile_test(node: ir.Node) -> Callable[[dict[str, Any], dt.date, Any, Any], bool]:
    """``f(data, today, facts, item)``: True exactly when the condition holds."""
    w = _Writer()
    code = w.cond(node)
    return w.build("holds", "d, t, fs, i=None", [f"    return {code}"])


def compile_reads(
    paths: Sequence[str], plain: Collection[str] = ()
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``f(data)``: the values a fired rule read, by dotted path, as JSON values (``plain``:
    paths whose values are JSON already: numbers, strings, booleans)."""
    from .schema import to_json

    w = _Writer()
    w.names["_scalar"] = frozenset((str, int, float, bool, type(None)))
    w.names["_json"] = to_json
    items = []
    for dotted in paths:
        v = w.path(ir.Path((1, 0), tuple(dotted.split(".")), "input", None))
        items.append(_json_read(dotted, v, plain))
    return w.build("reads", "d", ["    return {" + ", ".join(items) + "}"])


def _json_read(dotted: str, v: str, plain: Collection[str]) -> str:
    if dotted in plain:
        return f"{dotted!r}: {v}"
    return f"{dotted!r}: ({v} if type({v}) in _scalar else _json({v}))"


def compile_fire(
    rule_id: str,
    paths: Sequence[str],
    sets: Sequence[tuple[str, Any]],
    appends: Sequence[tuple[str, Sequence[Any]]],
    value_sets: Sequence[tuple[str, Any]],
    value_appends: Sequence[tuple[str, Sequence[Any]]],
    asserts: Sequence[str],
    fired_rule: Callable[[str, dict[str, Any]], Any],
    plain: Collection[str] = (),
) -> Callable[..., bool]:
    """``f(data, outputs, fired, facts, values_set)``: one firing's effects, in the order the
    engine applies them; True when it derived a new fact."""
    from .schema import to_json

    w = _Writer()
    w.names["_scalar"] = frozenset((str, int, float, bool, type(None)))
    w.names["_json"] = to_json
    w.names["_Fired"] = fired_rule
    items = []
    for dotted in paths:
        v = w.path(ir.Path((1, 0), tuple(dotted.split(".")), "input", None))
        items.append(_json_read(dotted, v, plain))
    body = [f"    fired.append(_Fired({rule_id!r}, {{{', '.join(items)}}}))"]

    def copy(value: Any) -> str:
        return f"list({w.const(tuple(value))})" if isinstance(value, list) else w.const(value)

    for key, value in sets:
        body.append(f"    if {key!r} not in out:")
        body.append(f"        out[{key!r}] = {copy(value)}")
    for key, extra in appends:
        body.append(f"    out.setdefault({key!r}, []).extend({w.const(tuple(extra))})")
    for key, value in value_sets:
        body.append(f"    if {key!r} not in vs:")
        body.append(f"        vs.add({key!r})")
        body.append(f"        d[{key!r}] = {copy(value)}")
    for key, extra in value_appends:
        body.append(f"    d.setdefault({key!r}, []).extend({w.const(tuple(extra))})")
    body.append("    new = False")
    for fact in asserts:
        body.append(f"    if {fact!r} not in facts:")
        body.append(f"        facts[{fact!r}] = None")
        body.append("        new = True")
    body.append("    return new")
    # the reads come after the rule's own writes to values are impossible: a rule never
    # reads a value it sets (that is a cycle), so reading first is the same
    return w.build("fire", "d, out, fired, facts, vs", body)
