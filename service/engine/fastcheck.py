"""Input checking compiled from a schema, for the decision path.

``schema.check_input`` is the one statement of what valid input is and of every error
message. This module compiles each schema once into closures that accept valid input
quickly and convert it for the engine; at the first sign of a problem it hands the
whole input to ``check_input``, which names every bad field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .compile import engine_value
from .schema import FieldSpec, check_input

Check = Callable[[Any], Any]


class _Invalid(Exception):
    pass


def _fail() -> Any:
    raise _Invalid


def _bounded(spec: FieldSpec, check: Check) -> Check:
    low, high = spec.minimum, spec.maximum
    enum: Any = None
    if spec.enum is not None:
        try:
            enum = set(spec.enum)
        except TypeError:  # unhashable values (lists, objects) in the enum
            enum = spec.enum
    pattern = spec.pattern
    if low is None and high is None and enum is None and pattern is None:
        return check

    def bounded(value: Any) -> Any:
        value = check(value)
        if (
            (enum is not None and value not in enum)
            or (low is not None and value < low)
            or (high is not None and value > high)
            or (pattern is not None and not pattern.fullmatch(value))
        ):
            raise _Invalid
        return value

    return bounded


def compile_field(spec: FieldSpec) -> Check:
    """A function that gives the checked value, or raises _Invalid."""
    t = spec.type
    check: Check
    if t == "number":
        check = lambda v: v if type(v) is int or type(v) is float else _fail()  # noqa: E731
    elif t == "integer":
        check = lambda v: v if type(v) is int else _fail()  # noqa: E731
    elif t == "string":
        check = lambda v: v if type(v) is str else _fail()  # noqa: E731
    elif t == "boolean":
        check = lambda v: v if type(v) is bool else _fail()  # noqa: E731
    elif t == "date":

        def check(v: Any) -> Any:
            if type(v) is str:
                try:
                    return dt.date.fromisoformat(v)
                except ValueError:
                    pass
            raise _Invalid

    elif t == "datetime":
        check = lambda v: _fail()  # noqa: E731 - rare: the full check converts these
    elif t == "list":
        item = compile_field(spec.items) if spec.items is not None else None

        def check(v: Any) -> Any:
            if type(v) is not list:
                raise _Invalid
            return [item(x) for x in v] if item is not None else list(v)

    else:
        check = compile_object(spec.fields) if spec.fields else _plain_object
    return _bounded(spec, check)


def _plain_object(v: Any) -> Any:
    if type(v) is not dict:
        raise _Invalid
    return dict(v)


def compile_object(fields: dict[str, FieldSpec]) -> Check:
    checks = {name: compile_field(spec) for name, spec in fields.items()}
    defaults = [(n, s.default) for n, s in fields.items() if s.has_default]
    required = [n for n, s in fields.items() if s.required and not s.has_default]

    def check(data: Any) -> Any:
        if type(data) is not dict:
            raise _Invalid
        out = {}
        for key, value in data.items():
            if value is None:
                if key not in checks:
                    raise _Invalid
                continue
            out[key] = checks[key](value) if key in checks else _fail()
        for name, default in defaults:
            if name not in out:
                out[name] = default
        for name in required:
            if name not in out:
                raise _Invalid
        return out

    return check


def date_paths(
    fields: dict[str, FieldSpec], prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]] | None:
    """Paths of the date and date-time fields, or None if one sits inside a list."""
    paths: list[tuple[str, ...]] = []
    for name, spec in fields.items():
        if spec.type in ("date", "datetime"):
            paths.append((*prefix, name))
        elif spec.type == "list":
            inner = spec.items
            while inner is not None and inner.type == "list":
                inner = inner.items
            if inner is not None and (
                inner.type in ("date", "datetime")
                or (inner.fields and date_paths(inner.fields) != [])
            ):
                return None
        elif spec.fields:
            sub = date_paths(spec.fields, (*prefix, name))
            if sub is None:
                return None
            paths.extend(sub)
    return paths


def engine_form(schema: dict[str, FieldSpec]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function giving the input as the engine sees it (dates as day numbers)."""
    paths = date_paths(schema)
    if paths is None:
        return engine_value
    if not paths:
        return lambda values: values

    def convert(values: dict[str, Any]) -> dict[str, Any]:
        out = dict(values)
        for path in paths:
            parent = out
            for part in path[:-1]:
                child = parent.get(part)
                if type(child) is not dict:
                    break
                child = parent[part] = dict(child)
                parent = child
            else:
                value = parent.get(path[-1])
                if value is not None:
                    parent[path[-1]] = engine_value(value)
        return out

    return convert


class InputChecker:
    """Checks a ruleset's input: fast when it is valid, every error named when not."""

    def __init__(self, schema: dict[str, FieldSpec]) -> None:
        self.schema = schema
        self._check = compile_object(schema)

    def __call__(self, data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        try:
            return self._check(data), []
        except _Invalid:
            return check_input(self.schema, data)
