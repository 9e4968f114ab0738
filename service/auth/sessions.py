"""The signed session cookie, its CSRF token, and the secret key that signs it."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

from service.auth.principals import USER_ROLES, Principal

log = logging.getLogger("casewise.auth")

COOKIE = "casewise_session"
MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf"
SECRET_FILE = Path("var") / "secret-key"


def secret_key(configured: str | None, path: Path = SECRET_FILE) -> str:
    """Give CASEWISE_SECRET_KEY, or the key in ``path``, made there on first use (mode 600)."""
    if configured:
        return configured
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    log.info("CASEWISE_SECRET_KEY is not set: made a session secret in %s", path)
    return key


class Sessions:
    """Reads and writes the session cookie: ``{"u": name, "r": role, "c": csrf token}``."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="casewise-session")

    def read(self, connection: HTTPConnection) -> dict[str, Any]:
        """Give the session of the request, empty when there is none or it is not valid."""
        raw = connection.cookies.get(COOKIE)
        return self.decode(raw) if raw else {}

    def decode(self, raw: str) -> dict[str, Any]:
        """Give the session a cookie value holds, empty when it is not valid."""
        try:
            data = self._serializer.loads(raw, max_age=MAX_AGE)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def principal(self, session: dict[str, Any]) -> Principal | None:
        """Give the signed-in user of the session, if any."""
        name, role = session.get("u"), session.get("r")
        if isinstance(name, str) and role in USER_ROLES:
            return Principal(name, role)
        return None

    def write(self, response: Response, session: dict[str, Any], secure: bool) -> None:
        """Set the session cookie on ``response`` (HttpOnly, SameSite=Lax)."""
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(session),
            max_age=MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )


def new_csrf() -> str:
    """Give a fresh CSRF token."""
    return secrets.token_urlsafe(24)
