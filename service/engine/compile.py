"""Compile checked conditions to durable_rules rule definitions.

Each rule becomes one durable_rules rule over a single fact: rules and table rows that
read no ``fact()`` match the input fact (``$t: in``, asserted once per decision); rules
that read ``fact()`` match the *current* fact (``$t: cur``): the input again, with the
derived facts under ``f``. ``fact("x")`` is ``f.x == true``; deriving a fact replaces the
current fact with one that has it (see ``runtime.py``), so only rules on facts are
matched again.
Rules never join several facts: durable_rules 2.0.28 reads uninitialised memory when
it removes join frames (valgrind shows it in ``deleteMessageFromFrame`` and
``deleteStateNode``), which crashed the process at random.

Derived facts, comparisons of an input field with a constant, null checks, ``in`` over
a constant list and and/or/not over them are matched by durable_rules' C engine.

What durable_rules cannot express exactly is not guessed at: each such sub-condition
becomes an *atom*, a boolean computed by ``reference.evaluate`` when the input is
asserted and matched by the engine as ``{cN: true}``. That covers arithmetic, functions,
string methods and ordering, any()/all(), and comparisons between two fields: the
engine's field references (``$m``) read freed memory when the field is absent
(a segmentation fault, seen with durable_rules 2.0.28), and they compare a missing
field as true. Atoms never contain ``fact()``: and, or and not
are pushed down to the facts, and fact() cannot be compared or used in any()/all().
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from . import durable_guard, ir

INPUT_KEY = "d"  # the input's fields live under this key of the engine's fact
TODAY_KEY = "tdy"
FACTS_KEY = "f"  # derived facts: {"f": {"fraud-check": true}}
_NEG = {"<": "$gte", "<=": "$gt", ">": "$lte", ">=": "$lt", "==": "$neq", "!=": "$eq"}
_POS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "==": "$eq", "!=": "$neq"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_ARITH = {"+": "$add", "-": "$sub", "*": "$mul"}


class CompileError(Exception):
    pass


def engine_value(value: Any) -> Any:
    """A value as the engine sees it: dates as day numbers, date-times as epoch seconds."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, dict):
        return {k: engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    return value


@dataclass
class Atoms:
    """Sub-conditions computed in Python before the input is asserted."""

    nodes: list[ir.Node] = field(default_factory=list)

    def add(self, node: ir.Node) -> dict[str, Any]:
        if node in self.nodes:
            index = self.nodes.index(node)
        else:
            index = len(self.nodes)
            self.nodes.append(node)
        return {f"c{index}": True}


# ---------------------------------------------------------------- input conditions


INPUT_FACT = "in"  # the input as asserted: matched by rules and rows that read no fact()
CURRENT_FACT = "cur"  # the input with the facts derived so far: matched by rules on fact()


def may_hold_without_facts(node: ir.Node) -> bool:
    """Whether a condition on fact() could hold before any fact is derived.

    Rules for which this is false can only match once a fact exists, so the current fact
    need not be asserted until then.
    """

    def never(n: ir.Node) -> bool:  # certainly false while no fact exists
        if isinstance(n, ir.Fact):
            return True
        if isinstance(n, ir.And):
            return any(never(i) for i in n.items)
        if isinstance(n, ir.Or):
            return all(never(i) for i in n.items)
        return False

    return not never(node)


def condition(node: ir.Node, atoms: Atoms) -> dict[str, Any]:
    """The engine condition for a rule or row: on the input, or on the current facts.

    durable_rules refuses a rule with more than ``MAX_GROUPS`` and/or groups (error 113):
    such a condition is computed in Python as one atom, or refused if it reads fact().
    """
    facts = ir.has_fact(node)
    kind = CURRENT_FACT if facts else INPUT_FACT
    trial = Atoms(list(atoms.nodes))
    native = _native(node, trial)
    if 1 + durable_guard.groups(native) > durable_guard.MAX_GROUPS:
        if facts:
            raise CompileError(
                f"this condition has {durable_guard.groups(native)} nested and/or groups around "
                f"fact(); the engine takes at most {durable_guard.MAX_GROUPS - 1}: "
                "split it into several rules"
            )
        native = atoms.add(node)
    else:
        atoms.nodes[:] = trial.nodes
    return {"$and": [{"$t": kind}, native]}


def _native(node: ir.Node, atoms: Atoms) -> dict[str, Any]:
    got = _try_native(node, atoms)
    return got if got is not None else atoms.add(node)


def _try_native(node: ir.Node, atoms: Atoms) -> dict[str, Any] | None:
    if isinstance(node, ir.And):
        return {"$and": [_native(i, atoms) for i in node.items]}
    if isinstance(node, ir.Or):
        return {"$or": [_native(i, atoms) for i in node.items]}
    if isinstance(node, ir.Not):
        return _negated(node.item, atoms)
    if isinstance(node, ir.Fact):
        return {f"{FACTS_KEY}.{node.name}": True}
    if isinstance(node, ir.Missing):
        path = _path(node.path)
        return None if path is None else {"$ex" if node.negated else "$nex": {path: 1}}
    if isinstance(node, ir.Compare):
        return _compare(node.op, node.left, node.right)
    if isinstance(node, ir.In) and not node.negated:
        return _in_list(node)
    if isinstance(node, ir.In) and node.negated:
        pair = _in_parts(node)
        if pair is None:
            return None
        path, values = pair
        return {"$and": [{"$neq": {path: v}} for v in values]}
    return None


def _negated(node: ir.Node, atoms: Atoms) -> dict[str, Any] | None:
    if isinstance(node, ir.Not):
        return _native(node.item, atoms)
    if isinstance(node, ir.And):
        return {"$or": [_negated_or_atom(i, atoms) for i in node.items]}
    if isinstance(node, ir.Or):
        return {"$and": [_negated_or_atom(i, atoms) for i in node.items]}
    if isinstance(node, ir.Fact):
        return {"$nex": {f"{FACTS_KEY}.{node.name}": 1}}
    if isinstance(node, ir.Missing):
        return _try_native(ir.Missing(node.pos, node.path, not node.negated), atoms)
    if isinstance(node, ir.Compare):
        for this, other, op in (
            (node.left, node.right, node.op),
            (node.right, node.left, _FLIP[node.op]),
        ):
            path, const = _path(this), _const(other)
            if path is not None and const is not None and _orderable(this, op):
                neg = {"$neq": {path: const}} if op == "==" else {_NEG[op]: {path: const}}
                return {"$or": [{"$nex": {path: 1}}, neg]}
        return None
    if isinstance(node, ir.In) and not node.negated:
        pair = _in_parts(node)
        if pair is None:
            return None
        path, values = pair
        return {"$or": [{"$nex": {path: 1}}, {"$and": [{"$neq": {path: v}} for v in values]}]}
    return None


def _negated_or_atom(node: ir.Node, atoms: Atoms) -> dict[str, Any]:
    got = _negated(node, atoms)
    return got if got is not None else atoms.add(ir.Not(node.pos, node))


def _path(node: ir.Node) -> str | None:
    if isinstance(node, ir.Today):
        return TODAY_KEY
    if (
        isinstance(node, ir.Path)
        and node.scope == "input"
        and node.spec is not None
        and node.type not in (ir.LIST, ir.OBJECT, ir.ANY)
    ):
        return f"{INPUT_KEY}.{node.dotted}"
    return None


def _const(node: ir.Node) -> Any:
    if isinstance(node, ir.Const) and node.type in (
        ir.NUMBER,
        ir.STRING,
        ir.BOOLEAN,
        ir.DATE,
        ir.DATETIME,
    ):
        return engine_value(node.value)
    return None


def _orderable(node: ir.Node, op: str) -> bool:
    # durable_rules orders numbers only; string order is left to Python
    return op in ("==", "!=") or node.type in (ir.NUMBER, ir.DATE, ir.DATETIME)


def _compare(op: str, left: ir.Node, right: ir.Node) -> dict[str, Any] | None:
    for this, other, o in ((left, right, op), (right, left, _FLIP[op])):
        path, const = _path(this), _const(other)
        if path is None or const is None or not _orderable(this, o):
            continue
        return {path: const} if o == "==" else {_POS[o]: {path: const}}
    return None


def _in_parts(node: ir.In) -> tuple[str, list[Any]] | None:
    path = _path(node.left)
    if path is None or not isinstance(node.right, ir.Const) or not node.right.value:
        return None
    return path, [engine_value(v) for v in node.right.value if v is not None]


def _in_list(node: ir.In) -> dict[str, Any] | None:
    pair = _in_parts(node)
    if pair is None:
        return None
    path, values = pair
    return {"$or": [{path: v} for v in values]}
