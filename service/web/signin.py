"""Signing in and out: a form of name and password, answered with the signed session cookie.

Signing in stores a session (``UserStore.save_session``) that the cookie names; signing out
deletes it, so a copy of the cookie stops working too. Failed sign-ins are counted per address
and per name (service/auth/throttle.py): past the limit, even the right password gets a 429 page
until Retry-After has passed, and no password is hashed for it.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from service.api.errors import ApiError
from service.auth.middleware import Auth, client_of, session_of
from service.auth.sessions import CSRF_FIELD, MAX_AGE, new_csrf, new_session_token, session_id
from service.auth.store import find_user, verify_password
from service.auth.throttle import too_many
from service.graph.db import GraphError
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


# What a browser may read as another host, or drops from a URL before reading it.
_NOT_LOCAL = re.compile(r"[\\\x00-\x1f\x7f]")


def _safe_next(target: str) -> str:
    """Give ``target`` if it is a path of this site, else ``/``.

    Never another host: not ``//evil``, ``https://evil``, ``/\\evil`` (browsers read a backslash
    as a slash), nor any of these percent-encoded or with tabs or newlines that browsers drop.
    """
    decoded = target
    for _ in range(3):  # %252F... is %2F once decoded, / twice
        decoded = unquote(decoded)
    for form in (target, decoded):
        parts = urlsplit(form)
        if (
            not form.startswith("/")
            or form.startswith("//")
            or _NOT_LOCAL.search(form)
            or parts.scheme
            or parts.netloc
        ):
            return "/"
    return target


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
    """Check name and password; sign in and go to ``next``, or show the form again (401, 429)."""
    form = await read_form(request)
    check_csrf(request, form)
    auth = _auth(request)
    target = _safe_next(form.get("next", "/"))
    store = auth.store
    if store is None:
        raise ApiError(
            503,
            "auth-unavailable",
            "no user store: set NEO4J_URI to the graph that holds the users",
        )
    name = form.get("name", "").strip()
    # Counted under (at most 200 characters of) the name asked for, whether or not it exists.
    throttle, client, account = auth.throttle, client_of(request), f"user:{name[:200]}"

    def refused(seconds: int) -> Response:
        page = render(
            request, "signin.html", status=429, next=target, error=too_many(seconds), name=name
        )
        page.headers["Retry-After"] = str(seconds)
        return page

    wait = throttle.retry_after(client, account)
    if wait is not None:
        return refused(wait)
    record = await run_in_threadpool(find_user, store, name)
    async with throttle.slot():
        # Checked again: failures counted while this one waited for its slot count too.
        wait = throttle.retry_after(client, account)
        if wait is not None:
            return refused(wait)
        user = await throttle.hash_check(verify_password, record, form.get("password", ""))
    if user is None:
        throttle.failed(client, account)
        page = render(
            request,
            "signin.html",
            status=401,
            next=target,
            error="The name or the password is not right.",
            name=name,
        )
        return page
    token = new_session_token()
    await run_in_threadpool(store.save_session, session_id(token), user.name, MAX_AGE)
    # A new CSRF token with the new session, so a token seen before signing in is useless.
    session = {"u": user.name, "s": token, "c": new_csrf()}
    return _with_session(request, RedirectResponse(target, status_code=303), session)


@router.post("/signout")
async def signout(request: Request) -> Response:
    """End the session, here and in the store (a copy of the cookie ends too); to sign-in."""
    form = await read_form(request)
    check_csrf(request, form)
    auth = _auth(request)
    token = auth.sessions.token(session_of(request))
    if token is not None and auth.store is not None:
        try:
            await run_in_threadpool(auth.store.delete_session, session_id(token))
        except GraphError as exc:
            raise ApiError(
                503,
                "auth-unavailable",
                f"cannot end the session: {exc}; it still works, so sign out again",
            ) from exc
    response = RedirectResponse("/signin", status_code=303)
    return _with_session(request, response, {"c": new_csrf()})
