"""Users and API keys: stored in Neo4j with slow salted hashes (argon2), never in plain text.

Errors::

    AuthError               (a CasewiseError) a bad name, role, password or key
    └── (GraphError from service.graph.db when Neo4j fails)

An API key is ``cw_<id>_<secret>``: the id finds the stored key, the secret is checked against
its argon2 hash. Verifying a hash takes tens of milliseconds on purpose, so ``KeyCache`` keeps
a verified key (by the SHA-256 of the whole key, never the key itself) for a short time.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import LiteralString, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.auth.principals import USER_ROLES, Principal, Role
from service.engine import CasewiseError
from service.graph.db import Graph

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
RETURN u.role AS role, u.password_hash AS password_hash
"""
CREATE_KEY: LiteralString = """
CREATE (k:ApiKey {id: $id, name: $name, secret_hash: $secret_hash, rulesets: $rulesets,
                  role: $role, created_at: datetime()})
"""
FIND_KEY: LiteralString = """
MATCH (k:ApiKey {id: $id})
RETURN k.name AS name, k.secret_hash AS secret_hash, k.rulesets AS rulesets,
       coalesce(k.role, 'system') AS role
"""


class AuthError(CasewiseError):
    """A user or key that cannot be added, or credentials that do not fit."""

    code = "invalid-credentials"


@dataclass(frozen=True)
class UserRecord:
    name: str
    role: Role
    password_hash: str


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


class Neo4jStore:
    """Users and keys as ``User`` and ``ApiKey`` nodes of the case graph."""

    def __init__(self, graph: Graph | Callable[[], Graph]) -> None:
        self._graph = graph

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
        return UserRecord(name, rows[0]["role"], rows[0]["password_hash"])

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


class MemoryStore:
    """Users and keys in dicts: for tests and for a process without a graph."""

    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.keys: dict[str, KeyRecord] = {}

    def save_user(self, user: UserRecord) -> None:
        self.users[user.name] = user

    def find_user(self, name: str) -> UserRecord | None:
        return self.users.get(name)

    def save_key(self, key: KeyRecord) -> None:
        self.keys[key.id] = key

    def find_key(self, key_id: str) -> KeyRecord | None:
        return self.keys.get(key_id)


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
    user = store.find_user(name) if re.fullmatch(NAME_PATTERN, name) else None
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return Principal(user.name, user.role) if user else None


def create_key(store: UserStore, name: str, rulesets: list[str], role: str = "system") -> str:
    """Store a new API key for ``rulesets`` (``*`` any); give the key, which is shown once.

    A key acts as ``system`` (asks for decisions) or ``author`` (reloads rules from a script).
    """
    if role not in KEY_ROLES:
        raise AuthError(f"key role {role!r}: one of {', '.join(KEY_ROLES)}")
    if not re.fullmatch(NAME_PATTERN, name):
        raise AuthError(f"key name {name!r}: letters, digits and . _ : - only, 1 to 100")
    if not rulesets:
        raise AuthError("a key needs at least one ruleset (--rulesets NAME,... or '*')")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    rulesets_kept = tuple(sorted(set(rulesets)))
    store.save_key(KeyRecord(key_id, name, HASHER.hash(secret), rulesets_kept, role))
    return f"cw_{key_id}_{secret}"


def check_key(store: UserStore, key: str) -> Principal | None:
    """Give the key's principal if ``key`` is a stored key with the right secret; else None."""
    match = KEY_PATTERN.fullmatch(key)
    record = store.find_key(match.group(1)) if match else None
    secret = match.group(2) if match else key
    try:
        HASHER.verify(record.secret_hash if record else _DUMMY_HASH, secret)
    except (VerificationError, InvalidHashError):
        return None
    if record is None:
        return None
    return Principal(record.name, record.role, "key", frozenset(record.rulesets))


class KeyCache:
    """Keys verified lately, by the SHA-256 of the key, each for ``ttl`` seconds.

    Only keys that verified are kept, so a wrong key is checked (slowly) every time.
    """

    def __init__(self, ttl: float = 60.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[bytes, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def digest(key: str) -> bytes:
        return hashlib.sha256(key.encode()).digest()

    def get(self, key: str) -> Principal | None:
        entry = self._entries.get(self.digest(key))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[self.digest(key)] = (time.monotonic() + self.ttl, principal)
