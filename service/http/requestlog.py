"""Every request's id, its HTTP metrics, and (CASEWISE_LOG_FORMAT=json) its one JSON log line.

``RequestLog`` is kept by the outermost middleware (``service.http.edge``). It gives each
request an id: the client's ``X-Request-Id`` when it is sane (1..128 of ``A-Z a-z 0-9 . _ :
-``), else a new one (``<8 hex of the worker>-<counter>``); the id is in the answer's
``X-Request-Id`` header, on the error page, and in every log record written while the request
runs. When the answer is sent it records the request's time (``casewise_http_request_seconds``)
and, for a decision route, the decisions it answered (``note_decision`` / ``note_batch``, called
by the route), and with JSON logs writes one line::

    {"time": "...", "level": "INFO", "logger": "casewise.access", "message": "POST ... 200",
     "request_id": "...", "method": "POST", "path": "...", "status": 200, "duration_ms": 1.2,
     "caller": "erp", "decision_id": "...", "ruleset": "invoice-approval", "version": "..."}

The per-request work is a header scan, a counter and a few dict updates: the counts go to the
metrics in bulk (``service.http.tally``). How log records become JSON lines, and how a process
sets its logging up: ``service.http.logsetup``.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import re
import secrets
from typing import Any

from starlette.types import Scope

from service.http.logsetup import current_request_id
from service.http.tally import TALLY, Count, Timing
from service.kernel import metrics

REQUEST_ID = "casewise.request_id"
"""Where the request id is kept in the ASGI scope."""
DECISION = "casewise.decision"
"""Where a decision route leaves what it answered (a decision, or a batch's results)."""
HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

access_log = logging.getLogger("casewise.access")


def note_decision(scope: Scope, decision: dict[str, Any]) -> None:
    """Note the decision a single-decision request answers (for its log line and metrics)."""
    scope[DECISION] = decision


def note_batch(scope: Scope, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Note the results of a batch request; give them back."""
    scope[DECISION] = results
    return results


class RequestLog:
    """Give every request an id, time it, count its decisions, log it (one JSON line); the
    outermost middleware (``service.http.edge``) calls ``begin`` and ``end``."""

    def __init__(self, json_lines: bool = False) -> None:
        self.json_lines = json_lines
        self.prefix = secrets.token_hex(4)
        self.numbers = itertools.count(1)
        self._paths: dict[Any, str] = {}
        # The metric cells of each route and status, and of each ruleset, version and outcome:
        # a request adds to cells found by one dict lookup each (service/http/tally.py).
        self._http: dict[tuple[str, int, int], Timing] = {}
        self._decided: dict[tuple[Any, Any, str], tuple[Count, Timing]] = {}

    def begin(self, scope: Scope) -> tuple[str, contextvars.Token[str | None] | None]:
        """Give the request its id (kept in the scope) and, with JSON lines, set it as the id
        of the log records written while it runs; give the id and what ``end`` resets."""
        request_id = None
        for name, value in scope["headers"]:
            if name == HEADER:
                if _SANE_ID.fullmatch(value):
                    request_id = value.decode("ascii")
                break
        if request_id is None:
            request_id = f"{self.prefix}-{next(self.numbers):x}"
        scope[REQUEST_ID] = request_id
        token = current_request_id.set(request_id) if self.json_lines else None
        return request_id, token

    def end(
        self,
        scope: Scope,
        status: int,
        seconds: float,
        token: contextvars.Token[str | None] | None,
    ) -> None:
        """Record the answered request: its time, its decisions, its log line."""
        if token is not None:
            current_request_id.reset(token)
        self._record(scope, status, seconds)

    def _template(self, scope: Scope) -> str:
        """Give the path template of the route that answered (a plain Starlette route leaves
        only its endpoint in the scope); "(not routed)" when none did (404, or refused before)."""
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return "(not routed)"
        template = self._paths.get(endpoint)
        if template is None:
            routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
            found = [r.path for r in routes if getattr(r, "endpoint", None) is endpoint]
            template = self._paths[endpoint] = found[0] if found else "(unknown)"
        return template

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        # by identity: routes live as long as the app, and FastAPI's cannot be hashed
        key = (scope["method"], id(scope.get("route") or scope.get("endpoint")), status)
        timing = self._http.get(key)
        if timing is None:
            route = scope.get("route")
            template = getattr(route, "path", None) or self._template(scope)
            labels = (scope["method"], template, str(status))
            timing = self._http[key] = TALLY.timing(metrics.HTTP_SECONDS, labels)
        timing.observe(seconds)
        answered = scope.get(DECISION)
        if answered is not None and status == 200:
            if answered.__class__ is dict:
                self._count(scope, answered)
            else:
                for decision in _batch_decisions(answered):
                    self._count(scope, decision)
        if self.json_lines:
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={"fields": _fields(scope, status, seconds, answered)},
            )

    def _count(self, scope: Scope, decision: dict[str, Any]) -> None:
        """Count one answered decision and its engine time."""
        key = (decision.get("ruleset"), decision.get("version"), _outcome(scope, decision))
        cells = self._decided.get(key)
        if cells is None:
            ruleset, version = str(key[0]), str(key[1])[:12]
            cells = self._decided[key] = (
                TALLY.counter(metrics.DECISIONS, (ruleset, version, key[2])),
                TALLY.timing(metrics.DECISION_SECONDS, (ruleset,)),
            )
        cells[0].n += 1
        took = decision.get("duration_ms")
        if took is not None:
            cells[1].observe(took / 1000)


def _outcome(scope: Scope, decision: dict[str, Any]) -> str:
    principal = scope["state"].get("principal") if "state" in scope else None
    if principal is not None and principal.role == "author":
        return "dry-run"
    return "case" if decision.get("case_id") else "decided"


def _batch_decisions(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["decision"] for r in results if isinstance(r.get("decision"), dict)]


def _fields(
    scope: Scope, status: int, seconds: float, answered: dict[str, Any] | list[Any] | None
) -> dict[str, Any]:
    principal = scope.get("state", {}).get("principal")
    fields: dict[str, Any] = {
        "request_id": scope.get(REQUEST_ID),
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "caller": getattr(principal, "name", None),
    }
    if isinstance(answered, dict):
        fields["decision_id"] = answered.get("id")
        fields["ruleset"] = answered.get("ruleset")
        fields["version"] = answered.get("version")
    elif isinstance(answered, list):
        decisions = _batch_decisions(answered)
        fields["decisions"] = len(decisions)
        if decisions:
            fields["ruleset"] = decisions[0].get("ruleset")
            fields["version"] = decisions[0].get("version")
            fields["decision_ids"] = [d.get("id") for d in decisions[:20]]
    return fields
