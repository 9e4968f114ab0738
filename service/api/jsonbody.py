"""Strict JSON request bodies: ``parse_json``, its byte-count fast path and its limits.

``parse_json`` is the only way a JSON body becomes data (``service.api.body`` applies it to every
body sent to the JSON API). It refuses, with a 422 naming the problem and where it is: text that
is not UTF-8 (a byte order mark, UTF-16), a lone surrogate (``"\\ud800"``), ``NaN``/``Infinity``,
a number too large for a double or an integer outside 64 bits, nesting deeper than
``MAX_DEPTH``, and a key given twice in one object. orjson parses; a body is walked again only
when counting its bytes cannot tell it is clean (``_checked``, ``_strict``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

from service.http.errors import ApiError

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a JSON body may have."""
INT_RANGE = (-(2**63), 2**63 - 1)
"""The integers a JSON body may carry: what Neo4j and the decision log store exactly."""


def invalid_body(message: str, value: Any = None, **where: Any) -> ApiError:
    """Give the 422 for a request body that ``message`` (it follows "request body") says is bad."""
    details = [{"field": "(body)", "message": message, "value": value, **where}]
    return ApiError(422, "invalid-input", f"request body {message}", details)


def _line_col(raw: bytes, pos: int) -> dict[str, int]:
    line = raw.count(b"\n", 0, pos) + 1
    return {"line": line, "column": pos - (raw.rfind(b"\n", 0, pos) + 1) + 1}


def _encoding_problem(raw: bytes) -> str | None:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "starts with a UTF-8 byte order mark; send UTF-8 without a BOM"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4]:
        return "is UTF-16 or UTF-32 text; send the JSON encoded as UTF-8"
    return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def _bounded_int(text: str) -> int:
    value = int(text)
    if not INT_RANGE[0] <= value <= INT_RANGE[1]:
        raise _IntOutOfRange(text)
    return value


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _IntOutOfRange(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


_STRICT = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_int=_bounded_int)


def _path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(body)"


def _shape(data: Any) -> tuple[int, int]:
    """Give how deep ``data`` nests (a scalar: 0) and how many keys its objects hold in all."""
    depth, keys, level = 0, 0, [data]
    while level:
        deeper: list[Any] = []
        for value in level:
            if isinstance(value, dict):
                keys += len(value)
                deeper += [v for v in value.values() if isinstance(v, dict | list)]
            elif isinstance(value, list):
                deeper += [v for v in value if isinstance(v, dict | list)]
        depth += 1
        if depth > MAX_DEPTH:
            return depth, keys
        level = deeper
    return depth, keys


def _deep_path(data: Any) -> list[str | int]:
    """Give the path to the first array or object nested deeper than MAX_DEPTH."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            return list(path)
        items: Iterator[tuple[str | int, Any]]
        items = iter(value.items()) if isinstance(value, dict) else enumerate(value)
        stack.extend((v, (*path, k)) for k, v in items if isinstance(v, dict | list))
    return []


_LONG_DIGITS = re.compile(rb"[0-9]{19,}")
_KEY_END = re.compile(rb'"[ \t\r\n]*:')


def parse_json(raw: bytes) -> Any:
    """Give the JSON text ``raw`` as data; raise ApiError (422) naming the problem and where."""
    try:
        # orjson refuses bad UTF-8, lone surrogates, NaN/Infinity and numbers beyond a double,
        # and also empty text, a byte order mark and UTF-16/32 (told apart below).
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not raw.strip():
            raise invalid_body("is empty; send a JSON object") from None
        problem = _encoding_problem(raw)
        if problem:
            raise invalid_body(problem) from None
        where = _line_col(raw, exc.pos)
        at = f"line {where['line']} column {where['column']}"
        problem = _explain(exc.msg, raw[exc.pos :])
        raise invalid_body(f"is not valid JSON at {at}: {problem}", **where) from None
    # What orjson lets pass: nesting past MAX_DEPTH, a key given twice (last wins), an integer
    # beyond 64 bits (kept, or made an inexact double). The common body is told clean by
    # counting bytes: it has fewer brackets than MAX_DEPTH, no escape, no run of 19 digits (the
    # shortest such integer), and as many quotes as its data written back (a key given twice
    # is a string less). Any other body is walked (``_checked``).
    if (
        raw.count(b"{") + raw.count(b"[") > MAX_DEPTH
        or b"\\" in raw
        or _DIGIT_RUN in raw.translate(_DIGITS_ONLY)
    ):
        return _checked(raw, data)
    if raw.count(b'"') != orjson.dumps(data).count(b'"'):
        _strict(raw)
    return data


_DIGITS_ONLY = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
"""Maps each digit to ``0`` and any other byte to a space."""
_DIGIT_RUN = b"0" * 19


def _checked(raw: bytes, data: Any) -> Any:
    """Give ``data``, parsed from ``raw``, once it is no deeper than MAX_DEPTH and has no
    key twice and no integer beyond 64 bits; raise ApiError (422) naming the problem."""
    depth, keys = _shape(data)
    if depth > MAX_DEPTH:
        deep = _deep_path(data)
        path = _path(deep[:8]) + ("…" if len(deep) > 8 else "")
        raise invalid_body(
            f"is nested more than {MAX_DEPTH} levels deep (at {path}); send flatter JSON",
            path=path,
        )
    # Without escaped quotes, a quote then a colon ends a key: equal counts mean no key repeats.
    # Such an integer needs 19 digits in a row.
    if b'\\"' in raw or len(_KEY_END.findall(raw)) != keys or _LONG_DIGITS.search(raw):
        _strict(raw)
    return data


def _strict(raw: bytes) -> None:
    """Parse ``raw`` again with the standard parser, refusing repeated keys and huge integers."""
    try:
        _STRICT.decode(raw.decode("utf-8"))
    except _DuplicateKey as exc:
        raise invalid_body(
            f"has the key {exc.key!r} twice in one object; send each key once", exc.key
        ) from None
    except _IntOutOfRange as exc:
        where = _line_col(raw, max(raw.find(exc.text.encode()), 0))
        raise invalid_body(
            f"has the integer {_shorten(exc.text)} (line {where['line']} column "
            f"{where['column']}), outside the 64-bit range {INT_RANGE[0]}..{INT_RANGE[1]}",
            **where,
        ) from None


def _explain(msg: str, rest: bytes) -> str:
    """Give orjson's message with what to do, where it does not say; ``rest`` starts there."""
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        if rest.startswith(constant):
            return f"{constant.decode()} is not a JSON number; send a finite number or null"
    if msg.startswith("depth limit"):
        return f"nested too deeply; send JSON at most {MAX_DEPTH} levels deep"
    if "infinity" in msg:
        return f"{msg}; send numbers a double holds (at most about 1.8e308, 64-bit integers)"
    if "surrogate" in msg:
        return f"{msg}; a \\uD800-\\uDFFF escape must be one half of a pair"
    return msg


def _shorten(text: str, most: int = 40) -> str:
    return text if len(text) <= most else f"{text[:most]}… ({len(text)} digits)"
