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

``GET /healthz`` is answered the same way, in the loop's callback that read it: the event loop
runs, so the process is alive. Through the app it would wait for a task of its own, behind every
request read with it, which on a busy worker is one more turn of the whole loop.

These answers carry the security headers and uvicorn's ``date`` and ``server``, but no
``X-Request-Id`` and no request log line; the refusals are counted in
``casewise_shed_requests_total`` and ``casewise_errors_total`` as the app's are.
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.http.admission import EXEMPT, RETRY_AFTER, Admission, shed_answer, wants_page
from service.http.errors import count_error
from service.http.responses import SecurityHeaders
from service.http.tally import TALLY
from service.kernel import metrics

HEALTHZ = "/healthz"


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


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering /healthz and refusing at once what the worker's
    admission would refuse."""

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        scope = cycle.scope
        path = scope["path"]
        if path == HEALTHZ and scope["method"] == "GET":
            self._write(cycle, ALIVE)
            return
        admission = Admission.of_worker
        if admission is not None and path not in EXEMPT:
            reason = admission.refuses_at_once()
            if reason is not None and not wants_page(scope):
                TALLY.count(metrics.SHED, (reason,))
                count_error("overloaded", 503)
                self._write(cycle, SHED[reason])
                return
        super()._start_asgi_task(cycle, app)

    def _write(self, cycle: Any, answer: tuple[bytes, bytes]) -> None:
        """Send ``answer`` as the whole response to ``cycle``'s request, in one write."""
        cycle.response_complete = True  # so the request's body, as it arrives, is dropped
        status, rest = answer
        parts = [status]
        for name, value in self.server_state.default_headers:  # date and server, as uvicorn's
            parts += (name, b": ", value, b"\r\n")
        parts.append(rest)
        self.transport.write(b"".join(parts))
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()  # the next pipelined request, or the keep-alive timer
