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
MAX_VALUE = 2000  # characters of a typed value kept for the form again
VALUES_BYTES = 2400
"""Bytes (UTF-8) of all the typed values kept: a browser drops a cookie past about 4 KB, and
the message with it."""


def _session(request: Request) -> dict[str, Any] | None:
    session: dict[str, Any] | None = request.scope.get("state", {}).get("session")
    return session


def _write(request: Request, response: Response, session: dict[str, Any]) -> None:
    auth = getattr(request.app.state, "auth", None)
    if auth is not None:
        auth.sessions.write(response, session, request.url.scheme == "https")


def _kept(values: dict[str, str]) -> dict[str, str]:
    """Give the typed values to keep, within MAX_VALUE characters each and VALUES_BYTES in all:
    the shortest first (a choice, a name), so that only a long text is ever cut."""
    left = VALUES_BYTES
    kept = {}
    for key, value in sorted(values.items(), key=lambda kv: len(kv[1].encode())):
        if key == "csrf":
            continue
        text = value[:MAX_VALUE].encode()[: max(left, 0)].decode(errors="ignore")
        kept[key] = text
        left -= len(text.encode())
    return kept


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
    ``autofocus`` only on an address without a fragment (static/focus.js then does it), so one
    is added only when there is no session to carry the message (the card is then in view).
    """
    session = _session(request)
    location = f"/cases/{case_id}" if session is not None else f"/cases/{case_id}#{card}"
    response = RedirectResponse(location, status_code=303)
    if session is not None:
        kept = _kept(values or {})
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
