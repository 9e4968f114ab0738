"""Parse and type-check condition expressions into ``ir`` nodes.

Python's ``ast`` parses the text (mode "eval"); a white-list of node types is then
translated, so nothing outside the grammar (dunder attributes, lambdas,
comprehensions, subscripts, unknown functions) can ever run. Nothing is evaluated here.

Before ``ast`` sees the text, its tokens are counted against the limits of ``limits.py``
(length, tokens, operators, bracket nesting): every later step walks the tree
recursively, and a tree within those limits is far shallower than Python's recursion limit.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import tokenize
from dataclasses import dataclass, field
from typing import NoReturn

from . import ir, limits
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


class ExprError(Exception):
    def __init__(self, pos: tuple[int, int], message: str) -> None:
        self.pos = pos
        self.message = message
        super().__init__(message)


@dataclass
class Scope:
    """What names mean: the input schema, and inside any()/all() the current item."""

    schema: dict[str, FieldSpec]
    item: FieldSpec | None = None
    allow_facts: bool = True
    errors: list[ExprError] = field(default_factory=list)
    values: dict[str, FieldSpec] = field(default_factory=dict)  # intermediate values


def parse(text: str, scope: Scope, *, want: str | None = BOOLEAN) -> ir.Node | None:
    """The checked tree of ``text``, or None with every mistake in ``scope.errors``."""
    too_big = check_size(text.strip())
    if too_big is not None:
        scope.errors.append(too_big)
        return None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        scope.errors.append(
            ExprError((exc.lineno or 1, max((exc.offset or 1) - 1, 0)), f"syntax error: {exc.msg}")
        )
        return None
    before = len(scope.errors)
    try:
        node = _Builder(scope).build(tree.body)
        if want == BOOLEAN:
            node = as_condition(node)
    except ExprError as exc:
        scope.errors.append(exc)
        return None
    if len(scope.errors) > before:
        return None
    return node


_ARITH_TOKENS = frozenset("+-*/%")
_OPENING, _CLOSING = frozenset("([{"), frozenset(")]}")
_LIST_START = frozenset("[(,")


def check_size(text: str) -> ExprError | None:
    """An error if ``text`` is longer, wider or deeper than an expression may be; else None.

    Works on tokens, without recursion: this runs before Python's parser, whose recursion
    a deep expression (1,000 nested ``not``, a 2,000-term sum) would exhaust.
    """
    if len(text) > limits.MAX_EXPRESSION_CHARS:
        return ExprError(
            (1, 0),
            f"the expression has {len(text):,} characters; at most "
            f"{limits.MAX_EXPRESSION_CHARS:,} are allowed: split it into several rules "
            "or a decision table",
        )
    count = operators = depth = 0
    before = ""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    try:
        for tok in tokens:
            if tok.type in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.COMMENT):
                continue
            count += 1
            pos = (tok.start[0], tok.start[1])
            if count > limits.MAX_EXPRESSION_TOKENS:
                return ExprError(
                    pos,
                    f"the expression has more than {limits.MAX_EXPRESSION_TOKENS:,} names, "
                    "values and operators: split it into several rules or a decision table",
                )
            word = tok.string
            if tok.type == tokenize.OP and word in _OPENING:
                depth += 1
                if depth > limits.MAX_EXPRESSION_NESTING:
                    return ExprError(
                        pos,
                        f"brackets are nested more than {limits.MAX_EXPRESSION_NESTING} deep "
                        "here; simplify the expression",
                    )
            elif tok.type == tokenize.OP and word in _CLOSING:
                depth = max(depth - 1, 0)
            elif (tok.type == tokenize.OP and word in _ARITH_TOKENS) or (
                tok.type == tokenize.NAME and word == "not"
            ):
                # a sign on a list item (-1 in [-1, -2]) is part of the value, not nesting
                if not (word in "+-" and before in _LIST_START):
                    operators += 1
                if operators > limits.MAX_EXPRESSION_OPERATORS:
                    return ExprError(
                        pos,
                        f"the expression has more than {limits.MAX_EXPRESSION_OPERATORS} "
                        "operators (+ - * / % not); split it into several rules, or "
                        "compute the value before asking for a decision",
                    )
            before = word
    except (tokenize.TokenError, SyntaxError):
        return None  # not even tokens: the parser names the syntax error
    return None


def as_condition(node: ir.Node) -> ir.Node:
    """A boolean-typed node for a condition; a bare boolean value becomes ``x == true``."""
    if node.type == BOOLEAN and isinstance(node, ir.Path | ir.Const):
        return ir.Compare(node.pos, "==", node, ir.Const(node.pos, True, BOOLEAN))
    if node.type not in (BOOLEAN, ANY):
        raise_at(
            node,
            f"a condition must be true or false, but this is a {node.type}; "
            "compare it, e.g. 'amount > 0'",
        )
    if node.type == ANY and isinstance(node, ir.Path):
        return ir.Compare(node.pos, "==", node, ir.Const(node.pos, True, BOOLEAN))
    return node


def raise_at(node: ir.Node | ast.AST, message: str) -> NoReturn:
    raise ExprError(_pos(node), message)


def _pos(node: ir.Node | ast.AST) -> tuple[int, int]:
    if isinstance(node, ir.Node):
        return node.pos
    return (getattr(node, "lineno", 1), getattr(node, "col_offset", 0))


def compatible(a: str, b: str) -> bool:
    return a == b or ANY in (a, b) or NULL in (a, b)


class _Builder:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def build(self, node: ast.AST) -> ir.Node:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            return raise_at(node, f"'{_describe(node)}' is not allowed in a condition")
        result: ir.Node = method(node)
        return result

    # ------------------------------------------------------------ leaves

    def _Constant(self, node: ast.Constant) -> ir.Node:
        v = node.value
        if isinstance(v, bool):
            return ir.Const(_pos(node), v, BOOLEAN)
        if isinstance(v, int | float):
            return ir.Const(_pos(node), v, NUMBER)
        if isinstance(v, str):
            return ir.Const(_pos(node), v, STRING)
        if v is None:
            return ir.Const(_pos(node), None, NULL)
        return raise_at(node, f"constant {v!r} is not allowed")

    def _List(self, node: ast.List | ast.Tuple) -> ir.Node:
        values = [self.build(e) for e in node.elts]
        if not all(isinstance(v, ir.Const) for v in values):
            return raise_at(node, "a list in a condition may hold only constants")
        types = {v.type for v in values} - {NULL}
        if len(types) > 1:
            return raise_at(node, f"a list must hold values of one type, not {sorted(types)}")
        consts = tuple(v.value for v in values if isinstance(v, ir.Const))
        return ir.Const(_pos(node), consts, LIST + ":" + (types.pop() if types else ANY))

    _Tuple = _List

    def _Name(self, node: ast.Name) -> ir.Node:
        name = node.id
        if name in KEYWORDS:
            v = KEYWORDS[name]
            return ir.Const(_pos(node), v, BOOLEAN if isinstance(v, bool) else NULL)
        if name == "today":
            return ir.Today(_pos(node))
        if name == "item":
            if self.scope.item is None:
                return raise_at(
                    node, "'item' only means something inside any(list, ...) or all(list, ...)"
                )
            return ir.Path(_pos(node), (), "item", self.scope.item)
        self._check_name(node, name)
        spec = self.scope.schema.get(name)
        if spec is None and name in self.scope.values:
            return ir.Path(_pos(node), (name,), "value", self.scope.values[name])
        if spec is None:
            names = [*self.scope.schema, *self.scope.values]
            return raise_at(
                node,
                f"unknown field '{name}'{suggest(name, names)}"
                + ("" if suggest(name, names) else f" (fields: {', '.join(names) or 'none'})"),
            )
        return ir.Path(_pos(node), (name,), "input", spec)

    def _Attribute(self, node: ast.Attribute) -> ir.Node:
        self._check_name(node, node.attr)
        base = self.build(node.value)
        if not isinstance(base, ir.Path):
            return raise_at(node, f"'.{node.attr}' can only follow a field name")
        if base.spec is None:  # object without declared fields: anything goes
            return ir.Path(_pos(node), (*base.parts, node.attr), base.scope, None)
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
            return ir.Path(_pos(node), (*base.parts, node.attr), base.scope, None)
        spec = base.spec.fields.get(node.attr)
        if spec is None:
            full = f"{base.dotted}.{node.attr}"
            known = [f"{base.dotted}.{k}" for k in base.spec.fields]
            return raise_at(node, f"unknown field '{full}'{suggest(full, known)}")
        return ir.Path(_pos(node), (*base.parts, node.attr), base.scope, spec)

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("__") or name.startswith("_"):
            raise_at(node, f"names starting with '_' ('{name}') are not allowed")

    # ------------------------------------------------------------ operators

    def _BoolOp(self, node: ast.BoolOp) -> ir.Node:
        items = tuple(as_condition(self.build(v)) for v in node.values)
        cls = ir.And if isinstance(node.op, ast.And) else ir.Or
        return cls(_pos(node), items)

    def _UnaryOp(self, node: ast.UnaryOp) -> ir.Node:
        item = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            return ir.Not(_pos(node), as_condition(item))
        if isinstance(node.op, ast.USub | ast.UAdd):
            if item.type not in (NUMBER, ANY):
                return raise_at(node, f"'-' needs a number, not a {item.type}")
            if isinstance(node.op, ast.UAdd):
                return item
            if isinstance(item, ir.Const):
                return ir.Const(_pos(node), -item.value, NUMBER)
            return ir.Neg(_pos(node), item)
        return raise_at(node, f"operator '{_describe(node)}' is not allowed")

    def _BinOp(self, node: ast.BinOp) -> ir.Node:
        op = _ARITH.get(type(node.op))
        if op is None:
            return raise_at(node, f"operator '{_describe(node.op)}' is not allowed; use + - * / %")
        left, right = self.build(node.left), self.build(node.right)
        lt, rt = left.type, right.type
        if lt == NUMBER and rt == NUMBER or ANY in (lt, rt) and {lt, rt} <= {NUMBER, ANY}:
            return ir.Arith(_pos(node), op, left, right, NUMBER)
        if op == "-" and lt == rt and lt in (DATE, DATETIME):
            return ir.Arith(_pos(node), op, left, right, NUMBER)  # days between
        if op in "+-" and lt == DATE and rt == NUMBER:
            return ir.Arith(_pos(node), op, left, right, DATE)
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
        return parts[0] if len(parts) == 1 else ir.And(_pos(node), tuple(parts))

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
            return raise_at(node, f"'{_describe(op)}' is not allowed; use == or !=")
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
            lname = _name(left)
            return raise_at(node, f"cannot compare {lname} with {_name(right)}")
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
                return raise_at(node, f"cannot look for {_name(left)} in a list of {item_type}")
            self._check_enum(left, right)
            return ir.In(left.pos, left, right, negated)
        if right.type == LIST or (right.type == ANY and isinstance(right, ir.Path)):
            item_spec = right.spec.items if isinstance(right, ir.Path) and right.spec else None
            if item_spec is not None and not compatible(left.type, ir.type_of(item_spec)):
                return raise_at(
                    node,
                    f"cannot look for {_name(left)} in {_name(right)}, a list of {item_spec.type}",
                )
            return ir.In(left.pos, left, right, negated)
        if right.type == STRING and left.type in (STRING, ANY):
            return raise_at(node, f"to look for text in a string use {_src(right)}.contains(...)")
        return raise_at(node, f"'in' needs a list on its right, not {_name(right)}")

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
        return _call(self.scope, node, name, args)

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
            return raise_at(func, f"'{name}' is a string method; {_name(target)} is not a string")
        if len(node.args) != 1:
            return raise_at(node, f"{name}() takes one argument")
        arg = self.build(node.args[0])
        if arg.type not in (STRING, ANY):
            return raise_at(arg, f"{name}() needs a string argument, not {_name(arg)}")
        if name == "matches":
            if not isinstance(arg, ir.Const):
                return raise_at(arg, "matches() needs a constant regular expression")
            problem = regex_problem(arg.value)
            if problem is not None:
                return raise_at(arg, f"bad regular expression {arg.value!r}: {problem}")
        return ir.Call(_pos(node), name, (target, arg), BOOLEAN)

    def _quantifier(self, node: ast.Call, name: str) -> ir.Node:
        if len(node.args) != 2:
            return raise_at(
                node,
                f"{name}() takes a list and a condition on item, "
                f"e.g. {name}(lines, item.amount > 100)",
            )
        items = self.build(node.args[0])
        if not isinstance(items, ir.Path) or items.type not in (LIST, ANY):
            return raise_at(node.args[0], f"{name}() needs a list field first, not {_name(items)}")
        item_spec = (items.spec.items if items.spec else None) or FieldSpec("item", "object")
        inner = Scope(
            self.scope.schema,
            item_spec,
            allow_facts=False,
            errors=self.scope.errors,
            values=self.scope.values,
        )
        cond = as_condition(_Builder(inner).build(node.args[1]))
        return ir.Quant(_pos(node), name, items, cond)


def _call(scope: Scope, node: ast.Call, name: str, args: list[ir.Node]) -> ir.Node:
    pos = _pos(node)

    def need(n: int | None, *types: str) -> None:
        if n is not None and len(args) != n:
            raise_at(node, f"{name}() takes {n} argument{'s' if n != 1 else ''}, got {len(args)}")
        for a in args:
            if a.type not in (*types, ANY):
                raise_at(a, f"{name}() needs {' or '.join(types)}, not {_name(a)}")

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


def _name(node: ir.Node) -> str:
    if isinstance(node, ir.Path):
        kind = node.spec.type if node.spec else "value"
        return f"{kind} field '{node.dotted}'"
    if isinstance(node, ir.Const):
        shown = f'"{node.value}"' if isinstance(node.value, str) else repr(node.value)
        return f"{node.type} {shown}"
    return f"a {node.type}"


def _src(node: ir.Node) -> str:
    return node.dotted if isinstance(node, ir.Path) else "text"


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "lambda",
        "ListComp": "list comprehension",
        "GeneratorExp": "generator",
        "SetComp": "set comprehension",
        "DictComp": "dict comprehension",
        "Subscript": "indexing with []",
        "NamedExpr": ":=",
        "IfExp": "if/else",
        "Dict": "a dict",
        "Set": "a set",
        "Starred": "*",
        "JoinedStr": "f-string",
        "Await": "await",
        "Yield": "yield",
        "Pow": "**",
        "FloorDiv": "//",
        "BitAnd": "&",
        "BitOr": "|",
        "BitXor": "^",
        "LShift": "<<",
        "RShift": ">>",
        "Is": "is",
        "IsNot": "is not",
        "Invert": "~",
        "MatMult": "@",
    }
    return names.get(type(node).__name__, type(node).__name__)
