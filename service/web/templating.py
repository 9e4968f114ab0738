"""The one template environment of the pages (autoescape on) and the context every page gets."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    """Give the context of a page: what every page needs, then the page's own values.

    Every page gets the signed-in user (``current_user``, None when no one is) and the
    session's CSRF token (``csrf_token``) that every POST form carries.
    """
    state = request.scope.get("state", {})
    return {
        "request": request,
        "nav": request.url.path,
        "current_user": state.get("principal"),
        "csrf_token": state.get("session", {}).get("c", ""),
        **values,
    }


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Give the HTML response of ``template`` filled with the page context.

    A visitor without a CSRF token (no session yet, or open mode) gets one here, in a new
    session cookie, so the page's forms carry it.
    """
    state = request.scope.setdefault("state", {})
    session = state.get("session")
    auth = getattr(request.app.state, "auth", None)
    fresh = session is not None and auth is not None and not session.get("c")
    if fresh:
        state["session"] = {**session, "c": secrets.token_urlsafe(24)}
    html = environment.get_template(template).render(context(request, values))
    # Text stored before the edge refused lone surrogates still renders (as \udXXX escapes).
    response = HTMLResponse(html.encode("utf-8", "backslashreplace"), status_code=status)
    if fresh and auth is not None:
        auth.sessions.write(response, state["session"], request.url.scheme == "https")
    return response
