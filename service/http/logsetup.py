"""How a Casewise process writes its log: text, or (CASEWISE_LOG_FORMAT=json) one JSON line each.

With JSON logs every line a process writes to its log is JSON, whichever logger wrote it:
Casewise's, uvicorn's, and the libraries' (the neo4j driver, asyncio) and the root logger's,
and Python's warnings (a library's DeprecationWarning), which go to the logger ``py.warnings``.
A library logger has no handler of its own; without one on the root logger, Python's
last-resort handler writes its records as bare text ("[#C9A2]  _: <CONNECTION> error: Failed
to read from defunct connection ..."), so the JSON handler sits on the root logger, and
Casewise's records reach it by propagation (a handler of their own would write them twice).

``json_log_config`` is what ``casewise serve`` hands uvicorn, which applies it in every process
it starts; ``configure_logging`` (``create_app``) sets the level of Casewise's loggers and adds
the handler where nothing did (an app served another way).
"""

from __future__ import annotations

import contextvars
import copy
import datetime as dt
import http
import logging
from typing import Any

import orjson
import uvicorn.config
from uvicorn.logging import AccessFormatter

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "casewise_request_id", default=None
)
"""The id of the request being served (None outside one): log records carry it."""

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """Write a log record as one JSON line: time, level, logger, message, the request id."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        else:
            request_id = current_request_id.get()
            if request_id is not None:
                line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode("utf-8")


def _library_level(level: str) -> str:
    """Give the level of the libraries' records: WARNING (as Python's default), or ``level``
    when that is stricter."""
    return level if logging.getLevelName(level.upper()) > logging.WARNING else "WARNING"


# uvicorn's access line: 'INFO:     127.0.0.1:50412 - "POST /v1/decisions/x HTTP/1.1" 200 OK'
ACCESS_FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
_STATUS = {status.value: f"{status.value} {status.phrase}" for status in http.HTTPStatus}


class AccessLineFormatter(AccessFormatter):
    """uvicorn's access line, the same text, made in one f-string.

    uvicorn's formatter copies each record twice and looks its status up in ``HTTPStatus``:
    under a flood of refusals its line was a third of a worker's CPU (py-spy, 2026-12-08), as
    much per refusal as the rest of the refusal. In colour (a terminal) or with another format
    the line is uvicorn's own.
    """

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if (
            self.use_colors
            or self._fmt != ACCESS_FORMAT
            or record.exc_info
            or record.stack_info
            or not isinstance(args, tuple)
            or len(args) != 5
        ):
            return super().format(record)
        client, method, path, version, status = args
        code = int(status)  # type: ignore[call-overload]
        prefix = record.levelname + ":" + " " * (8 - len(record.levelname))
        text = _STATUS.get(code) or f"{code} "
        return f'{prefix} {client} - "{method} {path} HTTP/{version}" {text}'


def text_log_config() -> dict[str, Any]:
    """Give uvicorn's own logging configuration, its access lines made by AccessLineFormatter."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["access"]["()"] = f"{__name__}.AccessLineFormatter"
    return config


def json_log_config(level: str) -> dict[str, Any]:
    """Give uvicorn's logging configuration with every line as JSON (its access log off)."""
    formatter = {"()": f"{__name__}.JsonFormatter"}
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": formatter},
        "handlers": {"default": handler},
        # every library's records (neo4j, asyncio) and Casewise's, by propagation
        "root": {"handlers": ["default"], "level": _library_level(level)},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # no handler: uvicorn writes its access line only when this logger has one (the
            # request's own JSON line replaces it), and nothing else logs here
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(level: str, form: str = "text") -> None:
    """Send Casewise's log records to stderr at ``level``, as text or JSON lines (once).

    With JSON lines, every logger's records go to one handler on the root logger, unless the
    root logger has handlers already (``json_log_config`` applied by uvicorn, or a test run's).
    """
    logger = logging.getLogger("casewise")
    logger.setLevel(level)
    if form == "json":
        logging.captureWarnings(True)  # Python's warnings too, through logger py.warnings
        root = logging.getLogger()
        if not root.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(JsonFormatter())
            root.addHandler(handler)
            root.setLevel(_library_level(level))
        return
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_TEXT))
        logger.addHandler(handler)
