"""FEEL's operators and built-in functions on FEEL values (Decimal, str, bool, date, list,
dict, None for null), each giving null where the specification does."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# IEEE 754 decimal128: 34 significant digits, rounded half-even (DMN 1.5, 10.3.2.3.1)
CTX = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=6144,
    Emin=-6143,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def to_feel(value: Any) -> Any:
    """A value as the rule engine holds it, read as FEEL: numbers become decimals."""
    if isinstance(value, bool) or value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, list):
        return [to_feel(v) for v in value]
    if isinstance(value, dict):
        return {k: to_feel(v) for k, v in value.items()}
    return value  # dates


def _numbers(a: Any, b: Any) -> bool:
    return isinstance(a, Decimal) and isinstance(b, Decimal)


def _guard(op: Callable[[Decimal, Decimal], Decimal]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if not _numbers(a, b):
            return None
        try:
            return op(a, b)
        except decimal.DecimalException:
            return None  # division by zero, overflow: null

    return apply


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    return _guard(CTX.add)(a, b)


def _power(a: Decimal, b: Decimal) -> Decimal:
    if b == b.to_integral_value():
        return CTX.power(a, int(b))
    return CTX.power(a, b)


ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _guard(CTX.subtract),
    "*": _guard(CTX.multiply),
    "/": _guard(CTX.divide),
    "**": _guard(_power),
}

_ORDERED = (Decimal, str, dt.datetime, dt.date)


def _kind(value: Any) -> type | None:
    for t in (bool, *_ORDERED, list, dict):
        if isinstance(value, t):
            return t
    return None


def equal(a: Any, b: Any) -> Any:
    """FEEL ``=``: null equals only null; values of different kinds give null."""
    if a is None or b is None:
        return a is None and b is None
    if _kind(a) is not _kind(b):
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return False
        results = [equal(x, y) for x, y in zip(a, b, strict=True)]
        return None if None in results else all(results)
    if isinstance(a, dict):
        if set(a) != set(b):
            return False
        results = [equal(a[k], b[k]) for k in a]
        return None if None in results else all(results)
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> Any:
    """``a op b``: True, False, or null when either is null or they cannot be compared."""
    if op in ("=", "!="):
        same = equal(a, b)
        return same if op == "=" or same is None else not same
    if a is None or b is None:
        return None
    kind = _kind(a)
    if kind is not _kind(b) or kind not in _ORDERED:
        return None
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


@dataclass(frozen=True)
class Builtin:
    impl: Callable[..., Any]
    arity: tuple[int, int]
    type: str


def _num(*values: Any) -> bool:
    return all(isinstance(v, Decimal) for v in values)


def _decimal(n: Any, scale: Any) -> Any:
    if not _num(n, scale):
        return None
    return n.quantize(Decimal(1).scaleb(-int(scale)), rounding=decimal.ROUND_HALF_EVEN, context=CTX)


def _round(mode: str) -> Callable[..., Any]:
    def rnd(n: Any, scale: Any = Decimal(0)) -> Any:
        if not _num(n, scale):
            return None
        return n.quantize(Decimal(1).scaleb(-int(scale)), rounding=mode, context=CTX)

    return rnd


def _modulo(a: Any, b: Any) -> Any:
    if not _num(a, b) or b == 0:
        return None
    return CTX.subtract(a, CTX.multiply(b, (a / b).to_integral_value(decimal.ROUND_FLOOR)))


def _items(args: tuple[Any, ...]) -> list[Any] | None:
    items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    return items if items else None


def _min_max(pick: Callable[..., Any]) -> Callable[..., Any]:
    def choose(*args: Any) -> Any:
        items = _items(args)
        if items is None or any(_kind(x) is not _kind(items[0]) for x in items):
            return None
        if _kind(items[0]) not in _ORDERED:
            return None
        return pick(items)

    return choose


def _sum(*args: Any) -> Any:
    items = _items(args)
    if items is None or not _num(*items):
        return None
    total = Decimal(0)
    for x in items:
        total = CTX.add(total, x)
    return total


def _mean(*args: Any) -> Any:
    total = _sum(*args)
    items = _items(args)
    return None if total is None or items is None else CTX.divide(total, Decimal(len(items)))


def _text(f: Callable[..., Any], *checks: type) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        if any(not isinstance(a, t) for a, t in zip(args, checks, strict=False)):
            return None
        return f(*args)

    return apply


def _substring(s: str, start: Decimal, length: Decimal | None = None) -> Any:
    i = int(start)
    begin = i - 1 if i > 0 else len(s) + i
    if length is None:
        return s[begin:]
    return s[begin : begin + int(length)]


def _string(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(CTX), "f") if value != 0 else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value if isinstance(value, str) else None


def _number(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return Decimal(text)
    except decimal.InvalidOperation:
        return None


def _date(text: Any) -> Any:
    return dt.date.fromisoformat(text) if isinstance(text, str) else None


def _sqrt(n: Any) -> Any:
    return CTX.sqrt(n) if _num(n) and n >= 0 else None


FUNCTIONS: dict[str, Builtin] = {
    "decimal": Builtin(_decimal, (2, 2), "number"),
    "floor": Builtin(_round(decimal.ROUND_FLOOR), (1, 2), "number"),
    "ceiling": Builtin(_round(decimal.ROUND_CEILING), (1, 2), "number"),
    "round half up": Builtin(_round(decimal.ROUND_HALF_UP), (1, 2), "number"),
    "round half down": Builtin(_round(decimal.ROUND_HALF_DOWN), (1, 2), "number"),
    "round up": Builtin(_round(decimal.ROUND_UP), (1, 2), "number"),
    "round down": Builtin(_round(decimal.ROUND_DOWN), (1, 2), "number"),
    "abs": Builtin(lambda n: abs(n) if _num(n) else None, (1, 1), "number"),
    "modulo": Builtin(_modulo, (2, 2), "number"),
    "sqrt": Builtin(_sqrt, (1, 1), "number"),
    "odd": Builtin(lambda n: n % 2 != 0 if _num(n) else None, (1, 1), "boolean"),
    "even": Builtin(lambda n: n % 2 == 0 if _num(n) else None, (1, 1), "boolean"),
    "min": Builtin(_min_max(min), (1, 1000), "any"),
    "max": Builtin(_min_max(max), (1, 1000), "any"),
    "sum": Builtin(_sum, (1, 1000), "number"),
    "mean": Builtin(_mean, (1, 1000), "number"),
    "count": Builtin(
        lambda xs: Decimal(len(xs)) if isinstance(xs, list) else None, (1, 1), "number"
    ),
    "string length": Builtin(_text(lambda s: Decimal(len(s)), str), (1, 1), "number"),
    "upper case": Builtin(_text(str.upper, str), (1, 1), "string"),
    "lower case": Builtin(_text(str.lower, str), (1, 1), "string"),
    "substring": Builtin(_text(_substring, str, Decimal, Decimal), (2, 3), "string"),
    "contains": Builtin(_text(lambda s, t: t in s, str, str), (2, 2), "boolean"),
    "starts with": Builtin(_text(str.startswith, str, str), (2, 2), "boolean"),
    "ends with": Builtin(_text(str.endswith, str, str), (2, 2), "boolean"),
    "string": Builtin(_string, (1, 1), "string"),
    "number": Builtin(_number, (1, 1), "number"),
    "date": Builtin(_date, (1, 1), "date"),
    "is null": Builtin(lambda x: x is None, (1, 1), "boolean"),
}
