"""The outermost middleware: what every answer gets, in one pass and one send wrapper.

Every HTTP answer, refusals and errors included, carries the security headers
(``service.http.responses``) and its request id; every request is timed, counted and, with
JSON logs, written as one line (``service.http.requestlog``). An exception no handler took is a
500 ``internal`` with an error id (``service.http.errors``), logged once with its traceback.
These share one middleware, with one wrapper of ``send``, because each layer costs every
request a call, and each wrapper a call per message sent: CPU the decision route cannot spare.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import internal_error, respond
from service.http.requestlog import HEADER, RequestLog
from service.http.responses import SecurityHeaders, with_headers
from service.http.tally import TALLY


class EdgeMiddleware:
    """Give every answer its request id and security headers; time, count and log each request;
    answer an unexpected exception with a 500 ``internal`` error and an error id."""

    def __init__(
        self, app: ASGIApp, json_lines: bool = False, docs_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.log = RequestLog(json_lines)
        self.security = SecurityHeaders(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, token = self.log.begin(scope)
        extra = self.security.of(scope["path"])
        pair = (HEADER, request_id.encode("ascii"))
        status = 0  # none sent yet
        started = time.perf_counter()

        async def send_answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # a new message: the app may send one it built once (a shed 503, a direct route)
                headers = with_headers(message.get("headers", ()), extra, pair)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_answer)
        except Exception as exc:
            if status:  # the answer has begun: only the server can end it now
                raise
            # Starlette's own handler for Exception re-raises after answering, which makes the
            # server log the traceback a second time without the id; this one does not.
            response = respond(Request(scope), 500, internal_error(exc))
            await response(scope, receive, send_answer)
        finally:
            ended = time.perf_counter()
            self.log.end(scope, status or 500, ended - started, token)
            TALLY.maybe_flush(ended)
