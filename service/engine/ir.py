"""The checked form of an expression: a small tree of typed nodes.

The parser (``expr.py``) builds it from text; the reference evaluator
(``reference.py``) and the durable_rules compiler (``compile.py``) read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .schema import FieldSpec

# Types an expression can have. "number" covers integers; "any" is the type of a value
# inside an object whose fields the schema does not list.
NUMBER, STRING, BOOLEAN, DATE, DATETIME, LIST, OBJECT, NULL, ANY = (
    "number",
    "string",
    "boolean",
    "date",
    "datetime",
    "list",
    "object",
    "null",
    "any",
)


def type_of(spec: FieldSpec) -> str:
    return NUMBER if spec.type == "integer" else spec.type


@dataclass(frozen=True)
class Node:
    """Base of every node: where it starts in the expression (1-based line, 0-based column)."""

    pos: tuple[int, int] = field(compare=False, repr=False)

    @property
    def type(self) -> str:
        return BOOLEAN


@dataclass(frozen=True)
class Const(Node):
    value: Any
    vtype: str

    @property
    def type(self) -> str:
        return self.vtype


@dataclass(frozen=True)
class Path(Node):
    """A field of the input (``scope == "input"``), of the current list item (``"item"``),
    or an intermediate value (``"value"``) decided by a table or rule of the ruleset."""

    parts: tuple[str, ...]
    scope: str
    spec: FieldSpec | None  # None when inside an object without declared fields

    @property
    def type(self) -> str:
        return ANY if self.spec is None else type_of(self.spec)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts) if self.scope != "item" else ".".join(("item", *self.parts))


@dataclass(frozen=True)
class Today(Node):
    @property
    def type(self) -> str:
        return DATE


@dataclass(frozen=True)
class Fact(Node):
    name: str


@dataclass(frozen=True)
class Compare(Node):
    op: str  # < <= > >= == !=
    left: Node
    right: Node


@dataclass(frozen=True)
class Missing(Node):
    """``x == null`` (or, negated, ``x != null``): the optional value is absent."""

    path: Path
    negated: bool = False


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    item: Node


@dataclass(frozen=True)
class In(Node):
    left: Node
    right: Node  # a Const list or a list-typed node
    negated: bool = False


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * / %
    left: Node
    right: Node
    vtype: str = NUMBER

    @property
    def type(self) -> str:
        return self.vtype


@dataclass(frozen=True)
class Neg(Node):
    item: Node

    @property
    def type(self) -> str:
        return NUMBER


@dataclass(frozen=True)
class Call(Node):
    """A built-in function (days, len, lower, upper, abs, min, max) or string method."""

    name: str
    args: tuple[Node, ...]
    vtype: str

    @property
    def type(self) -> str:
        return self.vtype


@dataclass(frozen=True)
class Quant(Node):
    """``any(list, cond)`` / ``all(list, cond)``: cond holds for some / every item."""

    kind: str
    items: Node
    cond: Node


@dataclass(frozen=True)
class Feel(Node):
    """A FEEL expression or table cell (``expressions: feel``), compiled by ``engine.feel``:
    ``fn(data)`` gives its value with FEEL's meaning. ``reads`` are the fields and values it
    reads, as paths (so explanations and the order of values see them)."""

    fn: Any = field(compare=False)
    reads: tuple[Path, ...]
    vtype: str
    text: str

    @property
    def type(self) -> str:
        return self.vtype


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Feel):
        return node.reads
    if isinstance(node, Compare | Arith):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.left, node.right)
    if isinstance(node, And | Or):
        return node.items
    if isinstance(node, Not | Neg):
        return (node.item,)
    if isinstance(node, Missing):
        return (node.path,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Quant):
        return (node.items, node.cond)
    return ()


def walk(node: Node) -> list[Node]:
    out = [node]
    for child in children(node):
        out.extend(walk(child))
    return out


def input_paths(node: Node) -> list[str]:
    """Dotted input paths an expression reads, in order of appearance, without repeats."""
    seen: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, Path) and n.scope == "input":
            seen.setdefault(n.dotted, None)
    return list(seen)


def value_names(node: Node) -> list[str]:
    """Intermediate values an expression reads, in order of appearance, without repeats."""
    seen: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, Path) and n.scope == "value":
            seen.setdefault(n.parts[0], None)
    return list(seen)


def has_fact(node: Node) -> bool:
    return any(isinstance(n, Fact) for n in walk(node))


def uses_today(node: Node) -> bool:
    return any(isinstance(n, Today) for n in walk(node))
