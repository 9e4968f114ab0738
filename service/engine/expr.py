"""Parse and type-check condition expressions into ``ir`` nodes.

Python's ``ast`` parses the text (mode "eval"); a white-list of node types is then
translated (``expr_build.py``), so nothing outside the grammar (dunder attributes, lambdas,
comprehensions, subscripts, unknown functions) can ever run. Nothing is evaluated here.

Before ``ast`` sees the text, its tokens are counted against the limits of ``limits.py``
(length, tokens, operators, bracket nesting; ``check_size``): every later step walks the tree
recursively, and a tree within those limits is far shallower than Python's recursion limit.
``Scope`` (what names mean) and ``ExprError`` live in ``expr_scope.py``.
"""

from __future__ import annotations

import ast
import io
import tokenize

from . import ir, limits
from .expr_build import Builder
from .expr_scope import ExprError, Scope, as_condition
from .ir import BOOLEAN

__all__ = ["ExprError", "Scope", "check_size", "parse"]


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
        node = Builder(scope).build(tree.body)
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
