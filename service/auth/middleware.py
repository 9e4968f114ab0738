"""Checks every request against the policy: an API key or a signed-in session with the role.

=====  =================  ===========================================================
 401   unauthenticated    no key or session (a browser asking for a page is sent to /signin)
 403   forbidden          the caller's role may not call the route, or the key is not for
                          the ruleset
 503   auth-unavailable   no user store: NEO4J_URI unset and CASEWISE_AUTH not ``off``
=====  =================  ===========================================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import error_object, prefers_html, respond
from service.auth.policy import POLICY, Policy
from service.auth.principals import Principal
from service.auth.sessions import Sessions
from service.auth.store import KeyCache, UserStore, check_key
from service.graph.db import GraphError

log = logging.getLogger("casewise.auth")

BEARER = "bearer "


@dataclass
class Auth:
    """What the service authenticates with: the store (None: none configured) and sessions."""

    store: UserStore | None
    sessions: Sessions
    enabled: bool = True
    keys: KeyCache = field(default_factory=KeyCache)


def principal_of(request: Request) -> Principal | None:
    """Give the caller the middleware identified (None in open mode or on a public route)."""
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    return principal


def session_of(request: Request) -> dict[str, Any]:
    """Give the request's session (its user and CSRF token), empty without one."""
    session: dict[str, Any] = request.scope.get("state", {}).get("session", {})
    return session


class AuthMiddleware:
    """Lets a request through only if the caller's role may call its route."""

    def __init__(self, app: ASGIApp, auth: Auth, policy: Policy = POLICY) -> None:
        self.app = app
        self.auth = auth
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self.policy.find(scope["method"], scope["path"])
        key = _bearer(scope)
        state = scope.setdefault("state", {})
        principal = None
        if found is None or found[0].roles is None or not self.auth.enabled:
            # Public, open, or no such route (404 or 405): only the pages' session matters,
            # for the header that shows who is signed in and the CSRF token of the forms.
            if not scope["path"].startswith("/static/"):
                session = self.auth.sessions.read(Request(scope))
                state["session"] = session
                state["principal"] = self.auth.sessions.principal(session)
            await self.app(scope, receive, send)
            return
        rule, params = found
        request = Request(scope)
        if self.auth.store is None:
            error = error_object(
                "auth-unavailable",
                "no user store: set NEO4J_URI to the graph that holds users and keys, "
                "or CASEWISE_AUTH=off to serve without sign-in (development only)",
            )
            await respond(request, 503, error)(scope, receive, send)
            return
        if key is not None:
            principal = self.auth.keys.get(key)
            if principal is None:
                try:
                    principal = await run_in_threadpool(check_key, self.auth.store, key)
                except GraphError as exc:
                    status = exc.status if exc.status != 500 else 503
                    error = error_object("auth-unavailable", f"cannot check the key: {exc}")
                    await respond(request, status, error)(scope, receive, send)
                    return
                if principal is not None:
                    self.auth.keys.put(key, principal)
        else:
            session = self.auth.sessions.read(request)
            state["session"] = session
            principal = self.auth.sessions.principal(session)
        if principal is None:
            await self._unauthenticated(request, key is not None)(scope, receive, send)
            return
        state["principal"] = principal
        assert rule.roles is not None
        if principal.role not in rule.roles:
            roles = ", ".join(sorted(rule.roles))
            message = (
                f"{principal.name} ({principal.role}) may not {scope['method']} "
                f"{scope['path']}; it needs the role {roles}"
            )
            await respond(request, 403, error_object("forbidden", message))(scope, receive, send)
            return
        if rule.scoped and not principal.may_use(str(params.get(rule.scoped, ""))):
            message = (
                f"the key {principal.name!r} is not for ruleset "
                f"{params.get(rule.scoped)!r}; create a key with --rulesets naming it"
            )
            await respond(request, 403, error_object("forbidden", message))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _unauthenticated(request: Request, had_key: bool) -> Any:
        if not had_key and request.method == "GET" and prefers_html(request):
            query = f"?{request.url.query}" if request.url.query else ""
            target = quote(request.url.path + query)
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        message = (
            "the API key is not valid; create one with `casewise keys create`"
            if had_key
            else "sign in at /signin, or send an API key as 'Authorization: Bearer cw_...'"
        )
        headers = {"WWW-Authenticate": "Bearer"}
        return respond(request, 401, error_object("unauthenticated", message), headers)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            if text[: len(BEARER)].lower() == BEARER:
                return text[len(BEARER) :].strip()
    return None
