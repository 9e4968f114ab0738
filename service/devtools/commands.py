"""``casewise neo4j start|stop|status``: the local Neo4j for development and tests."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

from service.devtools import localneo4j as local

neo4j_app = typer.Typer(
    help="Run the local Neo4j 5 (embedded, Bolt on 127.0.0.1, user neo4j with the password "
    "in var/neo4j/password) that development and tests use. Data and logs are in var/neo4j/.",
    no_args_is_help=True,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# `status` exits with this when no server runs, as LSB init scripts do.
NOT_RUNNING = 3


def _fail(exc: local.Neo4jLauncherError) -> NoReturn:
    err.print(str(exc), markup=False)
    raise typer.Exit(1)


def _describe(server: local.Status) -> str:
    tls = f"; TLS, trust {server.ca_file}" if server.ca_file is not None else ""
    return (
        f"{server.uri} (pid {server.pid}; data {server.data_dir}; log {server.log}; "
        f"user {local.LOCAL_USER}, password in {server.password_file}{tls})"
    )


@neo4j_app.command()
def start(
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Bolt port on 127.0.0.1 (default: CASEWISE_NEO4J_PORT, else 7687).",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for Bolt to answer.")
    ] = 120.0,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="Bolt over TLS only, with a self-signed certificate made in the data folder "
            "(default: CASEWISE_NEO4J_TLS, else off); connect with bolt+s:// and "
            "CASEWISE_NEO4J_CA_FILE set to the certificate.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start Neo4j (building the launcher first if needed); nothing to do if it runs."""
    try:
        server = local.start(
            port=port, timeout=timeout, progress=lambda m: err.print(m, markup=False), tls=tls
        )
    except local.Neo4jLauncherError as exc:
        _fail(exc)
    out.print(f"Neo4j running at {_describe(server)}", markup=False)


@neo4j_app.command()
def stop() -> None:
    """Stop Neo4j: SIGTERM, and SIGKILL if it has not stopped after 30 s."""
    try:
        server = local.stop()
    except local.Neo4jLauncherError as exc:
        _fail(exc)
    if server.pid is None:
        out.print("Neo4j was not running")
    else:
        out.print(f"Neo4j stopped (pid {server.pid}, port {server.port})")


@neo4j_app.command()
def status() -> None:
    """Show whether Neo4j runs; exit code 3 if it does not."""
    server = local.status()
    if not server.running:
        out.print(f"Neo4j is not running (data {server.data_dir})", markup=False)
        raise typer.Exit(NOT_RUNNING)
    state = "running" if server.accepting else "starting (Bolt not open yet)"
    out.print(f"Neo4j {state} at {_describe(server)}", markup=False)
