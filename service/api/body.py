"""Request bodies and request text: one strict JSON reader for every JSON route, size limits.

``parse_json`` is the only way a JSON body becomes data. It refuses, with a 422 naming the
problem and where it is: text that is not UTF-8 (a byte order mark, UTF-16), a lone surrogate
(``"\\ud800"``), ``NaN``/``Infinity``, a number too large for a double or an integer outside
64 bits, nesting deeper than ``MAX_DEPTH``, and a key given twice in one object.

``BodyMiddleware`` bounds every body (413, ``CASEWISE_MAX_BODY_BYTES``), applies ``parse_json``
to every body sent to the JSON API (``/v1/...``) before any route runs, refuses a body that is
not ``application/json`` (415), and refuses percent-escapes in the path or query string that are
not UTF-8 (an encoded lone surrogate among them) on every route.
``read_json_object`` gives a route the object the middleware parsed.
"""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import ApiError, PayloadTooLarge, error_response, respond

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a JSON body may have."""
INT_RANGE = (-(2**63), 2**63 - 1)
"""The integers a JSON body may carry: what Neo4j and the decision log store exactly."""
THREAD_BYTES = 64 * 1024
"""Bodies at least this large are parsed in a worker thread, so /healthz keeps answering."""
SCOPE_KEY = "casewise.json"
"""Where BodyMiddleware leaves the parsed body in the ASGI scope."""
LARGE_KEY = "casewise.large"
"""Set in the scope when the body is at least THREAD_BYTES: the route checks it off the loop."""
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Content types that need no parsing of their parameters (the hot path of every decision).
_PLAIN_JSON = frozenset(
    {"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"}
)


def _too_large(limit: int) -> str:
    return (
        f"request body is larger than {limit} bytes; send a smaller body (fewer batch items) "
        "or raise CASEWISE_MAX_BODY_BYTES"
    )


# --- parsing ---------------------------------------------------------------------------------


def _invalid_body(message: str, value: Any = None, **where: Any) -> ApiError:
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
            raise _invalid_body("is empty; send a JSON object") from None
        problem = _encoding_problem(raw)
        if problem:
            raise _invalid_body(problem) from None
        where = _line_col(raw, exc.pos)
        at = f"line {where['line']} column {where['column']}"
        problem = _explain(exc.msg, raw[exc.pos :])
        raise _invalid_body(f"is not valid JSON at {at}: {problem}", **where) from None
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
        raise _invalid_body(
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
        raise _invalid_body(
            f"has the key {exc.key!r} twice in one object; send each key once", exc.key
        ) from None
    except _IntOutOfRange as exc:
        where = _line_col(raw, max(raw.find(exc.text.encode()), 0))
        raise _invalid_body(
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


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


async def read_json_object(request: Request) -> dict[str, Any]:
    """Give the request body parsed as a JSON object; raise ApiError (422) naming the problem."""
    if SCOPE_KEY in request.scope:
        data = request.scope[SCOPE_KEY]
    else:  # an app without BodyMiddleware in front
        data = await _parse(await request.body())
    if not isinstance(data, dict):
        kind = _json_kind(data)
        raise _invalid_body(
            f"must be a JSON object, not {kind}", data if kind != "an array" else None
        )
    return data


async def _parse(raw: bytes) -> Any:
    if len(raw) >= THREAD_BYTES:
        return await run_in_threadpool(parse_json, raw)
    return parse_json(raw)


# --- the edge --------------------------------------------------------------------------------


def _media_type(value: str) -> tuple[str, str | None]:
    message = email.message.Message()
    message["content-type"] = value
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) else None


def _is_json(media_type: str) -> bool:
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _not_utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _bad_request_text(scope: Scope) -> ApiError | None:
    """Give the error for a path or query string whose escapes are not UTF-8, else None."""
    raw_path: bytes = scope.get("raw_path") or b""
    if (b"%" in raw_path or not raw_path.isascii()) and _not_utf8(raw_path.split(b"?")[0]):
        message = "the path has percent-escapes that are not UTF-8 text; encode it as UTF-8"
        details = [{"field": "(path)", "message": message, "value": None}]
        return ApiError(422, "invalid-input", message, details)
    query: bytes = scope.get("query_string") or b""
    if b"%" in query or not query.isascii():
        for part in query.split(b"&"):
            name, _, value = part.partition(b"=")
            if _not_utf8(name) or _not_utf8(value):
                field = name.decode("ascii", "replace") if name.isascii() else "(query)"
                message = (
                    f"query parameter {field} has percent-escapes that are not UTF-8 text "
                    "(a lone surrogate, or another encoding); encode it as UTF-8"
                )
                details = [{"field": field, "message": message, "value": None}]
                return ApiError(422, "invalid-input", message, details)
    return None


class BodyMiddleware:
    """Bound every request body; parse each JSON API body once; refuse bad request text.

    A body over ``max_bytes`` (``upload_bytes`` on the ``uploads`` routes, which take a
    multipart document) is a 413: by its Content-Length before anything is read, and by counting
    what arrives. A body sent to the JSON API (``prefix``) is read here, refused unless it is
    ``application/json`` (415), parsed with ``parse_json`` and left in the scope for
    ``read_json_object``; a route may still read the raw body. A path or query string whose
    escapes are not UTF-8 is refused on every route (422).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        uploads: re.Pattern[str] | None = None,
        upload_bytes: int = 0,
        prefix: str = "/v1/",
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads
        self.upload_bytes = upload_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        upload = self.uploads is not None and self.uploads.fullmatch(path) is not None
        limit = self.upload_bytes if upload else self.max_bytes
        declared_type, length_seen = None, False
        for name, value in scope["headers"]:
            if name == b"content-length" and not length_seen:
                length_seen = True
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    details = [{"limit": limit, "content_length": declared}]
                    too_large = error_response(413, "payload-too-large", _too_large(limit), details)
                    await too_large(scope, receive, send)
                    return
            elif name == b"content-type" and declared_type is None:
                declared_type = value
        refused = _bad_request_text(scope)
        if refused is not None:
            response = respond(Request(scope), refused.status, _error(refused))
            await response(scope, receive, send)
            return
        if upload or scope["method"] not in _BODY_METHODS or not path.startswith(self.prefix):
            await self.app(scope, _counting(receive, limit), send)
            return
        try:
            raw = await _read_body(receive, limit)
            if raw:
                _check_content_type(scope, declared_type)
                if len(raw) < THREAD_BYTES:
                    scope[SCOPE_KEY] = parse_json(raw)
                else:
                    scope[SCOPE_KEY] = await run_in_threadpool(parse_json, raw)
                    scope[LARGE_KEY] = True
        except ApiError as exc:
            await error_response(exc.status, exc.code, exc.message, exc.details)(
                scope, receive, send
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _counting(receive: Receive, limit: int) -> Receive:
    """Give ``receive`` that raises PayloadTooLarge once more than ``limit`` bytes arrived."""
    received = 0

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(_too_large(limit), [{"limit": limit}])
        return message

    return counting_receive


def _error(exc: ApiError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details}


async def _read_body(receive: Receive, limit: int) -> bytes:
    """Give the whole body; raise PayloadTooLarge once more than ``limit`` bytes arrived."""
    message = await receive()
    if message["type"] != "http.request":
        return b""
    body: bytes = message.get("body", b"")
    if len(body) > limit:
        raise PayloadTooLarge(_too_large(limit), [{"limit": limit}])
    if not message.get("more_body", False):
        return body  # the whole body in one message, as a small one comes
    chunks, received = [body], len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(_too_large(limit), [{"limit": limit}])
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _check_content_type(scope: Scope, value: bytes | None) -> None:
    """Raise ApiError (415) unless the body is declared (``value``, the Content-Type header) as
    JSON in UTF-8, or not declared."""
    if value is None:
        return  # undeclared: read as JSON, as FastAPI does
    declared = value.decode("latin-1")
    if declared.lower() in _PLAIN_JSON:
        return  # what nearly every client sends
    media_type, charset = _media_type(declared)
    if _is_json(media_type) and (charset is None or charset.lower() in ("utf-8", "utf8")):
        return
    method, path = scope["method"], scope["path"]
    message = (
        f"{method} {path} takes a JSON body: send it with Content-Type: application/json "
        f"(UTF-8), not {declared!r}"
    )
    details = [{"field": "Content-Type", "message": "expected application/json", "value": declared}]
    raise ApiError(415, "unsupported-media-type", message, details)
