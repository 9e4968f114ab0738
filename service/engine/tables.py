"""Decision tables: cells as unary tests, and the DMN hit policies."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from . import ir, limits
from .errors import DecisionError
from .expr import check_size
from .regex import compile_regex
from .schema import FieldSpec

HIT_POLICIES = ("unique", "first", "priority", "any", "collect", "rule order", "output order")
AGGREGATES = ("sum", "min", "max", "count")
LISTING = ("collect", "rule order", "output order")
# RE2, like every pattern applied to authored text: a cell of spaces must not backtrack
_OP = compile_regex(r"(?s)^(<=|>=|<|>|!=|==|=)\s*(.+)$")
_RANGE = compile_regex(r"(?s)^([\[(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])\[])$")


class CellError(Exception):
    pass


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def cell_expression(cell: Any, column: str) -> str | None:
    """The condition a cell stands for, written in the expression language; None for '-'."""
    col = f"({column})"
    if isinstance(cell, bool):
        return f"{col} == {'true' if cell else 'false'}"
    if isinstance(cell, int | float):
        return f"{col} == {cell!r}"
    if cell is None:
        return None
    if not isinstance(cell, str):
        raise CellError(f"a cell must be text, a number or true/false, not {type(cell).__name__}")
    text = cell.strip()
    if len(text) > limits.MAX_EXPRESSION_CHARS:
        raise CellError(
            f"the cell has {len(text):,} characters; at most {limits.MAX_EXPRESSION_CHARS:,}"
        )
    negations = 0
    while text.startswith("not(") and text.endswith(")"):
        negations += 1
        if negations > limits.MAX_EXPRESSION_NESTING:
            raise CellError(f"not(...) is nested more than {limits.MAX_EXPRESSION_NESTING} deep")
        text = text[4:-1].strip()
    if negations:
        inner = cell_expression(text, column)
        if inner is None:
            raise CellError("not(-) matches nothing; use '-' for any value")
        return "not (" * negations + inner + ")" * negations
    if text in ("-", ""):
        return None
    match = _OP.match(text)
    if match:
        op = "==" if match.group(1) == "=" else match.group(1)
        return f"{col} {op} ({match.group(2)})"
    match = _RANGE.match(text)
    if match:
        lo_op = ">=" if match.group(1) == "[" else ">"
        hi_op = "<=" if match.group(4) == "]" else "<"
        return f"{col} {lo_op} ({match.group(2)}) and {col} {hi_op} ({match.group(3)})"
    too_big = check_size(text)  # before ast, whose recursion a deep cell would exhaust
    if too_big is not None:
        raise CellError(too_big.message)
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise CellError(
            f"cannot read cell {_short(text)!r}: {exc.msg}; write e.g. > 5000, [100..500], "
            '"IT","Ops" (quote text), or - for any'
        ) from exc
    if isinstance(tree, ast.Tuple):
        return f"{col} in [{text}]"
    if isinstance(tree, ast.Name) and tree.id not in ("true", "false", "null", "today"):
        raise CellError(
            f'cell {text!r} reads as a field name; to match the text, quote it: "{text}"'
        )
    return f"{col} == ({text})"


@dataclass(frozen=True)
class Row:
    number: int  # 1-based
    condition: ir.Node
    values: dict[str, Any]  # output name -> value
    cells: tuple[str, ...] = ()  # the input cells as written ("-": any value)


@dataclass(frozen=True)
class Table:
    id: str
    description: str
    hit: str
    aggregate: str | None
    inputs: tuple[str, ...]
    input_paths: tuple[str, ...]
    outputs: tuple[str, ...]
    rows: tuple[Row, ...]
    ranks: dict[str, tuple[Any, ...]]  # output -> enum order, for priority / output order
    reads: tuple[str, ...] = ()  # intermediate values the inputs read

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "hit": self.hit,
            "aggregate": self.aggregate,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "rows": [
                {"row": r.number, "cells": list(r.cells), "values": r.values} for r in self.rows
            ],
        }

    def _rank(self, row: Row) -> tuple[int, ...]:
        key = []
        for name in self.outputs:
            order = self.ranks.get(name)
            if order is not None:
                value = row.values.get(name)
                if isinstance(value, list):  # a list output ranks by its best item
                    key.append(
                        min((order.index(v) for v in value if v in order), default=len(order))
                    )
                    continue
                key.append(order.index(value) if value in order else len(order))
        return tuple(key)

    def resolve(
        self, matched: list[int], data: Any = None, today: Any = None
    ) -> tuple[list[Row], dict[str, Any], dict[str, list[Any]]]:
        """Apply the hit policy: the rows that count, outputs to set, values to append.

        ``data`` and ``today`` are for tables whose outputs are computed (``feel.tables``)."""
        rows = [self.rows[i] for i in sorted(matched)]
        sets: dict[str, Any] = {}
        appends: dict[str, list[Any]] = {}
        if not rows:
            if self.aggregate == "count":
                sets[self.outputs[0]] = 0
            return [], sets, appends
        if self.hit == "unique" and len(rows) > 1:
            numbers = [r.number for r in rows]
            raise DecisionError(
                "table-not-unique",
                f"table '{self.id}' has hit policy unique but rows {_list(numbers)} all match "
                "this input; make the rows exclusive or choose another hit policy",
                [{"table": self.id, "rows": numbers}],
            )
        if self.hit == "any" and any(r.values != rows[0].values for r in rows):
            numbers = [r.number for r in rows]
            raise DecisionError(
                "table-any-conflict",
                f"table '{self.id}' has hit policy any but matching rows {_list(numbers)} "
                "give different outputs; make them agree or choose another hit policy",
                [{"table": self.id, "rows": numbers, "outputs": [r.values for r in rows]}],
            )
        if self.hit == "first" or self.hit == "unique":
            rows = rows[:1]
        elif self.hit == "priority":
            rows = [min(rows, key=lambda r: (self._rank(r), r.number))]
        elif self.hit == "output order":
            rows = sorted(rows, key=lambda r: (self._rank(r), r.number))
        if self.aggregate is not None:
            name = self.outputs[0]
            nums = [r.values[name] for r in rows if r.values.get(name) is not None]
            if self.aggregate == "count":
                sets[name] = len(rows)
            elif nums and self.aggregate == "sum":
                sets[name] = sum(nums)
            elif nums:
                sets[name] = min(nums) if self.aggregate == "min" else max(nums)
            return rows, sets, appends
        if self.hit in LISTING:
            for row in rows:
                for name, value in row.values.items():
                    items = value if isinstance(value, list) else [value]
                    appends.setdefault(name, []).extend(items)
            return rows, sets, appends
        for name, value in rows[0].values.items():  # unique, first, priority, any: one row
            if isinstance(value, list):  # a list output gets the row's items, after the rules'
                appends.setdefault(name, []).extend(value)
            else:
                sets[name] = value
        return rows, sets, appends


def output_rank(spec: FieldSpec) -> tuple[Any, ...] | None:
    if spec.enum is not None:
        return spec.enum
    if spec.items is not None and spec.items.enum is not None:
        return spec.items.enum
    return None


def _list(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
