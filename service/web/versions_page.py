"""The versions of a ruleset or playbook: when each served, how much it was used, any two compared.

``/rules/{name}/versions`` lists every version that ever served (from Neo4j, and from the spool
while versions wait for it), with the decisions (or, for a playbook, the recommendations) each
made; choosing two shows their diff, unified or side by side, coloured. ``/rules/{name}/versions
/{hash}`` shows one version's file, with line numbers, as it was when it served.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response

from service.graph.db import GraphHandle
from service.graph.version_usage import usage
from service.graph.versions import VersionKeeper, get_version, list_versions
from service.http.errors import ApiError
from service.http.templating import render
from service.web import diffview

router = APIRouter(include_in_schema=False)

HASH = re.compile(r"[0-9a-f]{64}")
VIEWS = ("unified", "side-by-side")


def _serving(request: Request, name: str) -> tuple[str | None, str | None]:
    """Give the version of ``name`` serving now and its kind (ruleset, playbook), or Nones."""
    reloader = request.app.state.reloader
    for kind, files in (
        ("ruleset", reloader.registry.files),
        ("playbook", reloader.playbooks.files),
    ):
        found = files.get(name)
        if found is not None:
            return found.version, kind
    return None, None


def _pending(request: Request) -> list[Any]:
    keeper: VersionKeeper | None = request.app.state.reloader.keeper
    return keeper.pending() if keeper else []


def _versions(request: Request, name: str) -> list[dict[str, Any]]:
    """Every stored version of ``name`` (and those waiting in the spool), newest first."""
    handle: GraphHandle = request.app.state.graph
    graph = handle.prepare()
    stored = {row["hash"]: dict(row) for row in list_versions(graph, name)}
    for kept in _pending(request):
        if kept.name == name and kept.hash not in stored:
            stored[kept.hash] = {"hash": kept.hash, "kind": kept.kind, "path": kept.path,
                                 "first_served_at": kept.at, "last_served_at": kept.at}  # fmt: skip
    rows = sorted(stored.values(), key=lambda r: r["first_served_at"] or "", reverse=True)
    kind = rows[0]["kind"] if rows else "ruleset"
    counts = usage(graph, name, kind, [r["hash"] for r in rows])
    for row in rows:
        row["used"] = counts.get(row["hash"], 0)
    return rows


def _content(request: Request, name: str, version: str) -> dict[str, Any]:
    for kept in _pending(request):
        if kept.hash == version and kept.name == name:
            return {"hash": kept.hash, "path": kept.path, "content": kept.content,
                    "first_served_at": kept.at, "last_served_at": kept.at}  # fmt: skip
    handle: GraphHandle = request.app.state.graph
    return get_version(handle.prepare(), name, version)  # VersionNotFound: a 404 page


def _hash(field: str, value: str) -> str:
    if not HASH.fullmatch(value):
        detail = {
            "field": field,
            "message": "a version is 64 lower-case hex digits",
            "value": value,
        }
        raise ApiError(422, "invalid-input", f"invalid {field}: {detail['message']}", [detail])
    return value


@router.get("/rules/{name}/versions")
async def versions_page(request: Request, name: str) -> Response:
    """The versions of ``name``; with ``from`` and ``to``, their diff (``view``: unified or
    side-by-side)."""
    serving, kind = _serving(request, name)
    rows = await run_in_threadpool(_versions, request, name)
    if not rows and serving is None:
        raise HTTPException(
            404, f"no ruleset or playbook {name!r} has ever served; /rules lists them"
        )
    params = request.query_params
    view = params.get("view", "unified")
    if view not in VIEWS:
        view = "unified"
    compare: dict[str, Any] | None = None
    old_hash, new_hash = params.get("from", ""), params.get("to", "")
    if old_hash or new_hash:
        old_hash = _hash("from", old_hash)
        new_hash = _hash("to", new_hash or (serving or ""))
        old = await run_in_threadpool(_content, request, name, old_hash)
        new = await run_in_threadpool(_content, request, name, new_hash)
        compare = {
            "from": old_hash,
            "to": new_hash,
            "same": old["content"] == new["content"],
            "unified": diffview.unified(
                old["content"], new["content"], f"{name}@{old_hash[:12]}", f"{name}@{new_hash[:12]}"
            ),
            "rows": diffview.side_by_side(old["content"], new["content"]),
        }
    elif len(rows) >= 2:  # the latest change, to start with
        old_hash, new_hash = rows[1]["hash"], rows[0]["hash"]
    return render(
        request,
        "versions.html",
        name=name,
        kind=kind or (rows[0]["kind"] if rows else "ruleset"),
        serving=serving,
        versions=rows,
        compare=compare,
        view=view,
        chosen={"from": old_hash, "to": new_hash},
    )


@router.get("/rules/{name}/versions/{version}")
async def version_page(request: Request, name: str, version: str) -> Response:
    """One version's file as it served, with line numbers; ``?raw=1`` the text alone."""
    _hash("version", version)
    row = await run_in_threadpool(_content, request, name, version)
    if request.query_params.get("raw"):
        return PlainTextResponse(row["content"])
    serving, _ = _serving(request, name)
    return render(
        request,
        "version.html",
        name=name,
        version=row,
        lines=row["content"].splitlines(),
        serving=serving == version,
    )
