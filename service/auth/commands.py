"""``casewise users add|list|disable|enable`` and ``casewise keys create|list|revoke|rotate``.

Every change is recorded as made by ``cli:<login name>`` (service/auth/people.py), beside the
changes admins make on /admin.

``users add --if-missing`` leaves an existing user as it is, and ``keys create --save FILE``
keeps the key in FILE (mode 600) and reuses it while it is still valid, so that ``make run``
neither resets passwords nor mints a key on every run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.auth import people
from service.auth.nudge import nudge
from service.auth.principals import USER_ROLES
from service.auth.store import AuthError, Neo4jStore, UserStore, add_user, check_key
from service.graph.commands import graph_from_settings
from service.graph.db import GraphError
from service.settings import load_settings

users_app = typer.Typer(help="People who sign in: experts, authors, admins.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of the systems that ask for decisions.", no_args_is_help=True)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (what they sign in with).")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(USER_ROLES)}.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    if_missing: Annotated[
        bool,
        typer.Option(
            "--if-missing",
            help="Leave a user that exists as it is (role and password); add it only if missing.",
        ),
    ] = False,
) -> None:
    """Add a user, or set an existing user's role and password; the password is prompted."""
    try:
        with graph_from_settings() as graph:
            store = Neo4jStore(graph)
            existing = store.find_user(name) if if_missing else None
            if existing is not None:
                err.print(
                    f"user {name} ({existing.role}) exists; kept as it is "
                    "(without --if-missing its role and password are set again)",
                    markup=False,
                )
                return
            if password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            add_user(store, name, role, password)
            people.record(graph, _actor(), "user saved", name, f"role {role}")
    except (AuthError, GraphError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    out.print(f"user {name} ({role}) saved; they sign in at /signin", markup=False)


@keys_app.command("create")
def keys_create(
    rulesets: Annotated[
        str,
        typer.Option("--rulesets", help="Comma-separated rulesets the key may ask for; '*' any."),
    ],
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "system",
    role: Annotated[
        str, typer.Option("--role", help="system (asks for decisions) or author (reloads rules).")
    ] = "system",
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="Keep the key in this file (mode 600) instead of printing it, and reuse the "
            "key found there while it is still valid for the same name, role and rulesets.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Create an API key (role system or author) and print it once: stored only as a hash."""
    names = [part.strip() for part in rulesets.split(",") if part.strip()]
    for_what = f"{name!r} ({role}) for {', '.join(names)}"
    try:
        with graph_from_settings() as graph:
            store = Neo4jStore(graph)
            if save is not None and _saved_key_fits(store, save, name, role, names):
                err.print(f"key {for_what} in {save} is still valid; reusing it", markup=False)
                return
            key = people.new_key(graph, _actor(), name, names, role)
            if save is not None:
                _write_private(save, key)
    except (AuthError, GraphError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"error: cannot write the key to {save}: {exc.strerror}", markup=False)
        raise typer.Exit(1) from None
    err.print(f"key {for_what}; send it as 'Authorization: Bearer KEY'.", markup=False)
    if save is not None:
        err.print(f"It is saved in {save} (mode 600).", markup=False)
        return
    err.print("It is shown only this once:")
    out.print(key, markup=False)


def _saved_key_fits(
    store: UserStore, path: Path, name: str, role: str, rulesets: list[str]
) -> bool:
    """True when ``path`` holds a key the graph still knows, with this name, role and rulesets.

    A file that others may read is refused rather than reused: the key in it is exposed.
    """
    try:
        mode = path.stat().st_mode & 0o777
        key = path.read_text().strip()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AuthError(f"cannot read the saved key {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise AuthError(
            f"{path} is readable by others (mode {mode:o}), so the key in it is exposed; "
            f"delete the file (a new key is saved) or chmod 600 {path}"
        )
    principal = check_key(store, key)
    return (
        principal is not None
        and principal.name == name
        and principal.role == role
        and principal.rulesets == frozenset(rulesets)
    )


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole, readable by its owner only (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 600
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _actor() -> str:
    """Who the CLI records as making a change: ``cli:`` and the login name."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"error: {exc}", markup=False)
    return typer.Exit(1)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@users_app.command("list")
def users_list() -> None:
    """List the users: name, role, status, last sign-in (UTC)."""
    try:
        with graph_from_settings() as graph:
            users = people.list_users(graph)
    except GraphError as exc:
        raise _fail(exc) from None
    out.print(f"{'NAME':<24} {'ROLE':<8} {'STATUS':<9} LAST SIGN-IN", markup=False)
    for u in users:
        status = "disabled" if u.disabled else "active"
        out.print(f"{u.name:<24} {u.role:<8} {status:<9} {_when(u.last_signin_at)}", markup=False)


def _set_disabled(name: str, disabled: bool) -> None:
    try:
        with graph_from_settings() as graph:
            people.set_disabled(graph, _actor(), name, disabled)
        nudge(load_settings().spool_dir)
    except (AuthError, GraphError) as exc:
        raise _fail(exc) from None


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The user to disable.")],
) -> None:
    """Disable a user: their sessions end at once and they cannot sign in."""
    _set_disabled(name, True)
    out.print(f"user {name} disabled; their sessions have ended", markup=False)


@users_app.command("enable")
def users_enable(
    name: Annotated[str, typer.Argument(help="The user to enable.")],
) -> None:
    """Let a disabled user sign in again."""
    _set_disabled(name, False)
    out.print(f"user {name} enabled; they sign in at /signin", markup=False)


@keys_app.command("list")
def keys_list() -> None:
    """List the API keys: id, name, role, rulesets, created, last used, revoked (never secrets)."""
    try:
        with graph_from_settings() as graph:
            keys = people.list_keys(graph)
    except GraphError as exc:
        raise _fail(exc) from None
    head = f"{'ID':<16} {'NAME':<20} {'ROLE':<6} {'CREATED':<16} {'LAST USED':<16} STATUS RULESETS"
    out.print(head, markup=False)
    for k in keys:
        status = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "live"
        out.print(
            f"{k.id:<16} {k.name:<20} {k.role:<6} {_when(k.created_at):<16} "
            f"{_when(k.last_used_at):<16} {status} {','.join(k.rulesets)}",
            markup=False,
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (16 hex digits; keys list).")],
) -> None:
    """Revoke a key: its next request answers 401, in every worker."""
    try:
        with graph_from_settings() as graph:
            people.revoke_key(graph, _actor(), key_id)
        nudge(load_settings().spool_dir)  # this machine's workers stop the key at once
    except (AuthError, GraphError) as exc:
        raise _fail(exc) from None
    out.print(f"key {key_id} revoked", markup=False)


@keys_app.command("rotate")
def keys_rotate(
    key_id: Annotated[str, typer.Argument(help="The key's id (16 hex digits; keys list).")],
) -> None:
    """Replace a key by a new one (same name, role, rulesets), printed once; the old one stops."""
    try:
        with graph_from_settings() as graph:
            key = people.rotate_key(graph, _actor(), key_id)
        nudge(load_settings().spool_dir)
    except (AuthError, GraphError) as exc:
        raise _fail(exc) from None
    err.print(f"key {key_id} revoked; its replacement is shown only this once:", markup=False)
    out.print(key, markup=False)
