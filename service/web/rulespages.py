"""The rules pages: every ruleset and playbook being served, with suggestions, and one of them.

Moved out of ``service.web.pages`` so the author's pages (versions, lint, suggestions) live
apart from the expert's worklist and case pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from service.engine import Registry
from service.graph.db import GraphHandle, GraphUnavailable
from service.http.templating import render
from service.kernel.errors import CasewiseError
from service.recommend import mining
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings
from service.web import diffview, lint_page, simulate, views
from service.web.signin import check_csrf, read_form

router = APIRouter(include_in_schema=False)

SHOWN_SUGGESTIONS = 20


@router.get("/rules")
async def rules_page(request: Request) -> Response:
    """Every ruleset and playbook with its version and load status, problems by position."""
    return await _rules_response(request)


async def _rules_response(request: Request, **extra: Any) -> Response:
    registry: Registry = request.app.state.registry
    playbooks: PlaybookRegistry = request.app.state.playbooks
    files = views.rule_files(registry, playbooks)  # live: the status of the last reload
    suggestions, note = await run_in_threadpool(_suggestions, request, playbooks)
    routing = await run_in_threadpool(simulate.routing_suggestions, request)
    suggestions = await run_in_threadpool(lambda: [_simulable(s) for s in suggestions])
    routing = await run_in_threadpool(lambda: [_simulable(s) for s in routing])
    return render(
        request,
        "rules.html",
        rulesets=files["rulesets"],
        playbooks=files["playbooks"],
        suggestions=suggestions,
        suggestions_note=note,
        routing_suggestions=routing,
        **extra,
    )


def _suggestions(
    request: Request, playbooks: PlaybookRegistry
) -> tuple[list[dict[str, Any]], str | None]:
    """Override-mining suggestions for the rules page, or why there are none to show."""
    handle: GraphHandle = request.app.state.graph
    if not handle.configured:
        return [], "No case graph is configured (NEO4J_URI), so there are no expert decisions."
    settings: Settings = request.app.state.settings
    catalogue = {a.id: tuple(a.case_types) for a in playbooks.actions.values()}
    try:
        found = mining.suggest(
            handle.prepare(),
            settings.knowledge_dir / "playbooks",
            set(catalogue),
            min_rate=settings.suggest_min_rate,
            min_decisions=settings.suggest_min_decisions,
            case_types=catalogue,
        )
    except GraphUnavailable as exc:
        return [], f"The case graph does not answer: {exc}"
    note = None
    if len(found) > SHOWN_SUGGESTIONS:
        note = (
            f"The {SHOWN_SUGGESTIONS} most overridden of {len(found)} rules are shown; "
            "`casewise rules suggest` and GET /v1/suggestions list them all."
        )
    return [s.to_dict() for s in found[:SHOWN_SUGGESTIONS]], note


def _simulable(suggestion: dict[str, Any]) -> dict[str, Any]:
    """A suggestion with its diff's lines classed for colour, and the patched file to simulate
    (None when the file changed since the diff was made)."""
    diff = suggestion.get("diff")
    patched = None
    if diff and suggestion.get("path"):
        try:
            text = Path(suggestion["path"]).read_text(encoding="utf-8")
        except OSError:
            text = None
        patched = diffview.apply(text, diff) if text is not None else None
    lines = diffview.classify(diff) if diff else []
    return {**suggestion, "diff_lines": lines, "patched": patched}


@router.get("/rules/{name}")
async def ruleset_page(request: Request, name: str) -> Response:
    """One ruleset or playbook: inputs, rules, decision tables, and its example tests."""
    registry: Registry = request.app.state.registry
    playbooks: PlaybookRegistry = request.app.state.playbooks
    ruleset = views.find_ruleset(registry, playbooks, name)
    if ruleset is None:
        raise HTTPException(404, f"no ruleset or playbook {name!r}; /rules lists them")
    data = await run_in_threadpool(views.ruleset_page, ruleset)
    lint: dict[str, Any]
    try:
        found = await run_in_threadpool(lint_page.findings, ruleset)
        lint = {"findings": lint_page.as_rows(found), "error": None}
    except CasewiseError as exc:  # lint is advice: the page shows why it is missing
        lint = {"findings": [], "error": str(exc)}
    return render(request, "ruleset.html", lint=lint, **data)


@router.post("/rules/reload")
async def reload_rules(request: Request) -> Response:
    """Reload the changed rule files and playbooks now; the rules page with each outcome."""
    form = await read_form(request)
    check_csrf(request, form)
    reloader = request.app.state.reloader  # service/api/reloading.py, made by create_app
    report: dict[str, Any] = await run_in_threadpool(reloader.reload)
    changed = [o for o in report["rulesets"] + report["playbooks"] if o["outcome"] != "unchanged"]
    return await _rules_response(request, reload_report={**report, "changed": changed})
