"""A Casewise rule file read by the bench, independently of ``service.engine``.

The bench translates a rule file into plain Python, a zen-engine graph and CLIPS
rules. It reads the file itself (rather than reusing the engine's parser) so that
agreement between those translations and Casewise is evidence, not an echo.

Conditions become small tuples (the "bench IR"):

    ("const", value)              ("path", ("vendor", "risk"))     ("item", parts)
    ("today",)                    ("fact", "fraud-check")
    ("cmp", op, left, right)      ("in", left, right, negated)
    ("and", [..])  ("or", [..])   ("not", x)
    ("arith", op, left, right)    ("neg", x)
    ("call", name, [args])        ("quant", "any" | "all", list, condition)

Decision-table cells become tests on the column value: ``None`` (any),
``("cmp", op, value)``, ``("range", lo, lo_closed, hi, hi_closed)``,
``("oneof", values)`` and ``("not", test)``.
"""

from __future__ import annotations

import ast
import datetime as dt
import heapq
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MISSING: Any = object()
Node = tuple[Any, ...]  # a bench-IR node (see the module docstring)
CMP_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
FUNCTIONS = ("days", "len", "lower", "upper", "abs", "min", "max")
METHODS = ("startswith", "endswith", "contains", "matches")
_CELL_OP = re.compile(r"^(<=|>=|<|>|!=|==|=)\s*(.+)$", re.S)
_CELL_RANGE = re.compile(r"^([\[(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])\[])$", re.S)


class Unsupported(Exception):
    """The rule file uses something a bench translation does not handle."""


@dataclass(frozen=True)
class Field:
    """One input field (dotted path) and what the schema says about it."""

    path: tuple[str, ...]
    type: str
    required: bool
    default: Any
    enum: tuple[Any, ...] | None
    minimum: float | None
    maximum: float | None
    pattern: str | None
    item_type: str | None
    reachable: bool  # every enclosing object is required, so defaults always apply

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def may_be_missing(self) -> bool:
        """The value can be absent (None) when a condition reads it."""
        if self.default is not MISSING and self.reachable:
            return False
        return not (self.required and self.reachable)


@dataclass(frozen=True)
class Output:
    name: str
    type: str
    enum: tuple[Any, ...] | None
    default: Any


@dataclass(frozen=True)
class Rule:
    id: str
    index: int
    priority: int
    when: str
    cond: Node
    set: dict[str, Any]
    append: dict[str, list[Any]]
    asserts: tuple[str, ...]
    stop: bool


@dataclass(frozen=True)
class Row:
    number: int  # 1-based
    cells: tuple[Any, ...]  # one test per column (None = any)
    values: dict[str, Any]


@dataclass(frozen=True)
class Table:
    id: str
    index: int
    hit: str
    aggregate: str | None
    inputs: tuple[str, ...]
    columns: tuple[Node, ...]  # the input expressions, as bench IR
    outputs: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass
class RuleModel:
    """A rule file as the bench sees it."""

    name: str
    path: Path
    schema: dict[str, Any]  # the raw `input:` mapping, for building inputs
    fields: dict[str, Field]  # dotted path -> field, for every field at any depth
    outputs: dict[str, Output]
    rules: list[Rule]
    tables: list[Table]
    order: list[Rule] = field(default_factory=list)  # the order rules fire in
    notes: list[str] = field(default_factory=list)

    def field(self, parts: tuple[str, ...]) -> Field:
        dotted = ".".join(parts)
        try:
            return self.fields[dotted]
        except KeyError:
            raise Unsupported(f"{self.name}: unknown field {dotted!r}") from None

    def facts(self) -> list[str]:
        """Every derived fact name, in the order rules assert them."""
        seen: dict[str, None] = {}
        for rule in self.order:
            for name in rule.asserts:
                seen.setdefault(name)
        return list(seen)


# ---------------------------------------------------------------- loading


def load_yaml(path: Path) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def load_model(path: Path) -> RuleModel:
    """Read ``path`` (a Casewise rule file) into a ``RuleModel``."""
    doc = load_yaml(path)
    name = str(doc["ruleset"])
    fields: dict[str, Field] = {}
    _read_fields(doc.get("input") or {}, (), True, fields)
    outputs = {
        key: Output(key, spec["type"], _tuple(spec.get("enum")), spec.get("default", MISSING))
        for key, spec in (doc.get("output") or {}).items()
    }
    rules = []
    for index, node in enumerate(doc.get("rules") or []):
        then = node.get("then") or {}
        asserts = then.get("assert") or ()
        rules.append(
            Rule(
                id=str(node["id"]),
                index=index,
                priority=int(node.get("priority", 0)),
                when=str(node["when"]),
                cond=parse_expr(str(node["when"])),
                set=dict(then.get("set") or {}),
                append={
                    k: list(v) if isinstance(v, list) else [v]
                    for k, v in (then.get("append") or {}).items()
                },
                asserts=(asserts,) if isinstance(asserts, str) else tuple(asserts),
                stop=bool(then.get("stop", False)),
            )
        )
    tables = [_read_table(i, node) for i, node in enumerate(doc.get("tables") or [])]
    model = RuleModel(name, path, doc.get("input") or {}, fields, outputs, rules, tables)
    model.order, model.notes = firing_order(rules)
    return model


def _tuple(value: Any) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


def _read_fields(
    schema: dict[str, Any], prefix: tuple[str, ...], reachable: bool, out: dict[str, Field]
) -> None:
    for key, spec in schema.items():
        if isinstance(spec, str):
            spec = {"type": spec}
        path = (*prefix, key)
        items = spec.get("items")
        item_type = (items if isinstance(items, str) else items.get("type")) if items else None
        f = Field(
            path=path,
            type=spec["type"],
            required=bool(spec.get("required", False)),
            default=spec.get("default", MISSING),
            enum=_tuple(spec.get("enum")),
            minimum=spec.get("minimum"),
            maximum=spec.get("maximum"),
            pattern=spec.get("pattern"),
            item_type=item_type,
            reachable=reachable,
        )
        out[f.dotted] = f
        if f.type == "object":
            _read_fields(spec.get("fields") or {}, path, reachable and f.required, out)


def _read_table(index: int, node: dict[str, Any]) -> Table:
    inputs = tuple(str(i) for i in node["inputs"])
    outputs = tuple(str(o) for o in node["outputs"])
    rows = []
    for number, row in enumerate(node["rows"], start=1):
        cells = tuple(parse_cell(c) for c in row[: len(inputs)])
        values = dict(zip(outputs, row[len(inputs) :], strict=True))
        rows.append(Row(number, cells, values))
    return Table(
        id=str(node["id"]),
        index=index,
        hit=str(node.get("hit", "unique")),
        aggregate=node.get("aggregate"),
        inputs=inputs,
        columns=tuple(parse_expr(i) for i in inputs),
        outputs=outputs,
        rows=tuple(rows),
    )


# ---------------------------------------------------------------- firing order


def firing_order(rules: list[Rule]) -> tuple[list[Rule], list[str]]:
    """The order rules fire in: priority (then file order), after the rules whose facts they read.

    This is the agenda order of a forward-chaining engine as long as a rule reads derived
    facts only as plain conditions joined by ``and`` (the notes say where that is not so;
    the bench's equivalence check has the last word).
    """
    asserters: dict[str, list[Rule]] = {}
    for rule in rules:
        for name in rule.asserts:
            asserters.setdefault(name, []).append(rule)
    needs: dict[int, set[int]] = {}
    notes = []
    for rule in rules:
        positive, other = _fact_uses(rule.cond)
        if other:
            notes.append(
                f"rule {rule.id} reads facts {sorted(other)} other than as plain conditions"
            )
        needs[rule.index] = {a.index for n in positive | other for a in asserters.get(n, [])}
        needs[rule.index].discard(rule.index)
    waiting = {i: set(n) for i, n in needs.items()}
    ready = [(-r.priority, r.index) for r in rules if not waiting[r.index]]
    heapq.heapify(ready)
    order: list[Rule] = []
    while ready:
        _, index = heapq.heappop(ready)
        order.append(rules[index])
        for other_index, pending in waiting.items():
            if index in pending:
                pending.discard(index)
                if not pending:
                    heapq.heappush(ready, (-rules[other_index].priority, other_index))
    if len(order) != len(rules):
        notes.append("derived facts form a cycle; using priority order")
        order = sorted(rules, key=lambda r: (-r.priority, r.index))
    return order, notes


def _fact_uses(node: Node) -> tuple[set[str], set[str]]:
    """Facts read as top-level ``and`` conditions, and facts read in any other way."""
    positive: set[str] = set()
    conjuncts = node[1] if node[0] == "and" else [node]
    rest = []
    for c in conjuncts:
        if c[0] == "fact":
            positive.add(c[1])
        else:
            rest.append(c)
    other = {n[1] for c in rest for n in walk(c) if n[0] == "fact"}
    return positive, other


def walk(node: Any):
    """Every IR node in ``node``, depth first."""
    if isinstance(node, tuple) and node and isinstance(node[0], str):
        yield node
        for part in node[1:]:
            if isinstance(part, tuple):
                yield from walk(part)
            elif isinstance(part, list):
                for item in part:
                    yield from walk(item)


# ---------------------------------------------------------------- expressions


def parse_expr(text: str) -> Node:
    """A condition or value expression in bench IR."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise Unsupported(f"cannot parse {text!r}: {exc.msg}") from exc
    return _convert(tree)


def _convert(node: ast.AST) -> Node:
    if isinstance(node, ast.BoolOp):
        kind = "and" if isinstance(node.op, ast.And) else "or"
        return (kind, [_convert(v) for v in node.values])
    if isinstance(node, ast.UnaryOp):
        inner = _convert(node.operand)
        if isinstance(node.op, ast.Not):
            return ("not", inner)
        if isinstance(node.op, ast.USub):
            if inner[0] == "const" and isinstance(inner[1], int | float):
                return ("const", -inner[1])
            return ("neg", inner)
        return inner
    if isinstance(node, ast.Compare):
        parts: list[Node] = []
        left = _convert(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _convert(comparator)
            if isinstance(op, ast.In | ast.NotIn):
                parts.append(("in", left, right, isinstance(op, ast.NotIn)))
            elif type(op) in CMP_OPS:
                parts.append(("cmp", CMP_OPS[type(op)], left, right))
            else:
                raise Unsupported(f"operator {type(op).__name__}")
            left = right
        return parts[0] if len(parts) == 1 else ("and", parts)
    if isinstance(node, ast.BinOp) and type(node.op) in ARITH_OPS:
        return ("arith", ARITH_OPS[type(node.op)], _convert(node.left), _convert(node.right))
    if isinstance(node, ast.Constant):
        return ("const", node.value)
    if isinstance(node, ast.List | ast.Tuple):
        items = [_convert(e) for e in node.elts]
        if any(i[0] != "const" for i in items):
            raise Unsupported("lists of non-constants")
        return ("const", [i[1] for i in items])
    if isinstance(node, ast.Name):
        named = {"true": True, "True": True, "false": False, "False": False}
        if node.id in named:
            return ("const", named[node.id])
        if node.id in ("null", "None"):
            return ("const", None)
        if node.id == "today":
            return ("today",)
        if node.id == "item":
            return ("item", ())
        return ("path", (node.id,))
    if isinstance(node, ast.Attribute):
        base = _convert(node.value)
        if base[0] not in ("path", "item"):
            raise Unsupported("attribute of a non-field")
        return (base[0], (*base[1], node.attr))
    if isinstance(node, ast.Call):
        return _call(node)
    raise Unsupported(f"expression node {type(node).__name__}")


def _call(node: ast.Call) -> Node:
    args = [_convert(a) for a in node.args]
    if isinstance(node.func, ast.Attribute):
        if node.func.attr not in METHODS:
            raise Unsupported(f"method {node.func.attr}")
        return ("call", node.func.attr, [_convert(node.func.value), *args])
    if not isinstance(node.func, ast.Name):
        raise Unsupported("call of an expression")
    name = node.func.id
    if name == "fact":
        return ("fact", args[0][1])
    if name == "date":
        return ("const", dt.date.fromisoformat(args[0][1]))
    if name in ("any", "all"):
        return ("quant", name, args[0], args[1])
    if name not in FUNCTIONS:
        raise Unsupported(f"function {name}")
    return ("call", name, args)


def type_of(node: Node, model: RuleModel, item_type: str | None = None) -> str:
    """number | string | boolean | date | list | null | any."""
    kind = node[0]
    if kind == "const":
        v = node[1]
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, int | float):
            return "number"
        if isinstance(v, str):
            return "string"
        if isinstance(v, dt.date):
            return "date"
        return "list" if isinstance(v, list) else "null"
    if kind == "path":
        t = model.field(node[1]).type
        return "number" if t == "integer" else t
    if kind == "item":
        return item_type or "any"
    if kind == "today":
        return "date"
    if kind == "arith":
        lt, rt = type_of(node[2], model, item_type), type_of(node[3], model, item_type)
        if lt == "date":
            return "number" if rt == "date" else "date"
        return "number"
    if kind == "neg":
        return "number"
    if kind == "call":
        if node[1] in ("lower", "upper"):
            return "string"
        if node[1] in METHODS:
            return "boolean"
        return "number"
    return "boolean"


# ---------------------------------------------------------------- table cells


def parse_cell(cell: Any) -> Any:
    """A decision-table cell as a test on the column value (None matches anything)."""
    if isinstance(cell, bool | int | float):
        return ("cmp", "==", cell)
    if cell is None:
        return None
    text = str(cell).strip()
    if text in ("-", ""):
        return None
    if text.startswith("not(") and text.endswith(")"):
        return ("not", parse_cell(text[4:-1]))
    match = _CELL_OP.match(text)
    if match:
        op = "==" if match.group(1) == "=" else match.group(1)
        return ("cmp", op, _literal(match.group(2)))
    match = _CELL_RANGE.match(text)
    if match:
        lo, hi = _literal(match.group(2)), _literal(match.group(3))
        return ("range", lo, match.group(1) == "[", hi, match.group(4) == "]")
    parsed = parse_expr(text) if "," not in text else parse_expr(f"[{text}]")
    if parsed[0] != "const":
        raise Unsupported(f"cell {text!r} is not a constant test")
    if isinstance(parsed[1], list):
        return ("oneof", parsed[1])
    return ("cmp", "==", parsed[1])


def _literal(text: str) -> Any:
    parsed = parse_expr(text)
    if parsed[0] != "const":
        raise Unsupported(f"cell value {text!r} is not a constant")
    return parsed[1]


def cell_condition(column: Node, test: Any) -> Node | None:
    """A cell test written as a bench-IR condition on ``column``."""
    if test is None:
        return None
    kind = test[0]
    if kind == "not":
        return ("not", cell_condition(column, test[1]))
    if kind == "cmp":
        return ("cmp", test[1], column, ("const", test[2]))
    if kind == "oneof":
        return ("in", column, ("const", list(test[1])), False)
    lo, lo_closed, hi, hi_closed = test[1:]
    return (
        "and",
        [
            ("cmp", ">=" if lo_closed else ">", column, ("const", lo)),
            ("cmp", "<=" if hi_closed else "<", column, ("const", hi)),
        ],
    )


def row_condition(table: Table, row: Row) -> Node:
    """The condition of one table row: its cells' tests joined by and."""
    cells = zip(table.columns, row.cells, strict=True)
    parts = [c for c in (cell_condition(col, cell) for col, cell in cells) if c is not None]
    if not parts:
        return ("const", True)
    return parts[0] if len(parts) == 1 else ("and", parts)


# ---------------------------------------------------------------- literals, for inputs


def literals(model: RuleModel) -> dict[str, list[Any]]:
    """Constants each input field is compared with, so generated inputs hit the edges."""
    found: dict[str, list[Any]] = {}

    def note(path_node: Node, value: Any) -> None:
        if path_node[0] != "path":
            return
        values = value if isinstance(value, list) else [value]
        bucket = found.setdefault(".".join(path_node[1]), [])
        for v in values:
            if v not in bucket and v is not None:
                bucket.append(v)

    conditions = [r.cond for r in model.rules]
    for table in model.tables:
        for row in table.rows:
            conditions.append(row_condition(table, row))
    for cond in conditions:
        for node in walk(cond):
            if node[0] in ("cmp", "in"):
                left, right = (node[2], node[3]) if node[0] == "cmp" else (node[1], node[2])
                if right[0] == "const":
                    note(left, right[1])
                if left[0] == "const":
                    note(right, left[1])
            if node[0] == "call" and node[1] in METHODS and node[2][1][0] == "const":
                note(node[2][0], node[2][1][1])
    return found
