"""Signing in and out: a form of name and password, answered with the signed session cookie."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from service.api.errors import ApiError
from service.auth.middleware import Auth, session_of
from service.auth.sessions import CSRF_FIELD, new_csrf
from service.auth.store import check_password
from service.web.templating import render

router = APIRouter(include_in_schema=False)


async def read_form(request: Request) -> dict[str, str]:
    """Give the fields of a url-encoded form (the last value of a repeated field)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def check_csrf(request: Request, form: dict[str, str]) -> None:
    """Raise a 403 unless the form carries the CSRF token of the request's session."""
    expected = session_of(request).get("c")
    given = form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not given or not secrets.compare_digest(expected, given):
        raise ApiError(
            403,
            "csrf-failed",
            "the form's CSRF token is missing or out of date; reload the page and send it again",
        )


def _safe_next(target: str) -> str:
    # Only a path of this site, never another host (//evil.example or https://...).
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


def _with_session(request: Request, response: Response, session: dict[str, Any]) -> Response:
    _auth(request).sessions.write(response, session, request.url.scheme == "https")
    return response


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    """The sign-in form (``render`` starts a session without a user for its CSRF token)."""
    target = _safe_next(request.query_params.get("next", "/"))
    return render(request, "signin.html", next=target, error=None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check name and password; sign in and go to ``next``, or show the form again (401)."""
    form = await read_form(request)
    check_csrf(request, form)
    auth = _auth(request)
    target = _safe_next(form.get("next", "/"))
    if auth.store is None:
        raise ApiError(
            503,
            "auth-unavailable",
            "no user store: set NEO4J_URI to the graph that holds the users",
        )
    name = form.get("name", "").strip()
    user = await run_in_threadpool(check_password, auth.store, name, form.get("password", ""))
    if user is None:
        page = render(
            request,
            "signin.html",
            status=401,
            next=target,
            error="The name or the password is not right.",
            name=name,
        )
        return page
    # A new CSRF token with the new session, so a token seen before signing in is useless.
    session = {"u": user.name, "r": user.role, "c": new_csrf()}
    return _with_session(request, RedirectResponse(target, status_code=303), session)


@router.post("/signout")
async def signout(request: Request) -> Response:
    """End the session; back to the sign-in page."""
    form = await read_form(request)
    check_csrf(request, form)
    response = RedirectResponse("/signin", status_code=303)
    return _with_session(request, response, {"c": new_csrf()})
