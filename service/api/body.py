"""The ASGI edge of request bodies: size limits, JSON API bodies parsed once, request text.

``BodyMiddleware`` bounds every body (413, ``CASEWISE_MAX_BODY_BYTES``), applies ``parse_json``
(``service.api.jsonbody``) to every body sent to the JSON API (``/v1/...``) before any route
runs, refuses a body that is not ``application/json`` (415), and refuses percent-escapes in the
path or query string that are not UTF-8 (an encoded lone surrogate among them) on every route.
``read_json_object`` gives a route the object the middleware parsed.
"""

from __future__ import annotations

import email.message
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.jsonbody import invalid_body, parse_json
from service.http.errors import ApiError, PayloadTooLarge, error_response, respond

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
        raise invalid_body(
            f"must be a JSON object, not {kind}", data if kind != "an array" else None
        )
    return data


async def _parse(raw: bytes) -> Any:
    if len(raw) >= THREAD_BYTES:
        return await run_in_threadpool(parse_json, raw)
    return parse_json(raw)


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
