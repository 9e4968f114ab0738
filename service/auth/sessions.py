"""The signed session cookie, its CSRF token, and the secret key that signs it.

The cookie holds ``{"u": name, "s": session token, "c": csrf token}`` (a visitor who has not
signed in has only ``c``). It is signed, so it cannot be forged without the secret; and the
session it names must also be stored (``UserStore.find_session``, by the SHA-256 of the token),
so a copied cookie stops working when its user signs out, in every worker.

The secret is CASEWISE_SECRET_KEY, or else the key in ``var/secret-key`` (CASEWISE_SECRET_KEY_FILE),
made there once: written to a temporary file of mode 600, fsynced, then hard-linked into place,
which only one of several workers starting together can do; every worker then reads the winner's
key. An empty or short key is refused at start-up (``SecretKeyError``); the key is never logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

from service.engine import CasewiseError
from service.settings import Settings

log = logging.getLogger("casewise.auth")

COOKIE = "casewise_session"
MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf"
# The header a script sends the session's CSRF token in, for a JSON POST with a session cookie.
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = Path("var") / "secret-key"
MIN_SECRET = 32


class SecretKeyError(CasewiseError):
    """The session secret is empty or too short, or its file cannot be made or read."""

    code = "invalid-secret-key"


def session_secret(settings: Settings) -> str:
    """Give the session secret the settings name (CASEWISE_SECRET_KEY, else its file)."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    return secret_key(configured, settings.secret_key_file)


def secret_key(configured: str | None, path: Path = SECRET_FILE) -> str:
    """Give CASEWISE_SECRET_KEY, or the key in ``path``, made there once (mode 600).

    Raises SecretKeyError for a key shorter than MIN_SECRET characters (an empty file too).
    """
    if configured is not None:
        return _checked(configured.strip(), "CASEWISE_SECRET_KEY")
    try:
        return _checked(path.read_text().strip(), str(path))
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SecretKeyError(f"cannot read the session secret {path}: {exc.strerror}") from exc
    if _create(path):
        log.info("CASEWISE_SECRET_KEY is not set: made a session secret in %s", path)
    return _checked(path.read_text().strip(), str(path))


def _checked(key: str, where: str) -> str:
    if len(key) < MIN_SECRET:
        what = "is empty" if not key else f"has {len(key)} characters"
        raise SecretKeyError(
            f"the session secret in {where} {what}; it needs {MIN_SECRET} or more, or anyone "
            f"could sign sessions. Delete the file to have a new one made, or set "
            f"CASEWISE_SECRET_KEY to a random value (e.g. `openssl rand -base64 48`)"
        )
    return key


def _create(path: Path) -> bool:
    """Make ``path`` hold a new random key unless it exists; tell whether this call made it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(48) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link, unlike rename, never replaces: of workers starting together, one wins.
            os.link(temporary, path)
        except FileExistsError:
            return False
        finally:
            temporary.unlink()
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise SecretKeyError(
            f"cannot make the session secret {path}: {exc.strerror}; make its folder writable "
            f"or set CASEWISE_SECRET_KEY"
        ) from exc
    return True


def session_id(token: str) -> str:
    """Give the id a session is stored under: the SHA-256 of its token (never the token)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    """Give a fresh session token."""
    return secrets.token_urlsafe(32)


class Sessions:
    """Reads and writes the session cookie: ``{"u": name, "s": session token, "c": csrf}``.

    ``secure``: ``auto`` marks the cookie ``Secure`` when the request came over HTTPS (as
    uvicorn sees it, also behind a proxy it trusts); ``on`` always.
    """

    def __init__(self, secret: str, secure: Literal["auto", "on"] = "auto") -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="casewise-session")
        self.always_secure = secure == "on"

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

    @staticmethod
    def token(session: dict[str, Any]) -> str | None:
        """Give the session token of a signed-in session (None for a visitor)."""
        token = session.get("s")
        return token if isinstance(token, str) and token else None

    def write(self, response: Response, session: dict[str, Any], secure: bool) -> None:
        """Set the session cookie on ``response`` (HttpOnly, SameSite=Lax, Secure over HTTPS)."""
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(session),
            max_age=MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=secure or self.always_secure,
            path="/",
        )


def new_csrf() -> str:
    """Give a fresh CSRF token."""
    return secrets.token_urlsafe(24)
