"""``casewise graph init|import|import-log``: set up the graph, and the helpers other commands
share to reach it (``command_graph``, ``graph_from_settings``, ``progress``, ``report``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from service.graph import importer
from service.graph.db import Graph, GraphError, GraphNotConfigured, apply_schema, connect_from
from service.kernel.errors import CasewiseError
from service.settings import Settings, SettingsError, load_settings

graph_app = typer.Typer(
    help="Import cases (JSON Lines) and process event logs (CSV) into the case graph.",
    no_args_is_help=True,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Skipped rows printed one by one; the rest are counted.
SHOW_SKIPPED = 100

BatchOption = Annotated[
    int, typer.Option("--batch-size", min=1, help="Cases written per transaction.")
]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


@contextmanager
def command_graph(settings: Settings, *, schema: bool = False, needs: str = "") -> Iterator[Graph]:
    """Give a command the Graph of the NEO4J_* settings (the schema applied if ``schema``);
    close it afterwards. Without NEO4J_URI: exit 2 with how to set it, and ``needs`` (why
    this command needs a graph); a graph that does not answer: exit 1."""
    try:
        graph = connect_from(settings)
    except GraphNotConfigured as exc:
        fail(f"{exc}\n{needs}" if needs else str(exc), 2)
    except GraphError as exc:
        fail(str(exc))
    try:
        path = settings.knowledge_dir / "schema.cypher"
        if schema and path.is_file():  # constraints first: MERGE without them scans every node
            apply_schema(graph, path)
        yield graph
    finally:
        graph.close()


@contextmanager
def graph_from_settings() -> Iterator[Graph]:
    """Give a Graph from NEO4J_* settings, with the schema applied; close it afterwards."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc), 2)
    with command_graph(settings, schema=True) as graph:
        yield graph


@contextmanager
def progress(description: str, total: int) -> Iterator[importer.Progress]:
    """Show a progress bar on stderr; give the function that advances it."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
    )
    task = bar.add_task(description, total=total)
    with bar:
        yield lambda rows: bar.advance(task, rows)


def report(summary: importer.ImportSummary) -> None:
    """Print skipped rows (file:line: reason) on stderr, then the counts; exit 1 if any skipped."""
    for skipped in summary.skipped[:SHOW_SKIPPED]:
        err.print(f"skipped {skipped}", markup=False)
    if summary.rows_skipped > SHOW_SKIPPED:
        err.print(f"... and {summary.rows_skipped - SHOW_SKIPPED} more skipped rows", markup=False)
    for line in summary.lines():
        out.print(line, markup=False)
    if summary.skipped:
        raise typer.Exit(1)


def _rows(file: Path) -> int:
    """Give the rows of the file to import (the progress bar's total), or exit 2 if unreadable."""
    try:
        return importer.count_rows(file)
    except importer.ImportFileError as exc:
        fail(str(exc), 2)


def interrupted(exc: CasewiseError) -> NoReturn:
    fail(
        f"{exc}\nimport stopped; what was written stays. Run the same command again to "
        "finish: rows already written are merged, not duplicated."
    )


@graph_app.command("init")
def init() -> None:
    """Apply knowledge/schema.cypher (constraints and indexes); safe to run again."""
    settings = load_settings()
    schema = settings.knowledge_dir / "schema.cypher"
    if not schema.is_file():
        fail(f"{schema} does not exist; set CASEWISE_KNOWLEDGE_DIR to the knowledge folder", 2)
    with graph_from_settings() as graph:  # applies the schema
        count = apply_schema(graph, schema)
    out.print(f"schema applied: {count} statements from {schema}", markup=False)


@graph_app.command("import")
def import_cases(
    file: Annotated[Path, typer.Argument(help="JSON Lines file: one case object per line.")],
    batch_size: BatchOption = importer.BATCH_SIZE,
) -> None:
    """Import cases with their parties, evidence and events from a JSON Lines file."""
    total = _rows(file)
    with graph_from_settings() as graph:
        try:
            with progress(f"importing {file.name}", total) as advance:
                summary = importer.import_jsonl(
                    graph, file, batch_size=batch_size, progress=advance
                )
        except importer.ImportFileError as exc:
            fail(str(exc), 2)
        except GraphError as exc:
            interrupted(exc)
    report(summary)


@graph_app.command("import-log")
def import_log(
    file: Annotated[Path, typer.Argument(help="CSV event log with a header row.")],
    case_col: Annotated[str, typer.Option("--case-col", help="Column of the case id.")],
    activity_col: Annotated[str, typer.Option("--activity-col", help="Column of the activity.")],
    time_col: Annotated[str, typer.Option("--time-col", help="Column of the timestamp.")],
    resource_col: Annotated[
        str | None, typer.Option("--resource-col", help="Column of who did it (the actor).")
    ] = None,
    case_type: Annotated[
        str, typer.Option("--case-type", help="Type of the cases created (lower-case, dashed).")
    ] = "process",
    time_format: Annotated[
        str | None,
        typer.Option(
            "--time-format", help="strptime format of the timestamps [default: ISO 8601]."
        ),
    ] = None,
    batch_size: BatchOption = importer.BATCH_SIZE,
) -> None:
    """Import a process event log: a case per case id, an event per row, in time order."""
    columns = importer.LogColumns(case_col, activity_col, time_col, resource_col)
    total = max(_rows(file) - 1, 0)  # the header is no event
    with graph_from_settings() as graph:
        try:
            with progress(f"importing {file.name}", total) as advance:
                summary = importer.import_log(
                    graph,
                    file,
                    columns,
                    case_type=case_type,
                    time_format=time_format,
                    batch_size=batch_size,
                    progress=advance,
                )
        except importer.ImportFileError as exc:
            fail(str(exc), 2)
        except GraphError as exc:
            interrupted(exc)
    report(summary)
