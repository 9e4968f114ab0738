"""What a form's redirect tells the page it lands on: done, or refused and why (post/redirect/get).

Every page form answers with a 303 to the case page; what happened rides along in the signed
session cookie (``"f"``), for that one case page, is shown at the form's card (focused) and is
dropped once shown.
So the address bar never stays on a POST path, reloading shows the page (not a 405), and a
refused form comes back at its card with the message and what was typed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

FLASH = "f"
MAX_VALUE = 2000  # a typed value kept for the form again (the cookie must stay small)


def _session(request: Request) -> dict[str, Any] | None:
    session: dict[str, Any] | None = request.scope.get("state", {}).get("session")
    return session


def _write(request: Request, response: Response, session: dict[str, Any]) -> None:
    auth = getattr(request.app.state, "auth", None)
    if auth is not None:
        auth.sessions.write(response, session, request.url.scheme == "https")


def redirect(
    request: Request,
    case_id: str,
    card: str,
    *,
    done: str | None = None,
    error: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """Give a 303 to the case page, with what happened for it to show at ``card``.

    The page focuses the message (``autofocus``), which also scrolls to it; a browser honours
    ``autofocus`` only on an address without a fragment, so one is added only when there is
    no session to carry the message (the card is then at least in view).
    """
    session = _session(request)
    location = f"/cases/{case_id}" if session is not None else f"/cases/{case_id}#{card}"
    response = RedirectResponse(location, status_code=303)
    if session is not None:
        kept = {k: v[:MAX_VALUE] for k, v in (values or {}).items() if k != "csrf"}
        flash = {"case": case_id, "card": card, "done": done, "error": error, "values": kept}
        _write(request, response, {**session, FLASH: flash})
    return response


def take(request: Request, case_id: str) -> dict[str, Any] | None:
    """Give what the last form on this case's page left to show (once), else None."""
    session = _session(request)
    flash = session.get(FLASH) if session else None
    if not isinstance(flash, dict) or flash.get("case") != case_id:
        return None
    return flash


def forget(request: Request, response: Response) -> None:
    """Drop the shown flash from the session cookie of ``response``."""
    session = _session(request)
    if session is not None and FLASH in session:
        _write(request, response, {k: v for k, v in session.items() if k != FLASH})
