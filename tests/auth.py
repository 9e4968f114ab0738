"""Signing tests in: users of every role and an API key, and clients that use them.

``STORE`` is an in-memory user store for apps without a graph; ``seed`` puts the same users
(under a prefix) into any store, Neo4j's included. Every user has the password ``PASSWORD``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import create_app
from service.auth import MemoryStore, UserStore
from service.auth.principals import USER_ROLES
from service.auth.sessions import COOKIE
from service.auth.store import add_user, create_key
from service.engine import Registry
from service.settings import Settings

PASSWORD = "a password for tests"
ROLES = ("system", "expert", "author", "admin", "anonymous")


def seed(store: UserStore, prefix: str = "") -> str:
    """Add ``{prefix}{role}`` for every user role; give an API key for every ruleset."""
    for role in USER_ROLES:
        add_user(store, f"{prefix}{role}", role, PASSWORD)
    return create_key(store, f"{prefix}system", ["*"])


@functools.cache
def memory() -> tuple[MemoryStore, str]:
    """The shared in-memory store and its key (hashing is slow: made once)."""
    store = MemoryStore()
    return store, seed(store)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    """Sign ``client`` in as ``name`` through the sign-in form; give it back."""
    page = client.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    form = {"name": name, "password": password, "csrf": token.group(1), "next": "/"}
    response = client.post("/signin", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    # As a script with a session would: the JSON API takes a cookie only with its CSRF token.
    client.headers["X-CSRF-Token"] = csrf(client)
    return client


def csrf(client: TestClient) -> str:
    """Give the CSRF token of the client's session (what every POST form carries)."""
    app: Any = client.app
    token: str = app.state.auth.sessions.decode(client.cookies[COOKIE])["c"]
    return token


def as_role(client: TestClient, role: str, key: str | None = None, prefix: str = "") -> TestClient:
    """Make ``client`` act as ``role``: a system key header, a signed-in user, or no one."""
    if role == "system":
        client.headers["Authorization"] = f"Bearer {key or memory()[1]}"
    elif role != "anonymous":
        sign_in(client, f"{prefix}{role}")
    return client


def make_app(settings: Settings, registry: Registry | None = None) -> FastAPI:
    """The app with the in-memory users."""
    return create_app(settings, registry, users=memory()[0])


def make_client(
    settings: Settings, registry: Registry | None = None, role: str = "system", **kwargs: Any
) -> TestClient:
    """A client of the app (in-memory users) acting as ``role``."""
    return as_role(TestClient(make_app(settings, registry), **kwargs), role)


def system_key() -> dict[str, str]:
    """The header of the shared in-memory key, for one request of a signed-in client."""
    return {"Authorization": f"Bearer {memory()[1]}"}
