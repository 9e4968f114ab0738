"""What admins change about people and keys, each change recorded with who, when and what.

Every change is one transaction that makes the change, writes an ``AuthChange`` node
``{id, at, actor, action, target, detail}`` and, when it takes a right away (disable, a new
role or password, revoke, rotate), bumps ``AuthState.generation`` so that every worker's cache
of verified keys drops what it holds (service/auth/store.py). Disabling a user or resetting
their password also deletes their sessions. A change to a user or key that does not exist is
an ``AuthError`` naming it, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any, LiteralString

from service.auth.principals import USER_ROLES
from service.auth.store import (
    CREATE_KEY,
    HASHER,
    MIN_PASSWORD,
    NAME_PATTERN,
    AuthError,
    KeyRecord,
    make_key,
)
from service.graph.db import Graph, Row, Step

KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
SHOWN_CHANGES = 200

LIST_USERS: LiteralString = """
MATCH (u:User)
RETURN u.name AS name, u.role AS role, coalesce(u.disabled, false) AS disabled,
       u.created_at AS created_at, u.last_signin_at AS last_signin_at
ORDER BY u.name
"""
LIST_KEYS: LiteralString = """
MATCH (k:ApiKey)
RETURN k.id AS id, k.name AS name, coalesce(k.role, 'system') AS role, k.rulesets AS rulesets,
       k.created_at AS created_at, k.last_used_at AS last_used_at, k.revoked_at AS revoked_at,
       k.replaces AS replaces
ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC
"""
LIST_CHANGES: LiteralString = """
MATCH (c:AuthChange)
RETURN c.at AS at, c.actor AS actor, c.action AS action, c.target AS target, c.detail AS detail
ORDER BY c.at DESC LIMIT $limit
"""
RECORD: LiteralString = """
CREATE (:AuthChange {id: $id, at: datetime(), actor: $actor, action: $action,
                     target: $target, detail: $detail})
"""
BUMP: LiteralString = """
MERGE (a:AuthState {id: 'auth'})
SET a.generation = coalesce(a.generation, 0) + 1, a.changed_at = datetime()
"""
ADD_USER: LiteralString = """
CREATE (u:User {name: $name, role: $role, password_hash: $password_hash,
                created_at: datetime(), updated_at: datetime(), disabled: false})
"""
USER_EXISTS: LiteralString = "MATCH (u:User {name: $name}) RETURN u.role AS role"
SET_ROLE: LiteralString = """
MATCH (u:User {name: $name}) SET u.role = $role, u.updated_at = datetime() RETURN u.name AS name
"""
SET_DISABLED: LiteralString = """
MATCH (u:User {name: $name})
SET u.disabled = $disabled, u.updated_at = datetime()
RETURN u.name AS name
"""
SET_PASSWORD: LiteralString = """
MATCH (u:User {name: $name})
SET u.password_hash = $password_hash, u.updated_at = datetime()
RETURN u.name AS name
"""
END_SESSIONS: LiteralString = "MATCH (s:Session {user: $name}) DELETE s"
FIND_KEY_ANY: LiteralString = """
MATCH (k:ApiKey {id: $id})
RETURN k.name AS name, coalesce(k.role, 'system') AS role, k.rulesets AS rulesets,
       k.revoked_at AS revoked_at
"""
REVOKE_KEY: LiteralString = """
MATCH (k:ApiKey {id: $id}) WHERE k.revoked_at IS NULL
SET k.revoked_at = datetime() RETURN k.id AS id
"""
LINK_ROTATED: LiteralString = "MATCH (k:ApiKey {id: $new}) SET k.replaces = $old"


@dataclass(frozen=True)
class UserInfo:
    """A user as the admin page lists them (never the password hash)."""

    name: str
    role: str
    disabled: bool
    created_at: dt.datetime | None
    last_signin_at: dt.datetime | None


@dataclass(frozen=True)
class KeyInfo:
    """An API key as the admin page lists it (never the secret nor its hash)."""

    id: str
    name: str
    role: str
    rulesets: tuple[str, ...]
    created_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    replaces: str | None


@dataclass(frozen=True)
class Change:
    """One recorded change: who made it, when, to what, and what it was."""

    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: str


def _time(value: Any) -> dt.datetime | None:
    """Give a Neo4j datetime as a Python one (None stays None)."""
    if value is None:
        return None
    native: dt.datetime = value.to_native()
    return native


def list_users(graph: Graph) -> list[UserInfo]:
    """Give every user, by name."""
    return [
        UserInfo(
            r["name"],
            r["role"],
            bool(r["disabled"]),
            _time(r["created_at"]),
            _time(r["last_signin_at"]),
        )
        for r in graph.read(LIST_USERS)
    ]


def list_keys(graph: Graph) -> list[KeyInfo]:
    """Give every API key, live ones first, newest first."""
    return [
        KeyInfo(
            r["id"],
            r["name"],
            r["role"],
            tuple(r["rulesets"] or ()),
            _time(r["created_at"]),
            _time(r["last_used_at"]),
            _time(r["revoked_at"]),
            r["replaces"],
        )
        for r in graph.read(LIST_KEYS)
    ]


def changes(graph: Graph, limit: int = SHOWN_CHANGES) -> list[Change]:
    """Give the latest recorded changes to people and keys, newest first."""
    return [
        Change(_time(r["at"]) or dt.datetime.min, r["actor"], r["action"], r["target"], r["detail"])
        for r in graph.read(LIST_CHANGES, limit=limit)
    ]


def _record(actor: str, action: str, target: str, detail: str = "") -> Step:
    params = {
        "id": secrets.token_hex(12),
        "actor": actor,
        "action": action,
        "target": target,
        "detail": detail,
    }
    return (RECORD, params)


def _check_name(name: str, what: str = "user name") -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise AuthError(f"{what} {name!r}: letters, digits and . _ : - only, 1 to 100")


def _check_role(role: str) -> None:
    if role not in USER_ROLES:
        raise AuthError(
            f"role {role!r}: one of {', '.join(USER_ROLES)} (API keys have the role system)"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password has {len(password)} characters; use {MIN_PASSWORD} or more")


def _changed(rows: list[list[Row]], index: int, name: str, what: str = "user") -> None:
    """Raise an AuthError when the statement at ``index`` found no ``name``."""
    if not rows[index]:
        raise AuthError(f"no {what} {name!r}; the list shows who there is", [{"name": name}])


def _write(graph: Graph, steps: list[Step], check: int, name: str, what: str = "user") -> None:
    """Run ``steps`` as one transaction, undone when statement ``check`` matched nothing."""

    def work(tx: Any) -> None:
        rows = [tx.run(query, params).data() for query, params in steps]
        _changed(rows, check, name, what)  # raising inside rolls the whole change back

    graph.transaction(work)


def add_user(graph: Graph, actor: str, name: str, role: str, password: str) -> None:
    """Add a new user (an existing name is refused: change its role or password instead)."""
    _check_name(name)
    _check_role(role)
    _check_password(password)
    if graph.read(USER_EXISTS, name=name):
        raise AuthError(f"user {name!r} exists; change their role or reset their password")
    graph.write_many(
        [
            (ADD_USER, {"name": name, "role": role, "password_hash": HASHER.hash(password)}),
            _record(actor, "user added", name, f"role {role}"),
        ]
    )


def set_role(graph: Graph, actor: str, name: str, role: str) -> None:
    """Give the user ``role``; their sessions go on in the new role at once."""
    _check_name(name)
    _check_role(role)
    steps = [
        (SET_ROLE, {"name": name, "role": role}),
        _record(actor, "role changed", name, f"role {role}"),
        (BUMP, {}),
    ]
    _write(graph, steps, 0, name)


def set_disabled(graph: Graph, actor: str, name: str, disabled: bool) -> None:
    """Disable the user (their sessions end at once, sign-in is refused) or enable them again."""
    _check_name(name)
    if disabled and name == actor:
        raise AuthError("you cannot disable yourself; ask another admin")
    steps: list[Step] = [(SET_DISABLED, {"name": name, "disabled": disabled})]
    if disabled:
        steps.append((END_SESSIONS, {"name": name}))
    steps += [_record(actor, "user disabled" if disabled else "user enabled", name), (BUMP, {})]
    _write(graph, steps, 0, name)


def reset_password(graph: Graph, actor: str, name: str, password: str) -> None:
    """Set the user's password; their sessions end, so they sign in with the new one."""
    _check_name(name)
    _check_password(password)
    steps = [
        (SET_PASSWORD, {"name": name, "password_hash": HASHER.hash(password)}),
        (END_SESSIONS, {"name": name}),
        _record(actor, "password reset", name),
        (BUMP, {}),
    ]
    _write(graph, steps, 0, name)


def new_key(graph: Graph, actor: str, name: str, rulesets: list[str], role: str) -> str:
    """Create an API key and record it; give the key, which is shown this once."""
    key, record = make_key(name, rulesets, role)
    detail = f"{role} for {', '.join(record.rulesets)}"
    graph.write_many(
        [_store_key(record), _record(actor, "key created", f"{name} ({record.id})", detail)]
    )
    return key


def revoke_key(graph: Graph, actor: str, key_id: str) -> None:
    """Revoke the key: the next request with it is a 401, in every worker."""
    found = _find_key(graph, key_id)
    steps = [
        (REVOKE_KEY, {"id": key_id}),
        _record(actor, "key revoked", f"{found['name']} ({key_id})"),
        (BUMP, {}),
    ]
    _write(graph, steps, 0, key_id, "live key")


def rotate_key(graph: Graph, actor: str, key_id: str) -> str:
    """Give a new key with the same name, role and rulesets, and revoke the old one at once."""
    found = _find_key(graph, key_id)
    if found["revoked_at"] is not None:
        raise AuthError(f"key {key_id} is revoked; create a new key instead")
    key, record = make_key(found["name"], list(found["rulesets"] or ["*"]), found["role"])
    steps: list[Step] = [
        (REVOKE_KEY, {"id": key_id}),
        _store_key(record),
        (LINK_ROTATED, {"new": record.id, "old": key_id}),
        _record(actor, "key rotated", f"{found['name']} ({key_id})", f"new key {record.id}"),
        (BUMP, {}),
    ]
    _write(graph, steps, 0, key_id, "live key")
    return key


def _store_key(record: KeyRecord) -> Step:
    params = {
        "id": record.id,
        "name": record.name,
        "secret_hash": record.secret_hash,
        "rulesets": list(record.rulesets),
        "role": record.role,
    }
    return (CREATE_KEY, params)


def _find_key(graph: Graph, key_id: str) -> Row:
    if not re.fullmatch(KEY_ID_PATTERN, key_id):
        raise AuthError(f"key id {key_id!r}: 16 hex digits, as the list shows it")
    rows = graph.read(FIND_KEY_ANY, id=key_id)
    if not rows:
        raise AuthError(f"no key {key_id!r}; the list shows the keys there are")
    return rows[0]


def record(graph: Graph, actor: str, action: str, target: str, detail: str = "") -> None:
    """Record a change made elsewhere (``casewise users add``, ``keys create``)."""
    graph.write_many([_record(actor, action, target, detail)])
