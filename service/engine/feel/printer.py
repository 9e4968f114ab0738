"""A FEEL tree written back as FEEL text, names renamed on the way (the DMN importer's
``Full Name`` becomes the rule file's ``Full_Name``); parenthesised wherever precedence needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .parser import Node

_RANK = {"or": 1, "and": 2, "compare": 3, "between": 3, "in": 3, "+": 4, "-": 4}
_RANK.update({"*": 5, "/": 5, "**": 6, "neg": 7})


def render(node: Node, rename: Mapping[str, str] | Callable[[str], str] | None = None) -> str:
    """FEEL text for ``node``; ``rename`` maps each name (variables and BKMs) to its new name."""
    if rename is None:
        fn: Callable[[str], str] = lambda n: n  # noqa: E731
    elif isinstance(rename, Mapping):
        table = rename
        fn = lambda n: table.get(n, n)  # noqa: E731
    else:
        fn = rename
    return _Printer(fn).text(node)


def render_tests(node: Node, rename: Mapping[str, str] | None = None) -> str:
    """FEEL text of unary tests (a decision table input entry)."""
    printer = _Printer((lambda n: rename.get(n, n)) if rename else (lambda n: n))
    if node.kind == "any":
        return "-"
    negated, tests = node.args
    body = ", ".join(printer.test(t) for t in tests)
    return f"not({body})" if negated else body


def number_text(value: Decimal) -> str:
    text = format(value, "f")
    return text


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Printer:
    def __init__(self, rename: Callable[[str], str]) -> None:
        self.rename = rename

    def rank(self, node: Node) -> int:
        if node.kind == "arith":
            return _RANK[node.args[0]]
        if node.kind == "number" and node.args[0] < 0:
            return _RANK["neg"]
        return _RANK.get(node.kind, 9 if node.kind != "if" else 0)

    def sub(self, node: Node, least: int) -> str:
        text = self.text(node)
        return f"({text})" if self.rank(node) < least else text

    def text(self, node: Node) -> str:
        k, a = node.kind, node.args
        if k == "number":
            return number_text(a[0])
        if k == "string":
            return _string(a[0])
        if k == "bool":
            return "true" if a[0] else "false"
        if k == "null":
            return "null"
        if k == "input":
            return "?"
        if k == "name":
            return self.rename(a[0])
        if k == "path":
            return f"{self.sub(a[0], 9)}.{self.rename(a[1])}"
        if k == "call":
            return f"{self.text(a[0])}({', '.join(self.text(x) for x in a[1])})"
        if k == "list":
            return "[" + ", ".join(self.text(x) for x in a[0]) + "]"
        if k == "neg":
            return "-" + self.sub(a[0], _RANK["neg"])
        if k == "not":
            return f"not({self.text(a[0])})"
        if k == "arith":
            op, left, right = a
            r = _RANK[op]
            # left-associative: the right operand needs brackets at equal rank
            return f"{self.sub(left, r)} {op} {self.sub(right, r + 1)}"
        if k == "compare":
            return f"{self.sub(a[1], 4)} {a[0]} {self.sub(a[2], 4)}"
        if k in ("and", "or"):
            r = _RANK[k]
            return f"{self.sub(a[0], r)} {k} {self.sub(a[1], r + 1)}"
        if k == "if":
            return f"if {self.text(a[0])} then {self.text(a[1])} else {self.text(a[2])}"
        if k == "between":
            return f"{self.sub(a[0], 4)} between {self.sub(a[1], 4)} and {self.sub(a[2], 4)}"
        if k == "in":
            tests: Any = a[1]
            inner = ", ".join(self.test(t) for t in tests)
            return f"{self.sub(a[0], 4)} in ({inner})"
        raise ValueError(f"cannot write FEEL node {k}")

    def test(self, node: Node) -> str:
        k, a = node.kind, node.args
        if k == "compare_test":
            return f"{a[0]} {self.sub(a[1], 4)}"
        if k == "interval":
            lo = "(" if a[0] else "["
            hi = ")" if a[3] else "]"
            return f"{lo}{self.sub(a[1], 4)}..{self.sub(a[2], 4)}{hi}"
        return self.text(a[0])
