"""What the one-function decision is written from: the ruleset's parts, the writer's state,
and the expression writer that reads fields from locals set up front.

``Generator`` holds the state the parts of the source share (the writer, the locals of the
outputs and values, the stages) and the firings' small pieces (copies, appends, the values a
firing records); ``rules.py``, ``tables.py`` and ``inputs.py`` write on it, and ``build.py``
puts the function together. ``plain_paths`` and ``chain_limit_error`` serve the agenda
(``pyengine.py``) too.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from .. import ir
from ..codegen import _json_read, _Writer
from ..errors import DecisionError
from ..fastcheck import _Invalid
from ..model import Decision, FiredRule, Rule, new_id
from ..schema import FieldSpec, to_json
from ..tables import Table

Parts = tuple[str, ...]
_SCALARS = frozenset((str, int, float, bool, type(None)))


class Program(NamedTuple):
    """A loaded ruleset's parts, as the one function is written from them."""

    rules: Sequence[Rule]
    tables: Sequence[Table]
    outputs: dict[str, FieldSpec]
    values: dict[str, FieldSpec]
    max_firings: int
    rule_stages: Sequence[int]
    table_stages: Sequence[int]
    inputs: dict[str, FieldSpec]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


class LocalWriter(_Writer):
    """The expression writer, with fields read from locals set up front."""

    def __init__(self, values: dict[str, FieldSpec], present: frozenset[Parts]) -> None:
        super().__init__()
        self.inputs: dict[Parts, str] = {}  # input paths the body reads -> their locals
        self.present_paths = present  # input paths that valid input always has
        self.present: set[str] = set()  # their locals: never None
        self.vals = {name: f"x{i}" for i, name in enumerate(values)}
        self.section: list[str] = []  # reads to run where the current part begins
        self.closures = False

    def bind(self, value: Any) -> str:
        name = f"_k{next(self.counter)}"
        self.names[name] = value
        return name

    def path(self, node: ir.Path) -> str:
        if node.scope == "value":
            return self.value_path(node.parts)
        return self.input(node.parts)

    def input(self, parts: Parts) -> str:
        name = self.inputs.get(parts)
        if name is None:
            name = self.inputs[parts] = f"i{len(self.inputs)}"
            if parts in self.present_paths:
                self.present.add(name)
        return name

    def never_none(self, node: ir.Node, code: str) -> bool:
        return code in self.present or super().never_none(node, code)

    def call(self, node: ir.Call) -> str:
        args = node.args
        if node.name == "days" and len(args) == 2 and all(a.type == ir.DATE for a in args):
            # two dates (never date-times): the days between them, as apply_function gives
            a, b = self.temp(), self.temp()
            return (
                f"(({b} - {a}).days if (type({a} := {self.expr(args[0])}) is _date) "
                f"& (type({b} := {self.expr(args[1])}) is _date) "  # both evaluated: & not and
                f"else _call('days', None, {a}, {b}))"
            )
        return super().call(node)

    def value_path(self, parts: Parts) -> str:
        if len(parts) == 1:
            return self.vals[parts[0]]
        key = ("value", parts)
        if key not in self.reads:
            parent = self.value_path(parts[:-1])
            name = f"_v{next(self.counter)}"
            self.section.append(
                f"{name} = {parent}.get({parts[-1]!r}) if isinstance({parent}, dict) else None"
            )
            self.reads[key] = name
        return self.reads[key]

    def closure(self, node: ir.Node) -> str:
        self.closures = True
        return super().closure(node)


class Generator:
    """The state the parts of the source share, and the small pieces of a firing."""

    def __init__(self, program: Program, keep_dict: bool) -> None:
        rules, tables, outputs, values, max_firings, rule_stages, table_stages, inputs = program
        self.rules, self.tables = rules, tables
        self.outputs, self.values, self.inputs = outputs, values, inputs
        self.max_firings = max_firings
        self.rule_stages = list(rule_stages) or [0] * len(rules)
        self.table_stages = list(table_stages) or [0] * len(tables)
        self.keep_dict = keep_dict  # closures read the values as a dict `d`: keep it current
        self.w = LocalWriter(values, present_paths(inputs))
        self.w.names.update(
            _U=_UNSET,
            _F=FiredRule,
            _T=tuple.__new__,
            _D=Decision,
            _ids=new_id,
            _pc=time.perf_counter,
            _scalar=_SCALARS,
            _json=to_json,
            _limit=chain_limit_error,
            _Invalid=_Invalid,
            _date=dt.date,
        )
        self.outs = {k: f"o{i}" for i, k in enumerate(outputs)}
        self.plain = plain_paths({**inputs, **values})
        self.limited = len(rules) > max_firings
        self.stops = any(r.stop for r in rules)
        self.n_stages = 1 + max([*self.rule_stages, *self.table_stages, 0])
        self.early = [any(o in values for o in t.outputs) for t in tables]

    def _copy(self, value: Any) -> str:
        if isinstance(value, list):
            return f"list({self.w.const(tuple(value))})"
        return self.w.const(value)

    def _append(self, o: str, items: Sequence[Any]) -> list[str]:
        k = self.w.const(tuple(items))
        return [f"if {o} is _U:", f"    {o} = list({k})", "else:", f"    {o}.extend({k})"]

    def _read(self, dotted: str) -> str:
        if dotted in self.values:
            local = self.w.vals[dotted]
        else:
            local = self.w.input(tuple(dotted.split(".")))
        return _json_read(dotted, local, self.plain)


def present_paths(schema: dict[str, FieldSpec], prefix: Parts = ()) -> frozenset[Parts]:
    """Input paths that every valid input has (required, or with a default that is not
    null), whose parents all have them too."""
    out: set[Parts] = set()
    for name, spec in schema.items():
        if not (spec.required or (spec.has_default and spec.default is not None)):
            continue
        parts = (*prefix, name)
        out.add(parts)
        if spec.type == "object" and spec.fields and not spec.has_default:
            out |= present_paths(spec.fields, parts)
    return frozenset(out)


def plain_paths(schema: dict[str, FieldSpec], prefix: str = "") -> frozenset[str]:
    """Dotted paths whose values are JSON as they are: numbers, strings and booleans."""
    out: set[str] = set()
    for name, spec in schema.items():
        if spec.type in ("number", "integer", "string", "boolean"):
            out.add(prefix + name)
        elif spec.type == "object" and spec.fields:
            out |= plain_paths(spec.fields, f"{prefix}{name}.")
    return frozenset(out)


def chain_limit_error(name: str, limit: int, fired: list[FiredRule]) -> DecisionError:
    """The error of a decision that fired more than ``limit`` rules."""
    return DecisionError(
        "chain-limit",
        f"ruleset '{name}' fired more than {limit} rules in one decision; look for rules "
        "that keep deriving facts for each other, or raise limits.max_firings",
        [{"fired": [f.rule for f in fired[-10:]]}],
    )


_UNSET = _Unset()
