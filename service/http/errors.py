"""The one error handler: any error, rendered in one shape, as JSON or as the error page.

A ``CasewiseError`` (the tree is drawn in ``service.kernel.errors``) is answered with its own
``status``, ``code``, ``message`` and ``details`` as ``{"error": {"code", "message",
"details"}}``; routes raise and never catch to translate. FastAPI's validation and routing
errors get the same shape; anything else is a 500 ``internal`` with an error id.

=====  ==================  ==========================================================
 404   not-found           unknown ruleset, unknown route, unknown case or recommendation
 405   method-not-allowed  a route called with the wrong method
 409   already-decided     an expert decision on a recommendation that was decided before
 409   idempotency-        an ``Idempotency-Key`` already used by another caller, for another
       conflict            ruleset or with another input (``details`` names what differs)
 413   payload-too-large   a body over CASEWISE_MAX_BODY_BYTES, a batch over CASEWISE_MAX_BATCH
 415   unsupported-media-  a body on the JSON API not sent as ``application/json`` (UTF-8)
       type
 422   invalid-input       input that does not fit the ruleset's schema, a case payload that
                           does not fit its model or refers to an unknown party, a body that
                           is not a JSON object or that ``service.api.jsonbody.parse_json``
                           refuses (bad UTF-8, a lone surrogate, NaN, a number beyond a double
                           or 64 bits, too deep, a key twice), a path or query string whose
                           escapes are not UTF-8; ``details`` names every bad field
 422   decision-failed     the rules could not reach a decision; ``details`` starts with its code
 429   too-many-attempts   too many failed key checks or sign-ins from one client or for one
                           account (``service.auth.throttle``); ``Retry-After`` says when
 429   rate-limited        an API key over CASEWISE_RATE_PER_KEY (``service.http.admission``)
 500   internal            a bug; the body carries an error id that is logged with the traceback
 503   graph-unavailable   the case graph is not configured (NEO4J_URI unset) or not reachable
 503   decision-log-       a decision's record could not be written to the spool (disk full,
       unavailable         CASEWISE_SPOOL_DIR not writable), so it is not answered as decided
 503   overloaded          the worker has no slot for the request in time
                           (``service.http.admission``); ``Retry-After`` says when to retry
=====  ==================  ==========================================================

An error never fails on the value it echoes: ``service.http.responses.JSON`` writes what orjson
cannot (a lone surrogate stored earlier, an integer beyond 64 bits) as text.

A request that prefers HTML (a browser: ``text/html`` in its Accept header, before any JSON)
gets the same code, message and details as a readable page (``error.html``); a 500 page shows
the error id and never a traceback. Every page shows the request id (``X-Request-Id``), and each
error answer is counted by code (``casewise_errors_total``).
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from service.graph.models import error_path
from service.http.requestlog import REQUEST_ID
from service.http.responses import JSON
from service.http.tally import TALLY
from service.http.templating import render
from service.kernel import metrics
from service.kernel.errors import CasewiseError

log = logging.getLogger("casewise.api")


class ApiError(CasewiseError):
    """An error a route or the edge raises with its own status and code."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(message, details)
        self.status = status
        self.code = code


class PayloadTooLarge(ApiError):
    """A request body or batch over the configured limit."""

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(413, "payload-too-large", message, details)


def error_object(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """Give the ``error`` object of an error body (also a batch item's answer)."""
    return {"code": code, "message": message, "details": details or []}


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """Give the JSON body of an error."""
    return {"error": error_object(code, message, details)}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSON:
    """Give the response of an error."""
    count_error(code, status)
    return JSON(error_body(code, message, details), status_code=status, headers=headers)


def prefers_html(request: Request) -> bool:
    """Tell whether the client asks for HTML before JSON (a browser), not an API client."""
    accept = request.headers.get("accept", "").lower()
    html = accept.find("text/html")
    if html < 0:
        return False
    json = accept.find("application/json")
    return json < 0 or html < json


def respond(
    request: Request, status: int, error: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """Give the error as JSON, or as an HTML page to a client that prefers HTML (with the
    request id, which the X-Request-Id header also carries, to quote to the operators)."""
    count_error(error.get("code"), status)
    if prefers_html(request):
        phrase = HTTPStatus(status).phrase
        request_id = request.scope.get(REQUEST_ID)
        page = render(
            request, "error.html", status,
            error=error, phrase=phrase, http_status=status, request_id=request_id,
        )  # fmt: skip
        if headers:
            page.headers.update(headers)
        return page
    return JSON({"error": error}, status_code=status, headers=headers)


def count_error(code: object, status: int) -> None:
    """Count an error answer by its code and status (``casewise_errors_total``)."""
    TALLY.count(metrics.ERRORS, (str(code), str(status)))


def describe_error(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Give the status and ``error`` object of any error (used per batch item too).

    A ``CasewiseError`` is answered with its own status, code, message and details, unless its
    status is 500: that is a bug, answered as ``internal`` with an error id, as anything else.
    """
    if isinstance(exc, CasewiseError) and exc.status != 500:
        return exc.status, error_object(exc.code, exc.message, exc.details)
    return 500, internal_error(exc)


def internal_error(exc: BaseException) -> dict[str, Any]:
    """Log ``exc`` with its traceback under a new error id; give the ``error`` object to send."""
    error_id = uuid.uuid4().hex[:16]
    log.error("internal error %s", error_id, exc_info=exc)
    message = f"internal error {error_id}; the service logged it, report the id to its operators"
    return error_object("internal", message, [{"error_id": error_id}])


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        # The location as a path, e.g. ``cases[0].parties[1].identifiers[0].kind``.
        loc = tuple(part for part in err.get("loc", ()) if part not in ("body", "path", "query"))
        value = err.get("input") if err.get("type") != "missing" else None
        if isinstance(value, dict | list):
            value = None  # a whole sub-object would drown the message
        details.append({"field": error_path(loc), "message": err.get("msg", ""), "value": value})
    return details


async def _on_casewise_error(request: Request, exc: Exception) -> Response:
    status, error = describe_error(exc)
    return respond(request, status, error)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    fields = ", ".join(d["field"] for d in details)
    error = error_object("invalid-input", f"invalid request: {fields}", details)
    return respond(request, 422, error)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else None
    phrase = HTTPStatus(exc.status_code).phrase
    own = exc.detail if exc.detail and exc.detail != phrase else None  # a route's own message
    if exc.status_code == 404:
        message = own or f"no route {request.method} {request.url.path}; see /docs for the API"
        return respond(request, 404, error_object("not-found", message), headers)
    if exc.status_code == 405:
        allowed = headers.get("Allow", "") if headers else ""
        message = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
        return respond(request, 405, error_object("method-not-allowed", message), headers)
    code = phrase.lower().replace(" ", "-").replace("'", "")
    return respond(request, exc.status_code, error_object(code, str(own or phrase)), headers)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise in the one shape: one handler for every
    ``CasewiseError``, FastAPI's validation and routing errors in the same shape (anything
    else is a 500 with an error id: ``service.http.edge``)."""
    app.add_exception_handler(CasewiseError, _on_casewise_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
