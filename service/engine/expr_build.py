"""Translate the Python ``ast`` of an expression into typed ``ir`` nodes, a white-list.

``Builder`` has one method per ``ast`` node type the grammar allows; any other node type
(dunder attributes, lambdas, comprehensions, subscripts) is refused with its name, so nothing
outside the grammar can ever run. Each node is type-checked as it is built; calls of the
built-in functions are checked in ``expr_calls.py``.
"""

from __future__ import annotations

import ast

from . import ir
from .expr_calls import call
from .expr_scope import (
    Scope,
    as_condition,
    ast_name,
    compatible,
    name_of,
    pos_of,
    raise_at,
    src_of,
)
from .ir import ANY, BOOLEAN, DATE, DATETIME, LIST, NULL, NUMBER, OBJECT, STRING
from .regex import regex_problem
from .schema import FieldSpec
from .source import suggest

FUNCTIONS = (
    "fact",
    "days",
    "date",
    "datetime",
    "len",
    "lower",
    "upper",
    "abs",
    "min",
    "max",
    "any",
    "all",
)
METHODS = ("startswith", "endswith", "contains", "matches")
KEYWORDS = {"true": True, "false": False, "True": True, "False": False, "null": None, "None": None}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_ORDERED = (NUMBER, STRING, DATE, DATETIME, ANY)


class Builder:
    """Build the checked ``ir`` node of an ``ast`` node, with the names of ``scope``."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def build(self, node: ast.AST) -> ir.Node:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            return raise_at(node, f"'{ast_name(node)}' is not allowed in a condition")
        result: ir.Node = method(node)
        return result

    # ------------------------------------------------------------ leaves

    def _Constant(self, node: ast.Constant) -> ir.Node:
        v = node.value
        if isinstance(v, bool):
            return ir.Const(pos_of(node), v, BOOLEAN)
        if isinstance(v, int | float):
            return ir.Const(pos_of(node), v, NUMBER)
        if isinstance(v, str):
            return ir.Const(pos_of(node), v, STRING)
        if v is None:
            return ir.Const(pos_of(node), None, NULL)
        return raise_at(node, f"constant {v!r} is not allowed")

    def _List(self, node: ast.List | ast.Tuple) -> ir.Node:
        values = [self.build(e) for e in node.elts]
        if not all(isinstance(v, ir.Const) for v in values):
            return raise_at(node, "a list in a condition may hold only constants")
        types = {v.type for v in values} - {NULL}
        if len(types) > 1:
            return raise_at(node, f"a list must hold values of one type, not {sorted(types)}")
        consts = tuple(v.value for v in values if isinstance(v, ir.Const))
        return ir.Const(pos_of(node), consts, LIST + ":" + (types.pop() if types else ANY))

    _Tuple = _List

    def _Name(self, node: ast.Name) -> ir.Node:
        name = node.id
        if name in KEYWORDS:
            v = KEYWORDS[name]
            return ir.Const(pos_of(node), v, BOOLEAN if isinstance(v, bool) else NULL)
        if name == "today":
            return ir.Today(pos_of(node))
        if name == "item":
            if self.scope.item is None:
                return raise_at(
                    node, "'item' only means something inside any(list, ...) or all(list, ...)"
                )
            return ir.Path(pos_of(node), (), "item", self.scope.item)
        self._check_name(node, name)
        spec = self.scope.schema.get(name)
        if spec is None and name in self.scope.values:
            return ir.Path(pos_of(node), (name,), "value", self.scope.values[name])
        if spec is None:
            names = [*self.scope.schema, *self.scope.values]
            return raise_at(
                node,
                f"unknown field '{name}'{suggest(name, names)}"
                + ("" if suggest(name, names) else f" (fields: {', '.join(names) or 'none'})"),
            )
        return ir.Path(pos_of(node), (name,), "input", spec)

    def _Attribute(self, node: ast.Attribute) -> ir.Node:
        self._check_name(node, node.attr)
        base = self.build(node.value)
        if not isinstance(base, ir.Path):
            return raise_at(node, f"'.{node.attr}' can only follow a field name")
        if base.spec is None:  # object without declared fields: anything goes
            return ir.Path(pos_of(node), (*base.parts, node.attr), base.scope, None)
        if base.spec.type != "object":
            if node.attr in METHODS:
                return raise_at(
                    node,
                    f"'{node.attr}' is a method: call it, e.g. {base.dotted}.{node.attr}(\"...\")",
                )
            return raise_at(
                node, f"'{base.dotted}' is a {base.spec.type}, it has no field '{node.attr}'"
            )
        if not base.spec.fields:
            return ir.Path(pos_of(node), (*base.parts, node.attr), base.scope, None)
        spec = base.spec.fields.get(node.attr)
        if spec is None:
            full = f"{base.dotted}.{node.attr}"
            known = [f"{base.dotted}.{k}" for k in base.spec.fields]
            return raise_at(node, f"unknown field '{full}'{suggest(full, known)}")
        return ir.Path(pos_of(node), (*base.parts, node.attr), base.scope, spec)

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("__") or name.startswith("_"):
            raise_at(node, f"names starting with '_' ('{name}') are not allowed")

    # ------------------------------------------------------------ operators

    def _BoolOp(self, node: ast.BoolOp) -> ir.Node:
        items = tuple(as_condition(self.build(v)) for v in node.values)
        cls = ir.And if isinstance(node.op, ast.And) else ir.Or
        return cls(pos_of(node), items)

    def _UnaryOp(self, node: ast.UnaryOp) -> ir.Node:
        item = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            return ir.Not(pos_of(node), as_condition(item))
        if isinstance(node.op, ast.USub | ast.UAdd):
            if item.type not in (NUMBER, ANY):
                return raise_at(node, f"'-' needs a number, not a {item.type}")
            if isinstance(node.op, ast.UAdd):
                return item
            if isinstance(item, ir.Const):
                return ir.Const(pos_of(node), -item.value, NUMBER)
            return ir.Neg(pos_of(node), item)
        return raise_at(node, f"operator '{ast_name(node)}' is not allowed")

    def _BinOp(self, node: ast.BinOp) -> ir.Node:
        op = _ARITH.get(type(node.op))
        if op is None:
            return raise_at(node, f"operator '{ast_name(node.op)}' is not allowed; use + - * / %")
        left, right = self.build(node.left), self.build(node.right)
        lt, rt = left.type, right.type
        if lt == NUMBER and rt == NUMBER or ANY in (lt, rt) and {lt, rt} <= {NUMBER, ANY}:
            return ir.Arith(pos_of(node), op, left, right, NUMBER)
        if op == "-" and lt == rt and lt in (DATE, DATETIME):
            return ir.Arith(pos_of(node), op, left, right, NUMBER)  # days between
        if op in "+-" and lt == DATE and rt == NUMBER:
            return ir.Arith(pos_of(node), op, left, right, DATE)
        return raise_at(
            node,
            f"cannot compute {lt} {op} {rt}; arithmetic is for numbers, and date - date gives days",
        )

    def _Compare(self, node: ast.Compare) -> ir.Node:
        parts: list[ir.Node] = []
        left = self.build(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self.build(comp)
            parts.append(self._compare_one(node, op, left, right))
            left = right
        return parts[0] if len(parts) == 1 else ir.And(pos_of(node), tuple(parts))

    def _compare_one(
        self, node: ast.Compare, op: ast.cmpop, left: ir.Node, right: ir.Node
    ) -> ir.Node:
        pos = left.pos
        if isinstance(op, ast.In | ast.NotIn):
            return self._membership(node, isinstance(op, ast.NotIn), left, right)
        for side in (left, right):
            if isinstance(side, ir.Fact):
                raise_at(
                    side,
                    "fact() is already true or false; use it directly, "
                    'e.g. fact("x") or not fact("x")',
                )
        sym = _CMP.get(type(op))
        if sym is None:
            return raise_at(node, f"'{ast_name(op)}' is not allowed; use == or !=")
        if sym in ("==", "!=") and NULL in (left.type, right.type):
            target = left if right.type == NULL else right
            if not isinstance(target, ir.Path):
                return raise_at(node, "only a field can be compared with null")
            return ir.Missing(pos, target, negated=sym == "!=")
        if (
            left.type in (LIST, OBJECT)
            or right.type in (LIST, OBJECT)
            or left.type.startswith(LIST)
            or right.type.startswith(LIST)
        ):
            return raise_at(
                node, f"cannot compare a {left.type} with '{sym}'; use in, any() or all() for lists"
            )
        if not compatible(left.type, right.type):
            lname = name_of(left)
            return raise_at(node, f"cannot compare {lname} with {name_of(right)}")
        if sym not in ("==", "!=") and left.type not in _ORDERED:
            return raise_at(node, f"'{sym}' needs numbers, strings or dates, not {left.type}")
        for a, b in ((left, right), (right, left)):
            self._check_enum(a, b)
        return ir.Compare(pos, sym, left, right)

    def _check_enum(self, field_node: ir.Node, value: ir.Node) -> None:
        if (
            isinstance(field_node, ir.Path)
            and field_node.spec is not None
            and field_node.spec.enum is not None
            and isinstance(value, ir.Const)
        ):
            values = value.value if isinstance(value.value, tuple) else (value.value,)
            for v in values:
                if v is not None and v not in field_node.spec.enum:
                    enum = ", ".join(map(str, field_node.spec.enum))
                    raise_at(
                        value,
                        f"{v!r} is not a value of '{field_node.dotted}' "
                        f"(one of: {enum}){suggest(str(v), map(str, field_node.spec.enum))}",
                    )

    def _membership(self, node: ast.AST, negated: bool, left: ir.Node, right: ir.Node) -> ir.Node:
        if isinstance(right, ir.Const) and right.type.startswith(LIST):
            item_type = right.type.split(":", 1)[1]
            if not compatible(left.type, item_type):
                return raise_at(node, f"cannot look for {name_of(left)} in a list of {item_type}")
            self._check_enum(left, right)
            return ir.In(left.pos, left, right, negated)
        if right.type == LIST or (right.type == ANY and isinstance(right, ir.Path)):
            item_spec = right.spec.items if isinstance(right, ir.Path) and right.spec else None
            if item_spec is not None and not compatible(left.type, ir.type_of(item_spec)):
                return raise_at(
                    node,
                    f"cannot look for {name_of(left)} in {name_of(right)}, "
                    f"a list of {item_spec.type}",
                )
            return ir.In(left.pos, left, right, negated)
        if right.type == STRING and left.type in (STRING, ANY):
            return raise_at(node, f"to look for text in a string use {src_of(right)}.contains(...)")
        return raise_at(node, f"'in' needs a list on its right, not {name_of(right)}")

    # ------------------------------------------------------------ calls

    def _Call(self, node: ast.Call) -> ir.Node:
        if node.keywords:
            return raise_at(node, "keyword arguments are not allowed")
        if isinstance(node.func, ast.Attribute):
            return self._method(node, node.func)
        if not isinstance(node.func, ast.Name):
            self.build(node.func)  # names what is wrong with it, e.g. a lambda
            return raise_at(node, "only built-in functions can be called")
        name = node.func.id
        if name not in FUNCTIONS:
            return raise_at(
                node,
                f"unknown function '{name}'{suggest(name, FUNCTIONS)} "
                f"(functions: {', '.join(FUNCTIONS)})",
            )
        if name in ("any", "all"):
            return self._quantifier(node, name)
        args = [self.build(a) for a in node.args]
        return call(self.scope, node, name, args)

    def _method(self, node: ast.Call, func: ast.Attribute) -> ir.Node:
        name = func.attr
        self._check_name(func, name)
        if name not in METHODS:
            return raise_at(
                func,
                f"unknown method '{name}'{suggest(name, METHODS)} "
                f"(string methods: {', '.join(METHODS)})",
            )
        target = self.build(func.value)
        if target.type not in (STRING, ANY):
            return raise_at(func, f"'{name}' is a string method; {name_of(target)} is not a string")
        if len(node.args) != 1:
            return raise_at(node, f"{name}() takes one argument")
        arg = self.build(node.args[0])
        if arg.type not in (STRING, ANY):
            return raise_at(arg, f"{name}() needs a string argument, not {name_of(arg)}")
        if name == "matches":
            if not isinstance(arg, ir.Const):
                return raise_at(arg, "matches() needs a constant regular expression")
            problem = regex_problem(arg.value)
            if problem is not None:
                return raise_at(arg, f"bad regular expression {arg.value!r}: {problem}")
        return ir.Call(pos_of(node), name, (target, arg), BOOLEAN)

    def _quantifier(self, node: ast.Call, name: str) -> ir.Node:
        if len(node.args) != 2:
            return raise_at(
                node,
                f"{name}() takes a list and a condition on item, "
                f"e.g. {name}(lines, item.amount > 100)",
            )
        items = self.build(node.args[0])
        if not isinstance(items, ir.Path) or items.type not in (LIST, ANY):
            return raise_at(
                node.args[0], f"{name}() needs a list field first, not {name_of(items)}"
            )
        item_spec = (items.spec.items if items.spec else None) or FieldSpec("item", "object")
        inner = Scope(
            self.scope.schema,
            item_spec,
            allow_facts=False,
            errors=self.scope.errors,
            values=self.scope.values,
        )
        cond = as_condition(Builder(inner).build(node.args[1]))
        return ir.Quant(pos_of(node), name, items, cond)
