"""Candidate inputs for the linter: boundary values from a ruleset's schema and constants.

Every field gets a short list of values worth trying — the values around each constant
it is compared with, every enum value, true/false, dates around date constants and
today, and "missing" for optional fields — and the lists are combined: the full
cartesian product when it is small, else a deterministic pairwise covering topped up
with seeded random picks, bounded by ``limit``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import math
import random
from collections.abc import Iterator
from typing import Any

from . import ir
from .regex import Pattern
from .schema import FieldSpec

ABSENT: Any = object()  # the field is left out of the input
_TEXT_METHODS = {"startswith": "{}x", "endswith": "x{}", "contains": "x{}x", "matches": "{}"}


class Constants:
    """The constants each input path (and list-item path) is compared with."""

    def __init__(self) -> None:
        self.by_path: dict[str, set[Any]] = {}
        self.offsets: dict[str, set[float]] = {}  # numbers in expressions around a path
        self.links: dict[str, set[str]] = {}  # paths compared with each other

    def numbers(self, path: str) -> set[Any]:
        """Numbers worth trying around a path: its own, and those of paths compared with it."""
        out: set[Any] = set()
        for p in {path, *self.links.get(path, ())}:
            out |= self.by_path.get(p, set()) | self.offsets.get(p, set())
        return out

    def add(self, path: str, value: Any) -> None:
        if value is not None and not isinstance(value, list | tuple | dict):
            self.by_path.setdefault(path, set()).add(value)

    def scan(self, node: ir.Node) -> None:
        for n in ir.walk(node):
            if isinstance(n, ir.Compare):
                self._pair(n.left, n.right)
                self._pair(n.right, n.left)
            elif isinstance(n, ir.Call) and n.name in _TEXT_METHODS and len(n.args) == 2:
                target, arg = n.args
                if isinstance(target, ir.Path) and isinstance(arg, ir.Const):
                    text = str(arg.value)
                    self.add(_key(target), _TEXT_METHODS[n.name].format(text))
            elif isinstance(n, ir.In):
                if isinstance(n.left, ir.Path) and isinstance(n.right, ir.Const):
                    for v in n.right.value:
                        self.add(_key(n.left), v)
                if isinstance(n.right, ir.Path) and isinstance(n.left, ir.Const):
                    self.add(_key(n.right) + "[]", n.left.value)

    def _pair(self, side: ir.Node, other: ir.Node) -> None:
        if isinstance(side, ir.Path) and isinstance(other, ir.Const):
            self.add(_key(side), other.value)
            return
        numbers = [
            n.value
            for n in ir.walk(other) + ir.walk(side)
            if isinstance(n, ir.Const) and _is_num(n.value)
        ]
        here = [_key(n) for n in ir.walk(side) if isinstance(n, ir.Path)]
        there = [_key(n) for n in ir.walk(other) if isinstance(n, ir.Path)]
        for a in here:
            self.links.setdefault(a, set()).update(there)
        for n in ir.walk(side):
            if isinstance(n, ir.Path):
                self.offsets.setdefault(_key(n), set()).update(numbers)
                if isinstance(other, ir.Const) and isinstance(other.value, dt.date):
                    self.add(_key(n), other.value)


def _key(path: ir.Path) -> str:
    return path.dotted


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def field_values(
    spec: FieldSpec, key: str, consts: Constants, today: dt.date, *, item: bool = False
) -> list[Any]:
    """The values worth trying for one field (JSON form; ABSENT for a missing value)."""
    found = consts.by_path.get(key, set())
    values: list[Any] = []
    if spec.enum is not None:
        values = list(spec.enum)
    elif spec.type == "boolean":
        values = [True, False]
    elif spec.type in ("number", "integer"):
        values = _numbers(spec, consts.numbers(key))
    elif spec.type in ("date", "datetime"):
        values = _dates(spec, found, consts.offsets.get(key, set()), today)
    elif spec.type == "string":
        strings = sorted(v for v in found if isinstance(v, str))
        values = [*strings, "other"]
        if spec.pattern is not None:
            pattern = spec.pattern
            values = [v for v in values if pattern.fullmatch(v)]
            sample = pattern_sample(pattern)
            if not values and sample is not None:
                values = [sample]
    elif spec.type == "list":
        values = [[]] + [[v] for v in _item_values(spec, key, consts, today)[:6]]
    elif spec.type == "object":
        values = [{}]  # objects with declared fields are expanded field by field
    if not item and not spec.required and not spec.has_default:
        values.append(ABSENT)
    return values or [ABSENT]


def pattern_sample(pattern: Pattern) -> str | None:
    """A short text the whole pattern matches, or None if this simple walk cannot find one."""
    # the stdlib's own regex parser (private, so untyped); every sample is checked below
    parser: Any = importlib.import_module("re._parser")

    def walk(items: Any) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "NOT_LITERAL":
                out.append("a" if arg != ord("a") else "b")
            elif name == "ANY":
                out.append("a")
            elif name == "IN":
                out.append(_one_of(arg))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, _high, sub = arg
                out.append(walk(sub) * max(low, 0))
            elif name == "SUBPATTERN":
                out.append(walk(arg[-1]))
            elif name == "BRANCH":
                out.append(walk(arg[1][0]))
        return "".join(out)

    try:
        text = walk(parser.parse(pattern.pattern))
    except Exception:  # an unusual pattern: no sample, the field is left to its other values
        return None
    return text if pattern.fullmatch(text) else None


def _one_of(items: Any) -> str:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " "}.get(str(arg), "a")
    return "a"


def _item_values(spec: FieldSpec, key: str, consts: Constants, today: dt.date) -> list[Any]:
    items = spec.items
    if items is None:
        strings = sorted(v for v in consts.by_path.get(key + "[]", set()) if isinstance(v, str))
        return [*strings, "other"]
    if items.type != "object" or not items.fields:
        extra = sorted(v for v in consts.by_path.get(key + "[]", set()) if isinstance(v, str))
        values = field_values(items, "item", consts, today, item=True)
        return [*extra, *(v for v in values if v not in extra)]
    columns = {
        name: field_values(f, "item." + name, consts, today) for name, f in items.fields.items()
    }
    width = max(len(v) for v in columns.values())
    out = []
    for k in range(width):
        obj = {n: vals[k % len(vals)] for n, vals in columns.items()}
        out.append({n: v for n, v in obj.items() if v is not ABSENT})
    return out


def _numbers(spec: FieldSpec, consts: set[Any]) -> list[Any]:
    points = sorted({float(c) for c in consts if _is_num(c)})
    values: set[float] = {0.0}
    for c in points:
        values.update((c - 1, c, c + 1))
    for a, b in itertools.pairwise(points):
        values.add((a + b) / 2)
    for bound in (spec.minimum, spec.maximum):
        if bound is not None:
            values.add(bound)
    if spec.minimum is not None:
        values = {v for v in values if v >= spec.minimum}
    if spec.maximum is not None:
        values = {v for v in values if v <= spec.maximum}
    if spec.type == "integer":
        values = {float(math.floor(v)) for v in values} | {float(math.ceil(v)) for v in values}
        values = {
            v
            for v in values
            if (spec.minimum is None or v >= spec.minimum)
            and (spec.maximum is None or v <= spec.maximum)
        }
    return [int(v) if v.is_integer() else v for v in sorted(values)]


def _dates(spec: FieldSpec, consts: set[Any], offsets: set[float], today: dt.date) -> list[Any]:
    days: set[dt.date] = set()
    for k in {0.0, 1.0, *offsets}:
        for d in (k - 1, k, k + 1):
            if abs(d) < 36500:
                days.update((today + dt.timedelta(days=d), today - dt.timedelta(days=d)))
    for c in consts:
        if isinstance(c, dt.date):
            day = c.date() if isinstance(c, dt.datetime) else c
            days.update(day + dt.timedelta(days=d) for d in (-1, 0, 1))
    if spec.type == "datetime":
        return [f"{d.isoformat()}T12:00:00Z" for d in sorted(days)]
    return [d.isoformat() for d in sorted(days)]


def leaves(schema: dict[str, FieldSpec], prefix: str = "") -> Iterator[tuple[str, FieldSpec]]:
    """Every field to vary, as (dotted path, spec); objects with fields are expanded."""
    for name, spec in schema.items():
        if spec.type == "object" and spec.fields:
            yield from leaves(spec.fields, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", spec


def build(paths: list[str], values: tuple[Any, ...]) -> dict[str, Any]:
    """The JSON input with each dotted path set to its value (ABSENT ones left out)."""
    out: dict[str, Any] = {}
    for path, value in zip(paths, values, strict=True):
        if value is ABSENT:
            continue
        *parents, last = path.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def combine(sizes: list[int], limit: int) -> list[tuple[int, ...]]:
    """Index tuples choosing one value per field: all of them, or a pairwise cover."""
    if math.prod(sizes) <= limit:
        return list(itertools.product(*(range(s) for s in sizes)))
    n = len(sizes)
    uncovered = {
        (i, a, j, b)
        for i, j in itertools.combinations(range(n), 2)
        for a in range(sizes[i])
        for b in range(sizes[j])
    }
    rows: list[tuple[int, ...]] = []
    queue = iter(sorted(uncovered))  # uncovered pairs in a fixed order
    while uncovered and len(rows) < limit:
        i, a, j, b = next(p for p in queue if p in uncovered)
        row = [-1] * n
        row[i], row[j] = a, b
        for k in range(n):
            if row[k] < 0:
                row[k] = max(
                    range(sizes[k]),
                    key=lambda v, k=k: (_gain(row, k, v, uncovered), -v),  # type: ignore[misc]
                )
        done = tuple(row)
        uncovered -= {(p, done[p], q, done[q]) for p, q in itertools.combinations(range(n), 2)}
        rows.append(done)
    rng = random.Random(0)  # seeded: lint reports the same examples every run
    seen = set(rows)
    for _ in range(limit * 2):
        if len(rows) >= limit:
            break
        pick = tuple(rng.randrange(s) for s in sizes)
        if pick not in seen:
            seen.add(pick)
            rows.append(pick)
    return rows


def _gain(row: list[int], k: int, v: int, uncovered: set[tuple[int, int, int, int]]) -> int:
    total = 0
    for m, w in enumerate(row):
        if w >= 0 and m != k:
            total += ((m, w, k, v) if m < k else (k, v, m, w)) in uncovered
    return total
