"""FEEL text parsed by lark (``grammar.lark``) into a small tree of ``Node``s.

Kinds and their ``args``: ``number`` (Decimal), ``string`` (str), ``bool`` (bool), ``null``,
``name`` (the name as written, words joined by one space), ``input`` (``?``), ``path``
(node, member), ``call`` (callee node, argument nodes), ``list`` (nodes), ``neg`` (node),
``not`` (node), ``arith`` (op, a, b) with op one of ``+ - * / **``, ``compare`` (op, a, b),
``and``/``or`` (a, b), ``if`` (cond, then, else), ``between`` (x, lo, hi), ``in`` (x, tests).
Unary tests: ``any``, ``tests`` (negated, tests) where each test is ``compare_test`` (op,
node), ``interval`` (open_lo, lo, hi, open_hi) or ``equal_test`` (node).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import lark

MAX_FEEL_CHARS = 20_000  # as a Casewise expression (limits.MAX_EXPRESSION_CHARS)


class FeelSyntaxError(ValueError):
    """FEEL text that does not parse; ``column`` is 1-based within the text."""

    def __init__(self, message: str, column: int = 1) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Node:
    kind: str
    args: tuple[Any, ...] = ()
    column: int = field(default=1, compare=False)


@functools.cache
def _parser() -> lark.Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return lark.Lark(
        grammar,
        start=["expression", "unary_tests"],
        parser="lalr",
        propagate_positions=True,
    )


def parse_expression(text: str) -> Node:
    """The tree of a FEEL expression; raises FeelSyntaxError naming where it stops."""
    return _parse(text, "expression")


def parse_unary_tests(text: str) -> Node:
    """The tree of a decision table input entry (``-``, ``< 5``, ``[1..9]``, ``"a","b"``)."""
    negated = _NOT.fullmatch(text)
    if negated is not None:
        try:
            inner = _parse(negated.group(1), "unary_tests")
        except FeelSyntaxError:
            inner = None  # e.g. not(a) or not(b): one expression, read whole below
        if inner is not None and inner.kind == "tests" and not inner.args[0]:
            return Node("tests", (True, inner.args[1]), 1)
    return _parse(text, "unary_tests")


_NOT = re.compile(r"\s*not\s*\((.*)\)\s*", re.DOTALL)


def _parse(text: str, start: str) -> Node:
    if len(text) > MAX_FEEL_CHARS:
        raise FeelSyntaxError(
            f"the FEEL text has {len(text):,} characters; at most {MAX_FEEL_CHARS:,} are allowed"
        )
    if not text.strip():
        raise FeelSyntaxError("the FEEL text is empty")
    try:
        tree = _parser().parse(text, start=start)
    except lark.exceptions.UnexpectedInput as exc:
        construct = _unsupported(text)
        if construct is not None:
            raise FeelSyntaxError(
                f"{construct} is FEEL that Casewise does not evaluate (it reads S-FEEL: "
                "names, literals, arithmetic, comparisons, and/or/not, if/then/else, "
                "between, in, unary tests and built-in functions)"
            ) from None
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise FeelSyntaxError("the FEEL text is nested too deeply") from None
    try:
        node: Node = _Build().transform(tree)
    except lark.exceptions.VisitError as exc:
        raise FeelSyntaxError(str(exc.orig_exc)) from None
    return node


_CONSTRUCTS = {
    "for": "a 'for' loop",
    "some": "a 'some' quantifier",
    "every": "an 'every' quantifier",
    "function": "a 'function' definition",
    "instance": "an 'instance of' test",
}
_WORD_RE = re.compile(r'"(?:\\.|[^"\\])*"|([^\W\d][\w]*)')


def _unsupported(text: str) -> str | None:
    """The FEEL construct beyond S-FEEL that ``text`` uses, named; None if it uses none."""
    for match in _WORD_RE.finditer(text):
        word = match.group(1)
        if word in _CONSTRUCTS:
            return _CONSTRUCTS[word]
    return None


def _syntax_error(text: str, exc: lark.exceptions.UnexpectedInput) -> FeelSyntaxError:
    """What lark refused, said with where it stops."""
    end = isinstance(exc, lark.exceptions.UnexpectedToken) and exc.token.type == "$END"
    if isinstance(exc, lark.exceptions.UnexpectedEOF) or end:
        return FeelSyntaxError(f"{text!r} ends too early", max(len(text.rstrip()), 1))
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        column = int(exc.column or 1)
        return FeelSyntaxError(
            f"unexpected {str(exc.token)!r} at column {column} in {text!r}", column
        )
    column = int(getattr(exc, "column", 1) or 1)
    if column < 1:
        column = len(text)
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        return FeelSyntaxError(
            f"unexpected {text[column - 1 : column]!r} at column {column} in {text!r}", column
        )
    return FeelSyntaxError(f"cannot read {text!r} at column {column}", column)


def _col(meta: Any) -> int:
    return int(getattr(meta, "column", 1) or 1)


@lark.v_args(meta=True)
class _Build(lark.Transformer[Any, Node]):
    """lark's tree to ``Node``s."""

    def number(self, meta: Any, c: list[Any]) -> Node:
        return Node("number", (Decimal(str(c[0])),), _col(meta))

    def string(self, meta: Any, c: list[Any]) -> Node:
        return Node("string", (_unescape(str(c[0])[1:-1]),), _col(meta))

    def true(self, meta: Any, c: list[Any]) -> Node:
        return Node("bool", (True,), _col(meta))

    def false(self, meta: Any, c: list[Any]) -> Node:
        return Node("bool", (False,), _col(meta))

    def null(self, meta: Any, c: list[Any]) -> Node:
        return Node("null", (), _col(meta))

    def input_value(self, meta: Any, c: list[Any]) -> Node:
        return Node("input", (), _col(meta))

    def name(self, meta: Any, c: list[Any]) -> str:
        return " ".join(str(w) for w in c)

    def ref(self, meta: Any, c: list[Any]) -> Node:
        return Node("name", (c[0],), _col(meta))

    def path(self, meta: Any, c: list[Any]) -> Node:
        return Node("path", (c[0], c[1]), _col(meta))

    def arguments(self, meta: Any, c: list[Any]) -> tuple[Node, ...]:
        return tuple(c)

    def call(self, meta: Any, c: list[Any]) -> Node:
        return Node("call", (c[0], c[1] or ()), _col(meta))

    def list_(self, meta: Any, c: list[Any]) -> Node:
        return Node("list", (c[0] or (),), _col(meta))

    def neg(self, meta: Any, c: list[Any]) -> Node:
        if c[0].kind == "number":  # a signed literal: -5, not 0 - 5
            return Node("number", (-c[0].args[0],), _col(meta))
        return Node("neg", (c[0],), _col(meta))

    def not_(self, meta: Any, c: list[Any]) -> Node:
        return Node("not", (c[0],), _col(meta))

    def add(self, meta: Any, c: list[Any]) -> Node:
        return Node("arith", ("+", c[0], c[1]), _col(meta))

    def sub(self, meta: Any, c: list[Any]) -> Node:
        return Node("arith", ("-", c[0], c[1]), _col(meta))

    def mul(self, meta: Any, c: list[Any]) -> Node:
        return Node("arith", ("*", c[0], c[1]), _col(meta))

    def div(self, meta: Any, c: list[Any]) -> Node:
        return Node("arith", ("/", c[0], c[1]), _col(meta))

    def pow_(self, meta: Any, c: list[Any]) -> Node:
        return Node("arith", ("**", c[0], c[1]), _col(meta))

    def compare(self, meta: Any, c: list[Any]) -> Node:
        return Node("compare", (str(c[1]), c[0], c[2]), _col(meta))

    def and_(self, meta: Any, c: list[Any]) -> Node:
        return Node("and", (c[0], c[1]), _col(meta))

    def or_(self, meta: Any, c: list[Any]) -> Node:
        return Node("or", (c[0], c[1]), _col(meta))

    def if_(self, meta: Any, c: list[Any]) -> Node:
        return Node("if", (c[0], c[1], c[2]), _col(meta))

    def between(self, meta: Any, c: list[Any]) -> Node:
        return Node("between", (c[0], c[1], c[2]), _col(meta))

    def in_tests(self, meta: Any, c: list[Any]) -> Node:
        return Node("in", (c[0], c[1]), _col(meta))

    def in_test(self, meta: Any, c: list[Any]) -> Node:
        return Node("in", (c[0], (c[1],)), _col(meta))

    # ---- unary tests

    def any_(self, meta: Any, c: list[Any]) -> Node:
        return Node("any", (), _col(meta))

    def unary_tests(self, meta: Any, c: list[Any]) -> Node:
        return Node("tests", (False, c[0]), _col(meta))

    def positive_tests(self, meta: Any, c: list[Any]) -> tuple[Node, ...]:
        return tuple(c)

    def compare_test(self, meta: Any, c: list[Any]) -> Node:
        return Node("compare_test", (str(c[0]), c[1]), _col(meta))

    def closed_closed(self, meta: Any, c: list[Any]) -> Node:
        return Node("interval", (False, c[0], c[1], False), _col(meta))

    def closed_open(self, meta: Any, c: list[Any]) -> Node:
        return Node("interval", (False, c[0], c[1], True), _col(meta))

    def open_closed(self, meta: Any, c: list[Any]) -> Node:
        return Node("interval", (True, c[0], c[1], False), _col(meta))

    def open_open(self, meta: Any, c: list[Any]) -> Node:
        return Node("interval", (True, c[0], c[1], True), _col(meta))

    def equal_test(self, meta: Any, c: list[Any]) -> Node:
        return Node("equal_test", (c[0],), _col(meta))


def _unescape(raw: str) -> str:
    out, i = [], 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
