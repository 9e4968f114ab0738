"""The admin pages: people (add, role, disable, enable, password), API keys, and every change.

Each change is a POST form answered with a 303 back to its list (post/redirect/get), except a
new or rotated key: its page shows the key this once (``Cache-Control: no-store``) and never
again. A change that cannot be made (a short password, a name that exists, a key already
revoked) re-renders the list with the message next to the form, as a 422. The changes
themselves, and their record, are service/auth/people.py's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from service.auth import people
from service.auth.middleware import principal_of
from service.auth.nudge import nudge
from service.auth.principals import USER_ROLES
from service.auth.store import KEY_ROLES, AuthError
from service.graph.db import Graph
from service.http.deps import get_graph
from service.http.templating import render
from service.web.signin import check_csrf, read_form

router = APIRouter(include_in_schema=False)

# Who made a change in open mode (CASEWISE_AUTH=off), where no one signs in.
OPEN_ADMIN = "admin"
NO_STORE = {"Cache-Control": "no-store"}


def _actor(request: Request) -> str:
    principal = principal_of(request)
    return principal.name if principal is not None else OPEN_ADMIN


async def _graph(request: Request) -> Graph:
    graph: Graph = await run_in_threadpool(get_graph, request)
    return graph


@router.get("/admin")
async def admin_page(request: Request) -> Response:
    """Every recorded change to people and keys: who, when, what; links to both lists."""
    graph = await _graph(request)
    recorded = await run_in_threadpool(people.changes, graph)
    return render(request, "admin.html", changes=recorded, shown=people.SHOWN_CHANGES)


async def _users_page(
    request: Request, status: int = 200, error: dict[str, Any] | None = None
) -> Response:
    graph = await _graph(request)
    users = await run_in_threadpool(people.list_users, graph)
    if error and error["form"] not in {"add-user", *(f"user-{u.name}" for u in users)}:
        error["form"] = "top"  # about a user not listed: shown above the list
    return render(
        request,
        "admin_users.html",
        status=status,
        users=users,
        roles=USER_ROLES,
        error=error,
        me=_actor(request),
    )


@router.get("/admin/users")
async def users_page(request: Request) -> Response:
    """The people who sign in: role, last sign-in, disabled; forms to change each."""
    return await _users_page(request)


async def _user_change(request: Request, form_id: str, change: Any) -> Response:
    """Make ``change(graph, actor, form)``; back to the list, or the list with the error."""
    form = await read_form(request)
    check_csrf(request, form)
    graph = await _graph(request)
    try:
        await run_in_threadpool(change, graph, _actor(request), form)
    except AuthError as exc:
        error = {"form": form_id, "message": exc.message, "values": form}
        return await _users_page(request, 422, error)
    return RedirectResponse(f"/admin/users#{form_id}", status_code=303)


@router.post("/admin/users")
async def add_user(request: Request) -> Response:
    """Add a user with a role and a first password."""

    def change(graph: Graph, actor: str, form: dict[str, str]) -> None:
        people.add_user(
            graph,
            actor,
            form.get("name", "").strip(),
            form.get("role", ""),
            form.get("password", ""),
        )

    return await _user_change(request, "add-user", change)


@router.post("/admin/users/{name}/role")
async def change_role(request: Request, name: str) -> Response:
    """Give the user another role."""

    def change(graph: Graph, actor: str, form: dict[str, str]) -> None:
        people.set_role(graph, actor, name, form.get("role", ""))

    return await _user_change(request, f"user-{name}", change)


@router.post("/admin/users/{name}/disable")
async def disable_user(request: Request, name: str) -> Response:
    """Disable the user: their sessions end at once and they cannot sign in."""

    def change(graph: Graph, actor: str, form: dict[str, str]) -> None:
        people.set_disabled(graph, actor, name, True)

    return await _user_change(request, f"user-{name}", change)


@router.post("/admin/users/{name}/enable")
async def enable_user(request: Request, name: str) -> Response:
    """Let a disabled user sign in again."""

    def change(graph: Graph, actor: str, form: dict[str, str]) -> None:
        people.set_disabled(graph, actor, name, False)

    return await _user_change(request, f"user-{name}", change)


@router.post("/admin/users/{name}/password")
async def reset_password(request: Request, name: str) -> Response:
    """Set the user's password (their sessions end: they sign in with the new one)."""

    def change(graph: Graph, actor: str, form: dict[str, str]) -> None:
        people.reset_password(graph, actor, name, form.get("password", ""))

    return await _user_change(request, f"user-{name}", change)


async def _keys_page(
    request: Request,
    status: int = 200,
    error: dict[str, Any] | None = None,
    shown: dict[str, str] | None = None,
) -> Response:
    graph = await _graph(request)
    keys = await run_in_threadpool(people.list_keys, graph)
    if error and error["form"] not in {"create-key", *(f"key-{k.id}" for k in keys)}:
        error["form"] = "top"  # about a key not listed: shown above the list
    response = render(
        request,
        "admin_keys.html",
        status=status,
        keys=keys,
        roles=KEY_ROLES,
        error=error,
        shown=shown,
    )
    if shown is not None:
        response.headers.update(NO_STORE)
    return response


@router.get("/admin/keys")
async def keys_page(request: Request) -> Response:
    """The API keys: name, role, rulesets, created, last used (never the secret)."""
    return await _keys_page(request)


@router.post("/admin/keys")
async def create_key(request: Request) -> Response:
    """Create a key and show it this once."""
    form = await read_form(request)
    check_csrf(request, form)
    graph = await _graph(request)
    name = form.get("name", "").strip()
    rulesets = [r.strip() for r in form.get("rulesets", "").split(",") if r.strip()]
    role = form.get("role", "system")
    try:
        key = await run_in_threadpool(people.new_key, graph, _actor(request), name, rulesets, role)
    except AuthError as exc:
        error = {"form": "create-key", "message": exc.message, "values": form}
        return await _keys_page(request, 422, error)
    return await _keys_page(request, shown={"key": key, "name": name, "what": "created"})


@router.post("/admin/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    """Revoke the key: the next request with it answers 401."""
    form = await read_form(request)
    check_csrf(request, form)
    graph = await _graph(request)
    try:
        await run_in_threadpool(people.revoke_key, graph, _actor(request), key_id)
    except AuthError as exc:
        error = {"form": f"key-{key_id}", "message": exc.message, "values": form}
        return await _keys_page(request, 422, error)
    request.app.state.auth.keys.clear()  # this worker at once
    nudge(request.app.state.settings.spool_dir)  # this machine's other workers at once
    return RedirectResponse(f"/admin/keys#key-{key_id}", status_code=303)


@router.post("/admin/keys/{key_id}/rotate")
async def rotate_key(request: Request, key_id: str) -> Response:
    """Give a new key in the old one's place (shown this once); the old one stops at once."""
    form = await read_form(request)
    check_csrf(request, form)
    graph = await _graph(request)
    try:
        key = await run_in_threadpool(people.rotate_key, graph, _actor(request), key_id)
    except AuthError as exc:
        error = {"form": f"key-{key_id}", "message": exc.message, "values": form}
        return await _keys_page(request, 422, error)
    request.app.state.auth.keys.clear()
    nudge(request.app.state.settings.spool_dir)
    return await _keys_page(request, shown={"key": key, "name": key_id, "what": "rotated"})
