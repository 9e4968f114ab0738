"""Users and API keys: stored in Neo4j with slow salted hashes (argon2), never in plain text.

Errors::

    AuthError               (a CasewiseError) a bad name, role, password or key
    └── (GraphError from service.graph.db when Neo4j fails)

An API key is ``cw_<id>_<secret>``: the id finds the stored key, the secret is checked against
its argon2 hash. A key that is not of that shape is refused without a lookup, and an id that is
not stored without a hash. Verifying a hash takes tens of milliseconds (and 64 MiB) on purpose,
so ``KeyCache`` keeps a verified key (by the SHA-256 of the whole key, never the key itself) for
a short time, and ``service.auth.throttle`` bounds how many are checked.

A disabled user cannot sign in and their sessions stop at once (every request reads the session
with its user); a revoked key is never found again. Keys verified lately are cached, so every
change that takes a right away (disable, revoke, rotate, a new role or password) also bumps
one counter, ``AuthState.generation``, which ``Neo4jStore.generation`` reads cheaply: a cache
keyed by the generation it verified under (``KeyCache.get(key, generation)``) drops them all.
The changes themselves are made, and recorded, by ``service.auth.people``.

A signed-in session is a ``Session`` node ``{id, user, created_at, expires_at}``, unconnected to
anything, whose ``id`` is the SHA-256 of the session token the cookie carries: made at sign-in,
deleted at sign-out, looked up on every request together with the user's current role.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import LiteralString, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.auth.principals import USER_ROLES, Principal, Role
from service.graph.db import Graph
from service.kernel.errors import CasewiseError

log = logging.getLogger("casewise.auth")

NAME_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
KEY_PATTERN = re.compile(r"^cw_([0-9a-f]{16})_([A-Za-z0-9_-]{20,200})$")
MIN_PASSWORD = 8
KEY_ROLES: tuple[Role, ...] = ("system", "author")

HASHER = PasswordHasher()
# Checked against when the name is unknown, so an unknown name costs as much as a wrong password.
_DUMMY_HASH = HASHER.hash("not a password of anyone")

UPSERT_USER: LiteralString = """
MERGE (u:User {name: $name})
ON CREATE SET u.created_at = datetime()
SET u.role = $role, u.password_hash = $password_hash, u.updated_at = datetime()
"""
FIND_USER: LiteralString = """
MATCH (u:User {name: $name})
RETURN u.role AS role, u.password_hash AS password_hash,
       coalesce(u.disabled, false) AS disabled
"""
CREATE_KEY: LiteralString = """
CREATE (k:ApiKey {id: $id, name: $name, secret_hash: $secret_hash, rulesets: $rulesets,
                  role: $role, created_at: datetime()})
"""
FIND_KEY: LiteralString = """
MATCH (k:ApiKey {id: $id}) WHERE k.revoked_at IS NULL
RETURN k.name AS name, k.secret_hash AS secret_hash, k.rulesets AS rulesets,
       coalesce(k.role, 'system') AS role
"""
CREATE_SESSION: LiteralString = """
CREATE (:Session {id: $id, user: $user, created_at: datetime(),
                  expires_at: datetime() + duration({seconds: $seconds})})
WITH 1 AS done
MATCH (u:User {name: $user}) SET u.last_signin_at = datetime()
"""
# A session is as good as its user: one whose user is gone, disabled (or loses its role) ends
# at once.
FIND_SESSION: LiteralString = """
MATCH (s:Session {id: $id}) WHERE s.expires_at > datetime()
MATCH (u:User {name: s.user}) WHERE NOT coalesce(u.disabled, false)
RETURN u.name AS name, u.role AS role
"""
DELETE_SESSION: LiteralString = """
MATCH (s:Session {id: $id}) DELETE s
"""
# Run at each sign-in, so expired sessions do not pile up (bounded per run).
DELETE_EXPIRED_SESSIONS: LiteralString = """
MATCH (s:Session) WHERE s.expires_at <= datetime()
WITH s LIMIT 1000 DELETE s
"""
GENERATION: LiteralString = """
OPTIONAL MATCH (a:AuthState {id: 'auth'}) RETURN coalesce(a.generation, 0) AS generation
"""
MARK_KEYS_USED: LiteralString = """
UNWIND $ids AS id MATCH (k:ApiKey {id: id}) SET k.last_used_at = datetime()
"""


class AuthError(CasewiseError):
    """A user or key that cannot be added, or credentials that do not fit."""

    code = "invalid-credentials"


@dataclass(frozen=True)
class UserRecord:
    name: str
    role: Role
    password_hash: str
    disabled: bool = False


@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    secret_hash: str
    rulesets: tuple[str, ...]
    role: Role = "system"


class UserStore(Protocol):
    """Where users and keys are kept (Neo4j; a dict in the unit tests)."""

    def save_user(self, user: UserRecord) -> None: ...
    def find_user(self, name: str) -> UserRecord | None: ...
    def save_key(self, key: KeyRecord) -> None: ...
    def find_key(self, key_id: str) -> KeyRecord | None: ...
    def save_session(self, session_id: str, user: str, seconds: int) -> None: ...
    def find_session(self, session_id: str) -> Principal | None: ...
    def delete_session(self, session_id: str) -> None: ...


class Neo4jStore:
    """Users and keys as ``User`` and ``ApiKey`` nodes of the case graph."""

    def __init__(self, graph: Graph | Callable[[], Graph]) -> None:
        self._graph = graph
        self._marker: ThreadPoolExecutor | None = None

    def _g(self) -> Graph:
        return self._graph if isinstance(self._graph, Graph) else self._graph()

    def save_user(self, user: UserRecord) -> None:
        self._g().write(
            UPSERT_USER, name=user.name, role=user.role, password_hash=user.password_hash
        )

    def find_user(self, name: str) -> UserRecord | None:
        rows = self._g().read(FIND_USER, name=name)
        if not rows or rows[0]["role"] not in USER_ROLES:
            return None
        row = rows[0]
        return UserRecord(name, row["role"], row["password_hash"], bool(row["disabled"]))

    def save_key(self, key: KeyRecord) -> None:
        self._g().write(
            CREATE_KEY,
            id=key.id,
            name=key.name,
            secret_hash=key.secret_hash,
            rulesets=list(key.rulesets),
            role=key.role,
        )

    def find_key(self, key_id: str) -> KeyRecord | None:
        rows = self._g().read(FIND_KEY, id=key_id)
        if not rows:
            return None
        row = rows[0]
        rulesets = tuple(row["rulesets"] or ())
        return KeyRecord(key_id, row["name"], row["secret_hash"], rulesets, row["role"])

    def save_session(self, session_id: str, user: str, seconds: int) -> None:
        self._g().write_many(
            [
                (DELETE_EXPIRED_SESSIONS, {}),
                (CREATE_SESSION, {"id": session_id, "user": user, "seconds": seconds}),
            ]
        )

    def find_session(self, session_id: str) -> Principal | None:
        rows = self._g().read(FIND_SESSION, id=session_id)
        if not rows or rows[0]["role"] not in USER_ROLES:
            return None
        return Principal(rows[0]["name"], rows[0]["role"])

    def delete_session(self, session_id: str) -> None:
        self._g().write(DELETE_SESSION, id=session_id)

    def generation(self) -> int:
        """Give the count of changes that took a right away (one small read)."""
        rows = self._g().read(GENERATION)
        return int(rows[0]["generation"]) if rows else 0

    def mark_used(self, key_id: str) -> None:
        """Record, in the background, that the key was used now (its 'last used' time)."""
        if self._marker is None:
            self._marker = ThreadPoolExecutor(1, thread_name_prefix="casewise-key-used")
        self._marker.submit(self._mark, key_id)

    def _mark(self, key_id: str) -> None:
        try:
            self._g().write(MARK_KEYS_USED, ids=[key_id])
        except CasewiseError as exc:  # a 'last used' time is not worth failing a request for
            log.warning("cannot record that key %s was used: %s", key_id, exc)


class MemoryStore:
    """Users and keys in dicts: for tests and for a process without a graph."""

    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.keys: dict[str, KeyRecord] = {}
        # session id: (user name, expiry as time.time())
        self.sessions: dict[str, tuple[str, float]] = {}

    def save_user(self, user: UserRecord) -> None:
        self.users[user.name] = user

    def find_user(self, name: str) -> UserRecord | None:
        return self.users.get(name)

    def save_key(self, key: KeyRecord) -> None:
        self.keys[key.id] = key

    def find_key(self, key_id: str) -> KeyRecord | None:
        return self.keys.get(key_id)

    def save_session(self, session_id: str, user: str, seconds: int) -> None:
        self.sessions[session_id] = (user, time.time() + seconds)

    def find_session(self, session_id: str) -> Principal | None:
        user, expires = self.sessions.get(session_id, ("", 0.0))
        record = self.users.get(user)
        if record is None or record.disabled or expires <= time.time():
            return None
        return Principal(record.name, record.role)

    def delete_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)


def add_user(store: UserStore, name: str, role: str, password: str) -> UserRecord:
    """Add the user (or set an existing user's role and password); give what was stored."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise AuthError(f"user name {name!r}: letters, digits and . _ : - only, 1 to 100")
    if role not in USER_ROLES:
        raise AuthError(
            f"role {role!r}: one of {', '.join(USER_ROLES)} (API keys have the role system)"
        )
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password has {len(password)} characters; use {MIN_PASSWORD} or more")
    user = UserRecord(name, role, HASHER.hash(password))
    store.save_user(user)
    return user


def check_password(store: UserStore, name: str, password: str) -> Principal | None:
    """Give the user if ``password`` is theirs; None otherwise (unknown name or wrong password)."""
    return verify_password(find_user(store, name), password)


def find_user(store: UserStore, name: str) -> UserRecord | None:
    """Give the stored user called ``name``; None for a name no user can have, without a lookup."""
    return store.find_user(name) if re.fullmatch(NAME_PATTERN, name) else None


def verify_password(user: UserRecord | None, password: str) -> Principal | None:
    """Give the user if ``password`` is theirs (one argon2 check, also for no user: same time)."""
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return Principal(user.name, user.role) if user and not user.disabled else None


def create_key(store: UserStore, name: str, rulesets: list[str], role: str = "system") -> str:
    """Store a new API key for ``rulesets`` (``*`` any); give the key, which is shown once.

    A key acts as ``system`` (asks for decisions) or ``author`` (reloads rules from a script).
    """
    key, record = make_key(name, rulesets, role)
    store.save_key(record)
    return key


def make_key(name: str, rulesets: list[str], role: str = "system") -> tuple[str, KeyRecord]:
    """Give a new key and the record that stores it (its secret only as a hash)."""
    if role not in KEY_ROLES:
        raise AuthError(f"key role {role!r}: one of {', '.join(KEY_ROLES)}")
    if not re.fullmatch(NAME_PATTERN, name):
        raise AuthError(f"key name {name!r}: letters, digits and . _ : - only, 1 to 100")
    if not rulesets:
        raise AuthError("a key needs at least one ruleset (--rulesets NAME,... or '*')")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    rulesets_kept = tuple(sorted(set(rulesets)))
    record = KeyRecord(key_id, name, HASHER.hash(secret), rulesets_kept, role)
    return f"cw_{key_id}_{secret}", record


def check_key(store: UserStore, key: str) -> Principal | None:
    """Give the key's principal if ``key`` is a stored key with the right secret; else None."""
    parts = parse_key(key)
    record = store.find_key(parts[0]) if parts else None
    return verify_key(record, parts[1]) if parts and record else None


def parse_key(key: str) -> tuple[str, str] | None:
    """Give the id and the secret of a key of the shape ``cw_<id>_<secret>``; None otherwise."""
    match = KEY_PATTERN.fullmatch(key)
    return (match.group(1), match.group(2)) if match else None


def verify_key(record: KeyRecord, secret: str) -> Principal | None:
    """Give the key's principal if ``secret`` is the stored key's (one argon2 check); else None."""
    try:
        HASHER.verify(record.secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return None
    return Principal(record.name, record.role, "key", frozenset(record.rulesets))


class KeyCache:
    """Keys verified lately, by the SHA-256 of the key, each for ``ttl`` seconds; in its last
    ``ahead`` seconds a key is ``due`` to be checked again while it is still served.

    Only keys that verified are kept, so a wrong key is checked (slowly) every time. Given the
    store's current ``generation``, ``get`` ignores keys verified under another one: a key
    revoked since (in any worker) is looked up again and refused. ``used`` is told the id of
    each key verified (Neo4jStore.mark_used keeps its 'last used' time).
    """

    def __init__(
        self,
        ttl: float = 60.0,
        size: int = 10_000,
        used: Callable[[str], None] | None = None,
        ahead: float = 15.0,
    ) -> None:
        self.ttl = ttl
        self.ahead = ahead
        self.size = size
        self.used = used
        self._entries: dict[bytes, tuple[float, Principal, int | None]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def digest(key: str) -> bytes:
        return hashlib.sha256(key.encode()).digest()

    def get(self, key: str, generation: int | None = None) -> Principal | None:
        cached = self.cached(self.digest(key), generation)
        return cached[0] if cached is not None else None

    def cached(self, digest: bytes, generation: int | None = None) -> tuple[Principal, bool] | None:
        """Give the principal of the key of ``digest`` if cached, and whether it is in its last
        ``ahead`` seconds (due to be checked again); None if not cached."""
        entry = self._entries.get(digest)
        now = time.monotonic()
        if entry is None or entry[0] < now:
            return None
        if generation is not None and entry[2] != generation:
            return None
        return entry[1], entry[0] - self.ahead < now

    def drop(self, key: str) -> None:
        """Forget one key (a check of it failed)."""
        with self._lock:
            self._entries.pop(self.digest(key), None)

    def put(self, key: str, principal: Principal, generation: int | None = None) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[self.digest(key)] = (time.monotonic() + self.ttl, principal, generation)
        parts = parse_key(key)
        if self.used is not None and parts is not None:
            self.used(parts[0])

    def clear(self) -> None:
        """Forget every key verified (this worker's cache; other workers see the generation)."""
        with self._lock:
            self._entries.clear()
