"""What a condition expression is checked against: its names (``Scope``), its mistakes.

``ExprError`` is a mistake at a line and column of the expression; ``raise_at`` raises one at a
node. ``as_condition`` and ``compatible`` are the type rules the builder (``expr_build.py``) and
the function calls (``expr_calls.py``) share; ``name_of``, ``src_of`` and ``ast_name`` name a
node in a message.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import NoReturn

from . import ir
from .ir import ANY, BOOLEAN, NULL
from .schema import FieldSpec


class ExprError(Exception):
    """A mistake in an expression at ``pos`` (line, column within the expression text)."""

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
    """Raise ExprError with ``message`` at ``node``."""
    raise ExprError(pos_of(node), message)


def pos_of(node: ir.Node | ast.AST) -> tuple[int, int]:
    """The (line, column) of ``node`` in the expression text."""
    if isinstance(node, ir.Node):
        return node.pos
    return (getattr(node, "lineno", 1), getattr(node, "col_offset", 0))


def compatible(a: str, b: str) -> bool:
    """Tell whether values of the types ``a`` and ``b`` may be compared."""
    return a == b or ANY in (a, b) or NULL in (a, b)


def name_of(node: ir.Node) -> str:
    """``node`` as a message names it: "number field 'amount'", 'string "IT"', "a date"."""
    if isinstance(node, ir.Path):
        kind = node.spec.type if node.spec else "value"
        return f"{kind} field '{node.dotted}'"
    if isinstance(node, ir.Const):
        shown = f'"{node.value}"' if isinstance(node.value, str) else repr(node.value)
        return f"{node.type} {shown}"
    return f"a {node.type}"


def src_of(node: ir.Node) -> str:
    """The field ``node`` reads as written in a rule, or "text" for any other string."""
    return node.dotted if isinstance(node, ir.Path) else "text"


def ast_name(node: ast.AST) -> str:
    """The construct ``node`` is, as a rule author knows it ("lambda", "indexing with []")."""
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
