"""``casewise decisions export``: the decision log as JSON Lines, one decision a line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, BinaryIO

import orjson
import typer
from rich.console import Console

from service.decisionlog import store
from service.graph.commands import graph_from_settings
from service.kernel.errors import CasewiseError

decisions_app = typer.Typer(help="The decision log: every routing decision.", no_args_is_help=True)

err = Console(stderr=True, highlight=False, soft_wrap=True)


@decisions_app.command("export")
def export(
    ruleset: Annotated[str | None, typer.Option(help="Only decisions of this ruleset.")] = None,
    version: Annotated[
        str | None, typer.Option(help="Only decisions of this ruleset version (sha256).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="ISO 8601 time: decisions at or after it (UTC if naive).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="ISO 8601 time: decisions before it (UTC if naive).")
    ] = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write, or - for standard output.")
    ] = "-",
) -> None:
    """Write the logged decisions (newest first) as JSON Lines, as GET /v1/decisions/{id} gives
    each; the count goes to standard error."""
    try:
        selection = store.Filter(
            ruleset=ruleset,
            version=version,
            since=store.parse_time("--since", since),
            until=store.parse_time("--until", until),
        )
    except store.FilterError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    count = 0
    with graph_from_settings() as graph:
        target: BinaryIO = sys.stdout.buffer if output == "-" else Path(output).open("wb")
        try:
            for decision in store.iterate(graph, selection):
                target.write(orjson.dumps(decision) + b"\n")
                count += 1
        except CasewiseError as exc:
            err.print(f"export stopped after {count} decision(s): {exc}", markup=False)
            raise typer.Exit(1) from None
        finally:
            if target is not sys.stdout.buffer:
                target.close()
            else:
                target.flush()
    err.print(f"exported {count} decision(s)", markup=False)
