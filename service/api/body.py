"""Request bodies: a size limit on every request, and reading a JSON object without pydantic."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import ApiError, PayloadTooLarge, error_response


def _too_large(limit: int) -> str:
    return (
        f"request body is larger than {limit} bytes; send a smaller body (fewer batch items) "
        "or raise CASEWISE_MAX_BODY_BYTES"
    )


class BodyLimitMiddleware:
    """Refuse a body over ``max_bytes``: by its Content-Length, and by counting what arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    details = [{"limit": self.max_bytes, "content_length": declared}]
                    response = error_response(
                        413, "payload-too-large", _too_large(self.max_bytes), details
                    )
                    await response(scope, receive, send)
                    return
                break
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(_too_large(self.max_bytes), [{"limit": self.max_bytes}])
            return message

        await self.app(scope, counting_receive, send)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _invalid_body(message: str, value: Any = None) -> ApiError:
    details = [{"field": "(body)", "message": message, "value": value}]
    return ApiError(422, "invalid-input", f"request body {message}", details)


async def read_json_object(request: Request) -> dict[str, Any]:
    """Give the request body parsed as a JSON object; raise ApiError (422) naming the problem."""
    raw = await request.body()
    if not raw.strip():
        raise _invalid_body("is empty; send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = _slow_loads(raw)  # raises, naming the problem and where it is
    if not isinstance(data, dict):
        kind = _json_kind(data)
        raise _invalid_body(
            f"must be a JSON object, not {kind}", data if kind != "an array" else None
        )
    return data


def _slow_loads(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise _invalid_body("is not UTF-8 text; send a JSON object encoded as UTF-8") from None
    except ValueError as exc:
        raise _invalid_body(f"is not valid JSON: {exc}") from None


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
