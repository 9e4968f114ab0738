"""Answers at the connection: uvicorn's HTTP protocol answering the liveness probe and the
requests admission would shed, before the app is called.

Under overload most requests are refused, so what a refusal costs decides how much CPU is left
for the admitted ones. Through the app, a refused request costs a task, the ASGI scope, every
middleware and two socket writes. ``EdgeProtocol`` (``casewise serve`` runs uvicorn with it)
asks the worker's ``Admission`` as soon as a request's headers are parsed; when the request
would be shed at once anyway (every slot taken, and the queue full or the event loop already
later than the queue timeout) it writes a ready-made 503 in one write and skips the app. Its
body, if any, is read and dropped as uvicorn does for any answered request; the connection is
kept alive. A person asking for an HTML page still goes to the app, for the error page.

A request it lets through counts as expected by admission until its task has taken its first
step (``Admission.expect``): the requests read in one turn of the event loop all reach the app
only in the next, so without that count every one of them would pass this check against the
same stale slots, and the app would refuse most of them itself, at several times the cost.

``GET /healthz`` is answered the same way, in the loop's callback that read it: the event loop
runs, so the process is alive. Through the app it would wait for a task of its own, behind every
request read with it, which on a busy worker is one more turn of the whole loop. So is
``GET /readyz`` (``service.http.readiness``), except while the graph's first answer is awaited.

These answers carry what the app's do: the security headers, uvicorn's ``date`` and ``server``,
the request's ``X-Request-Id`` (the client's, or a new one), its time in
``casewise_http_request_seconds`` and its log line: the JSON one with JSON logs
(``service.http.requestlog``), else uvicorn's access line; the refusals are counted in
``casewise_shed_requests_total`` and ``casewise_errors_total`` as the app's are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from service.http.admission import EXEMPT, RETRY_AFTER, Admission, shed_answer, wants_page
from service.http.errors import count_error
from service.http.readiness import Readiness
from service.http.requestlog import HEADER, RequestLog
from service.http.responses import SecurityHeaders
from service.http.tally import TALLY
from service.kernel import metrics
from service.settings import load_settings

HEALTHZ = "/healthz"
READYZ = "/readyz"


def _answer(status: bytes, body: bytes, *headers: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """Give an answer's status line, and its own headers and body (uvicorn's go in between)."""
    fields = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
        *SecurityHeaders().page,  # as every answer of the app has
    ]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    return b"HTTP/1.1 " + status + b"\r\n", head + b"\r\n" + body


SHED = {
    reason: _answer(
        b"503 Service Unavailable",
        orjson.dumps({"error": shed_answer(reason)[2]}),
        (b"retry-after", RETRY_AFTER.encode()),
    )
    for reason in ("queue-full", "queue-timeout")
}
ALIVE = _answer(b"200 OK", orjson.dumps({"status": "ok"}))
STATUS_LINES = {200: b"200 OK", 503: b"503 Service Unavailable"}  # what /readyz answers


@dataclass(frozen=True)
class _Route:
    """What the request log reads of a route: its path template (for the metric's label)."""

    path: str


HEALTHZ_ROUTE = _Route(HEALTHZ)  # the probes are counted under their own paths, as in the app
READYZ_ROUTE = _Route(READYZ)


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering /healthz and /readyz and refusing at once what the
    worker's admission would refuse."""

    request_log: RequestLog | None = None
    """The request ids, metrics and log lines of this process's answers at the connection."""

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        scope = cycle.scope
        path = scope["path"]
        if path == HEALTHZ and scope["method"] == "GET":
            scope["route"] = HEALTHZ_ROUTE
            self._write(cycle, 200, ALIVE)
            return
        if path == READYZ and scope["method"] == "GET" and self._ready(cycle):
            return
        admission = Admission.of_worker
        if admission is None or path in EXEMPT:
            super()._start_asgi_task(cycle, app)
            return
        reason = admission.refuses_at_once()
        if reason is not None and not wants_page(scope):
            TALLY.count(metrics.SHED, (reason,))
            count_error("overloaded", 503)
            self._write(cycle, 503, SHED[reason])
            return
        super()._start_asgi_task(cycle, app)
        admission.expect(self.loop)  # after the task: its first step runs before the count ends

    def _ready(self, cycle: Any) -> bool:
        """Answer /readyz if its answer is known without waiting; tell whether it was."""
        readiness = Readiness.of_worker
        known = readiness.answer_now() if readiness is not None else None
        if known is None:
            return False
        status, body = known
        cycle.scope["route"] = READYZ_ROUTE
        self._write(cycle, status, _answer(STATUS_LINES[status], orjson.dumps(body)))
        return True

    def _write(self, cycle: Any, status: int, answer: tuple[bytes, bytes]) -> None:
        """Send ``answer`` as the whole response to ``cycle``'s request, in one write, with the
        request's id; time and log it as the app's answers are."""
        started = time.perf_counter()
        log = EdgeProtocol.request_log or _request_log()
        scope = cycle.scope
        request_id, token = log.begin(scope)
        cycle.response_complete = True  # so the request's body, as it arrives, is dropped
        line, rest = answer
        parts = [line]
        for name, value in self.server_state.default_headers:  # date and server, as uvicorn's
            parts += (name, b": ", value, b"\r\n")
        parts += (HEADER, b": ", request_id.encode("ascii"), b"\r\n", rest)
        self.transport.write(b"".join(parts))
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()  # the next pipelined request, or the keep-alive timer
        ended = time.perf_counter()
        log.end(scope, status, ended - started, token)
        TALLY.maybe_flush(ended)
        if self.access_log:  # text logs: uvicorn's access line, as for the app's answers
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(scope),
                scope["method"],
                get_path_with_query_string(scope),
                scope["http_version"],
                status,
            )


def _request_log() -> RequestLog:
    """Make this process's request log for answers at the connection (once, at the first)."""
    log = EdgeProtocol.request_log = RequestLog(load_settings().log_format == "json")
    return log
