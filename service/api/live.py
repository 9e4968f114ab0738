"""Routes of rules that change while Casewise runs: reload, status, versions and diffs.

``POST /v1/rulesets/reload`` reloads now; ``GET /v1/rulesets/status`` gives every rule file's
last load (refused files whose name is unknown included), ``GET /v1/rulesets/{name}/status``
one ruleset's. The versions that ever served are read from Neo4j (and from the spool while
they wait for it): listed, fetched, and compared as a unified diff.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from service.api.errors import ApiError
from service.api.reloading import Reloader
from service.api.responses import JSON
from service.api.rulesets import may_see
from service.auth.middleware import principal_of
from service.engine.livefiles import FileStatus
from service.graph.db import GraphHandle
from service.graph.versions import Kept, VersionKeeper, VersionNotFound, get_version, list_versions

router = APIRouter(tags=["rulesets"])

HASH = re.compile(r"[0-9a-f]{64}")


def _reloader(request: Request) -> Reloader:
    reloader: Reloader = request.app.state.reloader
    return reloader


def _statuses(request: Request) -> list[FileStatus]:
    reloader = _reloader(request)
    return reloader.registry.statuses() + reloader.playbooks.statuses()


@router.post("/v1/rulesets/reload", summary="Reload the rule files and playbooks now")
async def reload(request: Request) -> JSON:
    """Load what changed, swap it in, and give each file's outcome.

    Outcomes: ``new``, ``changed``, ``unchanged``, ``refused`` (with its errors; the last good
    version keeps serving) or ``retired`` (the file is gone).
    """
    return JSON(await run_in_threadpool(_reloader(request).reload))


@router.get("/v1/rulesets/status", summary="The load status of every rule file")
async def all_status(request: Request) -> JSON:
    """Give every ruleset, playbook and catalogue file: state, version serving, errors.

    A key sees only the files of its rulesets (and of playbooks it names)."""
    reloader = _reloader(request)
    principal = principal_of(request)

    def listed(statuses: list[FileStatus]) -> list[dict[str, Any]]:
        return [s.to_dict() for s in statuses if may_see(principal, s.name)]

    return JSON(
        {
            "rulesets": listed(reloader.registry.statuses()),
            "playbooks": listed(reloader.playbooks.statuses()),
        }
    )


@router.get("/v1/rulesets/{name}/status", summary="The load status of one ruleset")
async def status(request: Request, name: str) -> JSON:
    """Give the version serving, the state, the last attempt and its errors."""
    files = [s for s in _statuses(request) if s.name == name]
    if not files:
        raise ApiError(
            404,
            "not-found",
            f"no rule file names ruleset {name!r}; GET /v1/rulesets/status lists them",
        )
    main = next((s for s in files if s.version is not None), files[0])
    return JSON({**main.to_dict(), "files": [s.to_dict() for s in files]})


def _serving(request: Request, name: str) -> str | None:
    reloader = _reloader(request)
    for registry in (reloader.registry.files, reloader.playbooks.files):
        ruleset = registry.get(name)
        if ruleset is not None:
            return ruleset.version
    return None


def _keeper(request: Request) -> VersionKeeper | None:
    return _reloader(request).keeper


def _known(request: Request, name: str) -> bool:
    return any(s.name == name for s in _statuses(request))


def _row(kept: Kept, *, content: bool = False) -> dict[str, Any]:
    """A version waiting in the spool, as the stored ones are given."""
    row = {"hash": kept.hash, "kind": kept.kind, "path": kept.path,
           "first_served_at": kept.at, "last_served_at": kept.at}  # fmt: skip
    return {**row, "content": kept.content} if content else row


def _versions(request: Request, name: str) -> list[dict[str, Any]]:
    handle: GraphHandle = request.app.state.graph
    stored = {row["hash"]: row for row in list_versions(handle.prepare(), name)}
    keeper = _keeper(request)
    for kept in keeper.pending() if keeper else []:
        if kept.name == name and kept.hash not in stored:
            stored[kept.hash] = _row(kept)
    return sorted(stored.values(), key=lambda r: r["first_served_at"] or "", reverse=True)


@router.get("/v1/rulesets/{name}/versions", summary="Every version of a ruleset that served")
async def versions(request: Request, name: str) -> JSON:
    """Give the versions, newest first: hash, first and last served, whether it serves now."""
    rows = await run_in_threadpool(_versions, request, name)
    if not rows and not _known(request, name):
        raise ApiError(404, "not-found", f"no ruleset or playbook {name!r} has ever served")
    serving = _serving(request, name)
    items = [{**row, "serving": row["hash"] == serving} for row in rows]
    return JSON({"name": name, "serving": serving, "versions": items})


def _check_hash(field: str, value: str) -> str:
    if not HASH.fullmatch(value):
        detail = {
            "field": field,
            "message": "a version is 64 lower-case hex digits",
            "value": value,
        }
        raise ApiError(422, "invalid-input", f"invalid {field}: {detail['message']}", [detail])
    return value


def _content(request: Request, name: str, version: str) -> dict[str, Any]:
    keeper = _keeper(request)
    for kept in keeper.pending() if keeper else []:
        if kept.hash == version and kept.name == name:
            return _row(kept, content=True)
    handle: GraphHandle = request.app.state.graph
    try:
        return get_version(handle.prepare(), name, version)
    except VersionNotFound as exc:
        raise ApiError(404, "not-found", str(exc)) from None


@router.get("/v1/rulesets/{name}/versions/{version}", summary="One version's rule file")
async def version(request: Request, name: str, version: str) -> JSON:
    """Give the rule file's text exactly as it was when that version served."""
    _check_hash("version", version)
    row = await run_in_threadpool(_content, request, name, version)
    return JSON({"name": name, **row, "serving": version == _serving(request, name)})


@router.get("/v1/rulesets/{name}/diff", summary="What changed between two versions")
async def diff(
    request: Request,
    name: str,
    from_: Annotated[str, Query(alias="from", description="The older version's hash.")],
    to: Annotated[str | None, Query(description="The newer version; default: serving.")] = None,
) -> JSON:
    """Give the unified diff from one version of the rule file to another."""
    _check_hash("from", from_)
    if to is None:
        to = _serving(request, name)
        if to is None:
            detail = {"field": "to", "message": f"{name!r} serves no version now; give to=HASH"}
            raise ApiError(422, "invalid-input", detail["message"], [detail])
    _check_hash("to", to)
    old = await run_in_threadpool(_content, request, name, from_)
    new = await run_in_threadpool(_content, request, name, to)
    lines = difflib.unified_diff(
        old["content"].splitlines(keepends=True),
        new["content"].splitlines(keepends=True),
        fromfile=f"{name}@{from_[:12]}",
        tofile=f"{name}@{to[:12]}",
    )
    return JSON({"name": name, "from": from_, "to": to, "diff": "".join(lines)})
