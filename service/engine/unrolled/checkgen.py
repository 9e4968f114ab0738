"""Input checking written as Python source, for the one-function decision (``inputs.py``).

The lines accept exactly the input ``fastcheck.compile_object`` accepts and give the same
values, into locals instead of a dict; at the first sign of a problem they ``return None``
(or a field's closure raises ``fastcheck._Invalid``), and the caller runs
``schema.check_input``, which names every bad field. Numbers, integers, strings, booleans
and dates, and objects of them, are checked inline; any other field (lists, date-times,
objects read whole or with a default, unusual constraints) calls the closure
``fastcheck.compile_field`` gives it, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..fastcheck import compile_field
from ..schema import FieldSpec

Parts = tuple[str, ...]


class Names(Protocol):
    """What the check needs of the source writer: constants and fresh local names."""

    def const(self, value: Any) -> str: ...

    def temp(self) -> str: ...

    def bind(self, value: Any) -> str: ...


def full_match(pattern: Any) -> Callable[[str], bool]:
    """A test that is True exactly when ``pattern.fullmatch(text)`` finds a match.

    google-re2's ``fullmatch`` builds a generator and a match object in Python for every
    call; the check needs only yes or no, which the compiled RE2 object answers directly
    (the same call, on the same UTF-8 bytes, that ``fullmatch`` makes first).
    """
    regexp = getattr(pattern, "_regexp", None)
    anchor = _anchor_both()
    if regexp is None or anchor is None or not hasattr(regexp, "Match"):
        return lambda text: pattern.fullmatch(text) is not None
    match, null = regexp.Match, (-1, -1)

    def matches(text: str) -> bool:
        encoded = text.encode("utf-8")
        return bool(match(anchor, encoded, 0, len(encoded))[0] != null)

    return matches


def _anchor_both() -> Any:
    try:
        import re2  # type: ignore[import-untyped]

        return re2._Anchor.ANCHOR_BOTH
    except (ImportError, AttributeError):
        return None


def check_lines(
    schema: dict[str, FieldSpec], wanted: Mapping[Parts, str], w: Names, indent: str
) -> list[str]:
    """Lines that check ``data`` and set the local ``wanted[parts]`` for each declared field
    asked for (its checked value, its default, or None when it is absent)."""
    lines = [f"{indent}if type(data) is not dict:", f"{indent}    return None"]
    _object(schema, "data", (), wanted, w, indent, lines)
    return lines


def _inside(parts: Parts, wanted: Mapping[Parts, str]) -> list[str]:
    return [name for p, name in wanted.items() if len(p) > len(parts) and p[: len(parts)] == parts]


def _object(
    fields: dict[str, FieldSpec],
    src: str,
    prefix: Parts,
    wanted: Mapping[Parts, str],
    w: Names,
    ind: str,
    lines: list[str],
) -> None:
    lines.append(f"{ind}if not {src}.keys() <= {w.const(frozenset(fields))}:")
    lines.append(f"{ind}    return None")
    for name, spec in fields.items():
        parts = (*prefix, name)
        target = wanted.get(parts)
        raw = w.temp()
        lines.append(f"{ind}{raw} = {src}.get({name!r})")
        lines.append(f"{ind}if {raw} is None:")
        if spec.has_default:
            lines.append(f"{ind}    {target or '_'} = {w.const(spec.default)}")
        elif spec.required:
            lines.append(f"{ind}    return None")
        else:
            absent = [n for n in [target, *_inside(parts, wanted)] if n]
            lines.append(f"{ind}    {' = '.join([*absent, 'None']) if absent else 'pass'}")
        lines.append(f"{ind}else:")
        inner = ind + "    "
        if _inline_object(spec, target):
            lines.append(f"{inner}if type({raw}) is not dict:")
            lines.append(f"{inner}    return None")
            _object(spec.fields, raw, parts, wanted, w, inner, lines)
            continue
        test = _inline_test(spec, raw, w)
        if test is None:
            lines.append(f"{inner}{target or '_'} = {w.bind(compile_field(spec))}({raw})")
            continue
        lines.append(f"{inner}if {test}:")
        lines.append(f"{inner}    return None")
        if spec.type == "date":
            lines.append(f"{inner}try:")
            lines.append(f"{inner}    {target or '_'} = {w.bind(dt.date.fromisoformat)}({raw})")
            lines.append(f"{inner}except ValueError:")
            lines.append(f"{inner}    return None")
        elif target:
            lines.append(f"{inner}{target} = {raw}")


def _inline_object(spec: FieldSpec, target: str | None) -> bool:
    """An object checked field by field: declared fields, no default, not read whole."""
    plain = spec.enum is None and spec.minimum is None and spec.maximum is None
    return (
        spec.type == "object"
        and bool(spec.fields)
        and target is None
        and not spec.has_default
        and plain
        and spec.pattern is None
    )


_TYPES = {
    "number": "type({v}) is not int and type({v}) is not float",
    "integer": "type({v}) is not int",
    "string": "type({v}) is not str",
    "boolean": "type({v}) is not bool",
    "date": "type({v}) is not str",
}


def _inline_test(spec: FieldSpec, raw: str, w: Names) -> str | None:
    """Source that is true when the present value is not valid; None: use the closure."""
    t = spec.type
    if t not in _TYPES:
        return None
    numeric = t in ("number", "integer")
    if (spec.minimum is not None or spec.maximum is not None) and not numeric:
        return None
    if spec.pattern is not None and t != "string":
        return None
    if t == "date" and spec.enum is not None:
        return None
    tests = [f"({_TYPES[t].format(v=raw)})"]
    if spec.enum is not None:
        try:
            allowed: Any = set(spec.enum)  # as fastcheck: a set when the values hash
        except TypeError:
            allowed = spec.enum
        tests.append(f"{raw} not in {w.bind(allowed)}")
    if spec.minimum is not None:
        tests.append(f"{raw} < {w.const(spec.minimum)}")
    if spec.maximum is not None:
        tests.append(f"{raw} > {w.const(spec.maximum)}")
    if spec.pattern is not None:
        tests.append(f"not {w.bind(full_match(spec.pattern))}({raw})")
    return " or ".join(tests)
