"""``casewise users add`` and ``casewise keys create``: who may use the service."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from service.auth.principals import USER_ROLES
from service.auth.store import AuthError, Neo4jStore, add_user, create_key
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
) -> None:
    """Add a user, or set an existing user's role and password; the password is prompted."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with _graph() as graph:
            add_user(Neo4jStore(graph), name, role, password)
    except (AuthError, GraphError) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    out.print(f"user {name} ({role}) saved; they sign in at /signin")


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
) -> None:
    """Create an API key (role system or author) and print it once: stored only as a hash."""
    names = [part.strip() for part in rulesets.split(",") if part.strip()]
    try:
        with _graph() as graph:
            key = create_key(Neo4jStore(graph), name, names, role)
    except (AuthError, GraphError) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    for_what = f"{name!r} ({role}) for {', '.join(names)}"
    err.print(f"key {for_what}; send it as 'Authorization: Bearer KEY'.")
    err.print("It is shown only this once:")
    out.print(key)
