"""The JSON response the API sends (built without pydantic so decisions stay fast), and the
security headers of every response.

A value orjson cannot write is never a failed answer: a string holding a lone surrogate (text
stored before the edge refused them) is written with the surrogate as a ``\\udXXX`` escape in
the text, an integer beyond 64 bits as its digits, and anything else as its ``repr``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from starlette.responses import JSONResponse

_INT64 = (-(2**63), 2**64 - 1)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


def writable(value: Any) -> Any:
    """Give ``value`` with every part orjson refuses replaced by text that says what it was."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, dict):
        return {writable(str(k)): writable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [writable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "backslashreplace")
    try:
        return writable(_jsonable(value))
    except TypeError:
        return repr(value)


def render_json(content: Any) -> bytes:
    """Give ``content`` as JSON, with dates, sets and paths, and never fail on a value."""
    try:
        return orjson.dumps(content, default=_jsonable)
    except (orjson.JSONEncodeError, TypeError):
        return orjson.dumps(writable(content))


class JSON(JSONResponse):
    """A JSON response that also writes dates, sets and paths, and never fails on a value."""

    def render(self, content: Any) -> bytes:
        return render_json(content)


PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
"""The Content-Security-Policy of every response: the pages load only /static (scripts too: the
editor's few lines, service/web/static/editor.js; never an inline script)."""
DOCS_POLICY = "frame-ancestors 'none'"
"""The policy of the OpenAPI pages, whose Swagger UI and ReDoc load scripts from a CDN."""
_SAME_FOR_ALL = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """The headers that keep every answer out of frames, sniffing and other sites' logs
    (added by ``service.http.edge``)."""

    def __init__(self, docs_paths: frozenset[str] = frozenset()) -> None:
        self.docs_paths = docs_paths
        # Built once: the headers of a page or API answer, and of the OpenAPI pages.
        self.page = _headers(PAGE_POLICY)
        self.docs = _headers(DOCS_POLICY)

    def of(self, path: str) -> list[tuple[bytes, bytes]]:
        """Give the headers an answer to ``path`` gets."""
        return self.docs if path in self.docs_paths else self.page


def with_headers(
    headers: Iterable[tuple[bytes, bytes]],
    extra: list[tuple[bytes, bytes]],
    last: tuple[bytes, bytes],
) -> list[tuple[bytes, bytes]]:
    """Give ``headers``, then the security headers ``extra`` but those a route set itself (its
    value stands), then ``last``."""
    given = list(headers)
    for name, _ in given:
        if name.lower() in _NAMES:
            present = {n.lower() for n, _ in given}
            given += [pair for pair in extra if pair[0] not in present]
            break
    else:
        given += extra
    given.append(last)
    return given


_NAMES = frozenset({name for name, _ in _SAME_FOR_ALL} | {b"content-security-policy"})


def _headers(policy: str) -> list[tuple[bytes, bytes]]:
    return [*_SAME_FOR_ALL, (b"content-security-policy", policy.encode())]
