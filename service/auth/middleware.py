"""Checks every request against the policy: an API key or a signed-in session with the role.

=====  ==================  ==========================================================
 401   unauthenticated     no key or session, a key that is not valid, a session that ended
                           (a browser asking for a page is sent to /signin)
 403   forbidden           the caller's role may not call the route, the key is not for the
                           ruleset, or the route has no rule in the policy (no one may call it)
 403   csrf-failed         a session cookie on a request that changes something, without the
                           session's CSRF token (X-CSRF-Token) or a same-site Origin/Referer
 429   too-many-attempts   too many failed keys or sign-ins from the address or for the
                           account (service/auth/throttle.py); Retry-After says how long
 503   auth-unavailable    no user store: NEO4J_URI unset and CASEWISE_AUTH not ``off``
=====  ==================  ==========================================================

A route with no rule is refused to everyone (deny by default); a path the app does not serve
still gets its 404 or 405 from the app.

A key that verified is cached by the worker (``KeyCache``, 60 s), so a decision costs no
Neo4j read and no hash; the requests that come with a key while it is being checked (at first,
and when its cached check expired unused) wait for that one check. A key used in the last
quarter of its cache time is checked again in the background while it is still served
(refresh-ahead), so a key in steady use never makes a request wait for its hash; a key that no
longer checks is dropped then. Revoking, rotating or
disabling bumps the store's generation (``service.auth.people``); each worker reads it at most
every ``GENERATION_SECONDS`` (off the event loop) and drops keys verified under an older one, so
a revoked key stops working in every worker within that bound (at once in the worker that
revoked it).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from service.auth.nudge import Watch
from service.auth.policy import POLICY, Policy, Rule
from service.auth.principals import Principal
from service.auth.sessions import CSRF_HEADER, Sessions, session_id
from service.auth.store import KeyCache, UserStore, parse_key, verify_key
from service.auth.throttle import Throttle, too_many
from service.graph.db import GraphError
from service.http.errors import error_object, prefers_html, respond

log = logging.getLogger("casewise.auth")

BEARER = "bearer "
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Public paths that never look at the session: probes and static files answer fast, always.
NO_SESSION = ("/static/", "/healthz", "/readyz")
GENERATION_SECONDS = 1.0
"""How long a worker trusts the generation it read: a key revoked elsewhere stops within it."""
FOUND_KEPT = 4096
"""How many (method, path) rules a worker remembers before it starts again."""


class Generation:
    """The store's count of changes that took a right away, read at most every ``seconds``,
    and at once when this machine's nudge file moved (``service.auth.nudge``).

    One read at a time per worker, in a thread; requests that come meanwhile wait for it. When
    the store cannot answer, the last count stands (a revocation needs the store too) and the
    read is tried again after ``seconds``.
    """

    def __init__(self, seconds: float = GENERATION_SECONDS, watch: Watch | None = None) -> None:
        self.seconds = seconds
        self.watch = watch  # this machine's nudge file: when it moves, read at once
        self.value: int | None = None
        self._read_at = -float("inf")
        self._reading: tuple[asyncio.AbstractEventLoop, asyncio.Future[int | None]] | None = None

    def known(self, store: UserStore) -> tuple[bool, int | None]:
        """Give (True, the store's generation) when it needs no read now, else (False, None)."""
        if getattr(store, "generation", None) is None:
            return True, None
        if self.watch is not None and self.watch.moved():
            self._read_at = -float("inf")  # read at the next ``current``
            return False, None
        if time.monotonic() - self._read_at < self.seconds:
            return True, self.value
        return False, None

    async def current(self, store: UserStore) -> int | None:
        """Give the store's generation (None for a store without one, e.g. in memory)."""
        fresh, value = self.known(store)
        if fresh:
            return value
        read: Callable[[], int] = store.generation  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        if self._reading is not None and self._reading[0] is loop:
            return await asyncio.shield(self._reading[1])
        future: asyncio.Future[int | None] = loop.create_future()
        self._reading = (loop, future)
        try:
            self.value = await run_in_threadpool(read)
        except GraphError as exc:
            log.warning("cannot read the key generation (%s); the cached keys stand", exc)
        finally:
            self._read_at = time.monotonic()
            self._reading = None
            future.set_result(self.value)
        return self.value


@dataclass
class Auth:
    """What the service authenticates with: the store (None: none configured) and sessions."""

    store: UserStore | None
    sessions: Sessions
    enabled: bool = True
    keys: KeyCache = field(default_factory=KeyCache)
    throttle: Throttle = field(default_factory=Throttle)
    generation: Generation = field(default_factory=Generation)


class Refused(Exception):
    """A request the middleware answers itself, with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def principal_of(request: Request) -> Principal | None:
    """Give the caller the middleware identified (None in open mode or on a public route)."""
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    return principal


def session_of(request: Request) -> dict[str, Any]:
    """Give the request's session (its user and CSRF token), empty without one."""
    session: dict[str, Any] = request.scope.get("state", {}).get("session", {})
    return session


def client_of(request: Request) -> str:
    """Give the caller's address (uvicorn puts a trusted proxy's X-Forwarded-For there)."""
    return request.client.host if request.client else "unknown"


def too_many_attempts(request: Request, seconds: int) -> Response:
    """Give the 429 answer to an attempt refused by the throttle."""
    error = error_object("too-many-attempts", too_many(seconds), [{"retry_after": seconds}])
    return respond(request, 429, error, {"Retry-After": str(seconds)})


class AuthMiddleware:
    """Lets a request through only if the caller's role may call its route."""

    def __init__(self, app: ASGIApp, auth: Auth, policy: Policy = POLICY) -> None:
        self.app = app
        self.auth = auth
        self.policy = policy
        self._found: dict[tuple[str, str], tuple[Rule, dict[str, Any]]] = {}
        # keys being checked now, by KeyCache digest: (loop, generation, the check's principal)
        self._checking: dict[
            bytes, tuple[asyncio.AbstractEventLoop, int | None, asyncio.Future[Principal | None]]
        ] = {}
        self._refreshing: set[asyncio.Task[None]] = set()  # kept until done (refresh-ahead)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self._find(scope["method"], scope["path"])
        if found is not None and self._cached_key(scope, found):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            await self._check(request, found)
        except Refused as refused:
            await refused.response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _find(self, method: str, path: str) -> tuple[Rule, dict[str, Any]] | None:
        """Give the policy's rule of a request, remembered by method and path (a few
        thousand at most: paths come from clients)."""
        found = self._found.get((method, path))
        if found is None:
            found = self.policy.find(method, path)
            if found is not None:
                if len(self._found) >= FOUND_KEPT:
                    self._found.clear()
                self._found[(method, path)] = found
        return found

    def _cached_key(self, scope: Scope, found: tuple[Rule, dict[str, Any]]) -> bool:
        """Tell whether the request carries a key this worker verified lately, under the
        store's current generation, that may call the route (its principal then in the
        state): the common API request, checked without a coroutine. Anything else, refusals
        included, is left to ``_check``."""
        auth = self.auth
        rule, params = found
        if rule.roles is None or not auth.enabled or auth.store is None:
            return False
        key = _bearer(scope)
        if key is None:
            return False
        fresh, generation = auth.generation.known(auth.store)
        if not fresh:
            return False
        digest = KeyCache.digest(key)
        cached = auth.keys.cached(digest, generation)
        if cached is None:
            return False
        principal, due = cached
        if principal.role not in rule.roles:
            return False
        if rule.scoped and not principal.may_use(str(params.get(rule.scoped, ""))):
            return False
        if due:
            self._refresh_ahead(key, digest, generation)
        scope.setdefault("state", {})["principal"] = principal
        return True

    def _refresh_ahead(self, key: str, digest: bytes, generation: int | None) -> None:
        """Start checking a cached key again in the background, unless a check of it runs."""
        if digest in self._checking:
            return
        loop = asyncio.get_running_loop()
        check: asyncio.Future[Principal | None] = loop.create_future()
        self._checking[digest] = (loop, generation, check)  # requests meanwhile share it
        task = loop.create_task(self._refresh(key, digest, generation, check))
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    async def _refresh(
        self,
        key: str,
        digest: bytes,
        generation: int | None,
        check: asyncio.Future[Principal | None],
    ) -> None:
        """Check a cached key again: cache it anew, or drop it if it no longer checks. When
        the store cannot answer, the cached check stands until it expires."""
        auth, parts = self.auth, parse_key(key)
        principal: Principal | None = None
        try:
            if auth.store is None or parts is None:
                return
            record = await run_in_threadpool(auth.store.find_key, parts[0])
            if record is not None:
                async with auth.throttle.slot():
                    principal = await auth.throttle.hash_check(verify_key, record, parts[1])
            if principal is None:
                auth.keys.drop(key)  # the next request is checked, and refused, on its own
            else:
                auth.keys.put(key, principal, generation)
        except GraphError as exc:
            key_id = parts[0] if parts else "?"
            log.warning("cannot check key %s again (%s); its cached check stands", key_id, exc)
        finally:
            del self._checking[digest]
            check.set_result(principal)

    async def _check(self, request: Request, found: tuple[Rule, dict[str, Any]] | None) -> None:
        """Return if the request may go on (its principal and session in its state)."""
        scope = request.scope
        state = scope.setdefault("state", {})
        if found is None and _served(scope):
            # A route the app serves but the policy does not name: no one may call it.
            message = (
                f"{scope['method']} {scope['path']} has no rule in service/auth/policy.py "
                f"ROUTES, so no one may call it"
            )
            raise Refused(respond(request, 403, error_object("forbidden", message)))
        if found is None or found[0].roles is None or not self.auth.enabled:
            # Public, open, or no such route (404 or 405): only the pages' session matters,
            # for the header that shows who is signed in and the CSRF token of the forms.
            if not scope["path"].startswith(NO_SESSION):
                session = self.auth.sessions.read(request)
                state["session"] = session
                if prefers_html(request):
                    state["principal"] = await self._session_principal(request, session, True)
            return
        rule, params = found
        if self.auth.store is None:
            error = error_object(
                "auth-unavailable",
                "no user store: set NEO4J_URI to the graph that holds users and keys, "
                "or CASEWISE_AUTH=off to serve without sign-in (development only)",
            )
            raise Refused(respond(request, 503, error))
        key = _bearer(scope)
        principal: Principal | None
        if key is not None:
            principal = await self._key_principal(request, self.auth.store, key)
        else:
            session = self.auth.sessions.read(request)
            state["session"] = session
            principal = await self._session_principal(request, session)
        if principal is None:
            raise Refused(_unauthenticated(request, key is not None))
        if key is None and scope["method"] not in SAFE_METHODS:
            _check_csrf(request, state["session"], rule)
        state["principal"] = principal
        assert rule.roles is not None
        if principal.role not in rule.roles:
            roles = ", ".join(sorted(rule.roles))
            message = (
                f"{principal.name} ({principal.role}) may not {scope['method']} "
                f"{scope['path']}; it needs the role {roles}"
            )
            raise Refused(respond(request, 403, error_object("forbidden", message)))
        if rule.scoped and not principal.may_use(str(params.get(rule.scoped, ""))):
            message = (
                f"the key {principal.name!r} is not for ruleset "
                f"{params.get(rule.scoped)!r}; create a key with --rulesets naming it"
            )
            raise Refused(respond(request, 403, error_object("forbidden", message)))

    async def _key_principal(self, request: Request, store: UserStore, key: str) -> Principal:
        """Give the principal of a valid key; raise Refused (401, 429 or 503) otherwise.

        Cheap refusals come first: a key of the wrong shape needs no lookup, an id that is not
        stored no hash, and a client or key id with too many failures neither.
        """
        generation = await self.auth.generation.current(store)
        principal = self.auth.keys.get(key, generation)
        if principal is not None:
            return principal
        throttle, client = self.auth.throttle, client_of(request)
        parts = parse_key(key)
        account = f"key:{parts[0]}" if parts else None
        wait = throttle.retry_after(client, account)
        if wait is not None:
            raise Refused(too_many_attempts(request, wait))
        if parts is None:
            throttle.failed(client, None)
            raise Refused(
                _unauthenticated(request, True, "it is not of the shape cw_<id>_<secret>")
            )
        # One check per key at a time: when a cached key expires under load, every request in
        # flight with it would otherwise look it up and hash it (each hash ~0.1-0.2 s of CPU at
        # nice 10, so a worker stalled for seconds). Only a success is shared: a request whose
        # shared check failed is checked, and counted, on its own.
        digest, loop = KeyCache.digest(key), asyncio.get_running_loop()
        checking = self._checking.get(digest)
        if checking is not None and checking[0] is loop and checking[1] == generation:
            shared = await asyncio.shield(checking[2])
            if shared is not None:
                return shared
        if digest in self._checking:
            return await self._check_key(request, store, key, parts, generation)
        check: asyncio.Future[Principal | None] = loop.create_future()
        self._checking[digest] = (loop, generation, check)
        principal = None
        try:
            principal = await self._check_key(request, store, key, parts, generation)
            return principal
        finally:
            del self._checking[digest]
            check.set_result(principal)

    async def _check_key(
        self,
        request: Request,
        store: UserStore,
        key: str,
        parts: tuple[str, str],
        generation: int | None,
    ) -> Principal:
        """Look the key up and hash its secret (the slow path of ``_key_principal``)."""
        throttle, client = self.auth.throttle, client_of(request)
        account = f"key:{parts[0]}"
        try:
            record = await run_in_threadpool(store.find_key, parts[0])
        except GraphError as exc:
            raise Refused(_unavailable(request, exc, "key")) from exc
        if record is None:
            throttle.failed(client, account)
            raise Refused(_unauthenticated(request, True))
        async with throttle.slot():
            # Checked again: failures counted while this request waited for its slot count too.
            wait = throttle.retry_after(client, account)
            if wait is not None:
                raise Refused(too_many_attempts(request, wait))
            principal = await throttle.hash_check(verify_key, record, parts[1])
        if principal is None:
            throttle.failed(client, account)
            raise Refused(_unauthenticated(request, True))
        self.auth.keys.put(key, principal, generation)
        return principal

    async def _session_principal(
        self, request: Request, session: dict[str, Any], quiet: bool = False
    ) -> Principal | None:
        """Give the user of a stored, unexpired session; None for a visitor or an ended one.

        ``quiet``: a graph that does not answer means no user (a public page), not a 503.
        """
        token = Sessions.token(session)
        store = self.auth.store
        if token is None or store is None:
            return None
        try:
            return await run_in_threadpool(store.find_session, session_id(token))
        except GraphError as exc:
            if quiet:
                return None
            raise Refused(_unavailable(request, exc, "session")) from exc


def _served(scope: Scope) -> bool:
    """Tell whether a route of the app takes this method and path (not a 404 or 405)."""
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", ())
    return any(route.matches(scope)[0] == Match.FULL for route in routes)


def _check_csrf(request: Request, session: dict[str, Any], rule: Rule) -> None:
    """Raise Refused (403 csrf-failed) unless a cookie-authenticated change comes from this site.

    The session's token in X-CSRF-Token, or an Origin (else Referer) of this host, will do.
    With neither, only a page form's route lets the request on: its handler checks the form's
    token (service/web/signin.py ``check_csrf``).
    """
    given = request.headers.get(CSRF_HEADER)
    expected = session.get("c")
    if given is not None:
        if isinstance(expected, str) and secrets.compare_digest(given, expected):
            return
        problem = f"the {CSRF_HEADER} header is not the session's CSRF token"
    else:
        source = request.headers.get("origin") or request.headers.get("referer")
        if source is None:
            if rule.form:
                return
            problem = f"it has neither an Origin header nor the {CSRF_HEADER} header"
        elif _same_site(source, request):
            return
        else:
            problem = f"it comes from {source[:200]!r}, not from this site"
    message = (
        f"{request.method} {request.url.path} with a session cookie is refused: {problem}; "
        f"send the session's CSRF token as {CSRF_HEADER}, or use an API key"
    )
    raise Refused(respond(request, 403, error_object("csrf-failed", message)))


def _same_site(source: str, request: Request) -> bool:
    """Tell whether an Origin or Referer names this host (and port)."""
    try:
        parts = urlsplit(source)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = request.headers.get("host", "")
    default = {"http": 80, "https": 443}[parts.scheme]
    theirs = parts.hostname + ("" if port in (None, default) else f":{port}")
    ours = host.lower()
    for suffix in (":80", ":443"):
        ours = ours.removesuffix(suffix)
    return theirs.lower() == ours


def _unauthenticated(request: Request, had_key: bool, why: str = "") -> Response:
    if not had_key and request.method == "GET" and prefers_html(request):
        query = f"?{request.url.query}" if request.url.query else ""
        target = quote(request.url.path + query)
        return RedirectResponse(f"/signin?next={target}", status_code=303)
    message = (
        f"the API key is not valid{'; ' + why if why else ''}; "
        "create one with `casewise keys create`"
        if had_key
        else "sign in at /signin, or send an API key as 'Authorization: Bearer cw_...'"
    )
    headers = {"WWW-Authenticate": "Bearer"}
    return respond(request, 401, error_object("unauthenticated", message), headers)


def _unavailable(request: Request, exc: GraphError, what: str) -> Response:
    status = exc.status if exc.status != 500 else 503
    error = error_object("auth-unavailable", f"cannot check the {what}: {exc}")
    return respond(request, status, error)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            if text[: len(BEARER)].lower() == BEARER:
                return text[len(BEARER) :].strip()
    return None
