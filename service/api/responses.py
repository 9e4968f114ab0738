"""The JSON response the API sends, built without pydantic so decisions stay fast."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.responses import JSONResponse


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


class JSON(JSONResponse):
    """A JSON response that also writes dates, sets and paths."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_jsonable)
