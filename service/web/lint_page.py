"""Lint on the ruleset page, and trying an input (a finding's example) as a dry-run decision.

The findings of ``casewise rules lint`` are computed once per served version (a search over
candidate inputs takes seconds) and kept while that version serves. ``POST /rules/{name}/try``
decides the posted JSON input with the served ruleset as an author's decision does: a dry run,
nothing logged and no case opened (``would_open_case`` says whether one would be).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from service.engine import DecisionError, InputError, Registry, Ruleset
from service.engine.lint import Finding, lint_ruleset
from service.graph import escalation
from service.http.templating import render
from service.web.signin import check_csrf, read_form

router = APIRouter(include_in_schema=False)

_KEPT = 64  # versions whose findings are kept
_findings: dict[str, list[Finding]] = {}
_lock = threading.Lock()


def findings(ruleset: Ruleset) -> list[Finding]:
    """Give the lint findings of the ruleset's version (computed once per version)."""
    with _lock:
        kept = _findings.get(ruleset.version)
    if kept is not None:
        return kept
    found = sorted(lint_ruleset(ruleset), key=lambda f: (f.severity != "error", f.line))
    with _lock:
        if len(_findings) >= _KEPT:
            _findings.clear()
        _findings[ruleset.version] = found
    return found


def as_rows(found: list[Finding]) -> list[dict[str, Any]]:
    """The findings as the page lists them, each example also as indented JSON text."""
    return [
        {
            "line": f.line,
            "severity": f.severity,
            "message": f.message,
            "example": None
            if f.example is None
            else orjson.dumps(f.example, option=orjson.OPT_INDENT_2).decode(),
        }
        for f in found
    ]


@router.post("/rules/{name}/try")
async def try_input(request: Request, name: str) -> Response:
    """Decide the posted input (JSON) as a dry run; show the outputs and the rules that fired."""
    registry: Registry = request.app.state.registry
    if name not in registry.names():
        raise HTTPException(404, f"no ruleset {name!r}; /rules lists them")
    ruleset = registry.get(name)
    form = await read_form(request)
    check_csrf(request, form)
    text = form.get("input", "")
    error = None
    decision: dict[str, Any] | None = None
    try:
        data = orjson.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the input must be a JSON object, {...}")
        made = await run_in_threadpool(
            ruleset.evaluate, data, decision_id=f"try-{uuid.uuid4().hex[:12]}"
        )
        decision = made.to_dict()
        decision["would_open_case"] = escalation.wants_case(decision["outputs"])
    except orjson.JSONDecodeError as exc:
        error = f"the input is not JSON: {exc}"
    except ValueError as exc:
        error = str(exc)
    except (InputError, DecisionError) as exc:
        error = exc.message
        if exc.details:
            error += ": " + "; ".join(_detail(d) for d in exc.details[:5])
    return render(
        request,
        "try.html",
        status=422 if error else 200,
        ruleset=ruleset,
        input=text,
        error=error,
        decision=decision,
    )


def _detail(detail: Any) -> str:
    if isinstance(detail, dict):
        where = detail.get("field") or detail.get("code") or ""
        return f"{where}: {detail.get('message', '')}".strip(": ") or str(detail)
    return str(detail)
