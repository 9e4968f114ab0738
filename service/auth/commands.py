"""``casewise users add`` and ``casewise keys create``: who may use the service.

``users add --if-missing`` leaves an existing user as it is, and ``keys create --save FILE``
keeps the key in FILE (mode 600) and reuses it while it is still valid, so that ``make run``
neither resets passwords nor mints a key on every run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.auth.principals import USER_ROLES
from service.auth.store import AuthError, Neo4jStore, UserStore, add_user, check_key, create_key
from service.graph.commands import _graph
from service.graph.db import GraphError

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
        with _graph() as graph:
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
        with _graph() as graph:
            store = Neo4jStore(graph)
            if save is not None and _saved_key_fits(store, save, name, role, names):
                err.print(f"key {for_what} in {save} is still valid; reusing it", markup=False)
                return
            key = create_key(store, name, names, role)
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
