"""``casewise rules simulate CANDIDATE_FILE``: what a changed rule file would have decided.

A ruleset is replayed on the logged decisions of its name; a playbook on the experts'
decisions on its recommendations. Progress goes to stderr, the report to stdout (a table, or
JSON with ``--json``). Exit status: 0 simulated; 1 the file is refused (its problems as
file:line:col), nothing is logged, or the graph fails; 2 bad usage or no graph configured.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.engine import RuleFileError
from service.graph.commands import command_graph
from service.graph.db import Graph
from service.kernel.errors import CasewiseError
from service.recommend.mining import catalogue_types
from service.recommend.playbooks import CATALOGUE
from service.settings import SettingsError, load_settings
from service.simulation import run

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


def parse_time(value: str | None, option: str) -> dt.datetime | None:
    """Give a date (midnight UTC) or ISO date-time (UTC when it names no zone); None if empty."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{option} must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM[:SS][+HH:MM]), "
            f"not {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


NEEDS_GRAPH = "The decision log is in the case graph, so simulating needs it."


def simulate(
    candidate_file: Annotated[
        Path, typer.Argument(help="The changed ruleset or playbook file (named <name>.yaml).")
    ],
    since: Annotated[
        str | None, typer.Option(help="Only decisions made from this date or time (UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only decisions made before this date or time (UTC).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Replay at most this many decisions, oldest first.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Replay past decisions on a changed rule file and report what would change."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)
    try:
        start, end = parse_time(since, "--since"), parse_time(until, "--until")
    except ValueError as exc:
        _fail(str(exc), 2)
    if not candidate_file.is_file():
        _fail(f"{candidate_file} is not a file; pass the changed rule or playbook file", 2)
    try:
        actions: set[str] | None = set(catalogue_types(settings.knowledge_dir / CATALOGUE))
    except (CasewiseError, OSError):
        actions = None  # a playbook is then loaded with the catalogue beside it, if any
    try:
        candidate = run.load_candidate(
            candidate_file, max_firings=settings.max_firings, actions=actions
        )
    except RuleFileError as exc:
        for problem in exc.problems:
            out.print(str(problem), markup=False)
        _fail(f"{candidate_file} is refused: {len(exc.problems)} problem(s); nothing replayed")
    folder = (
        settings.knowledge_dir / "playbooks" if candidate.kind == "playbook" else settings.rules_dir
    )
    baseline = run.file_version(folder / f"{candidate.name}.yaml")
    with command_graph(settings, needs=NEEDS_GRAPH) as graph:
        try:
            report = _run(graph, candidate, start, end, limit, baseline)
        except run.NothingLogged as exc:
            _fail(str(exc))
        except CasewiseError as exc:
            _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    elif report["kind"] == "playbook":
        print_playbook(report)
    else:
        print_ruleset(report)


def _run(
    graph: Graph,
    candidate: Any,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int | None,
    baseline: str | None,
) -> dict[str, Any]:
    expected = run.total(graph, candidate, since=since, until=until, limit=limit)
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("replay", total=expected)
        return run.simulate(
            graph,
            candidate,
            since=since,
            until=until,
            limit=limit,
            baseline_version=baseline,
            progress=lambda n: bar.advance(task, n),
        )


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


SHOWN = 3  # example ids per row in the terminal (--json gives all 5)


def _examples(ids: list[str]) -> str:
    return "\n".join(ids[:SHOWN]) + ("\n…" if len(ids) > SHOWN else "")


def _table(title: str, *columns: str) -> Table:
    """A table whose cells wrap instead of being cut (ids and lists are long)."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def print_ruleset(report: dict[str, Any]) -> None:
    """Print a ruleset simulation's report as tables."""
    replayed, changed = report["replayed"], report["changed"]
    share = f" ({changed / replayed:.1%})" if replayed else ""
    out.print(
        f"ruleset {report['ruleset']}: candidate {report['candidate_version'][:12]} replayed on "
        f"{replayed} logged decision(s) from {report['first_at']} to {report['last_at']} "
        f"in {report['seconds']:.2f} s",
        markup=False,
    )
    out.print(
        f"  {changed} would change{share}, {report['unchanged']} would not, "
        f"{report['rejected']['count']} rejected, {report['failed']['count']} failed",
        markup=False,
    )
    if report["changes"]:
        table = _table("Changed outputs", "output", "from", "to", "decisions", "examples")
        for c in report["changes"]:
            table.add_row(
                c["field"], _show(c["from"]), _show(c["to"]), str(c["count"]),
                _examples(c["examples"]),
            )  # fmt: skip
        out.print(table)
    for key, title in (
        ("started_firing", "Would start firing"),
        ("stopped_firing", "Would stop firing"),
    ):
        if report[key]:
            table = _table(title, "rule", "decisions", "examples")
            for r in report[key]:
                table.add_row(r["rule"], str(r["count"]), _examples(r["examples"]))
            out.print(table)
    for key, what in (("rejected", "rejects"), ("failed", "cannot decide")):
        part = report[key]
        if part["count"]:
            out.print(
                f"The candidate {what} {part['count']} input(s), e.g. "
                f"{', '.join(part['examples'])}; first: {part['first_error']}",
                markup=False,
            )
    if len(report["versions"]) > 1 or report["other_versions"]:
        versions = ", ".join(f"{v[:12]} ({n})" for v, n in report["versions"].items())
        out.print(f"Decisions by version: {versions}", markup=False)
        if report["other_versions"] and report["baseline_version"]:
            out.print(
                f"  {report['other_versions']} were made by a version other than the one served "
                f"now ({report['baseline_version'][:12]}): some changes may come from earlier "
                "edits, not from the candidate",
                markup=False,
            )


def print_playbook(report: dict[str, Any]) -> None:
    """Print a playbook simulation's report as tables."""
    out.print(
        f"playbook {report['playbook']}: candidate {report['candidate_version'][:12]} replayed on "
        f"{report['replayed']} expert decision(s) ({report['accepted']} accepted, "
        f"{report['overridden']} overridden) in {report['seconds']:.2f} s",
        markup=False,
    )
    gained, lost = report["overridden_not_made"], report["accepted_lost"]
    out.print(
        f"  good: {gained['count']} of {report['overridden']} overridden recommendation(s) would "
        f"not be made ({report['overridden_now_chosen']['count']} replaced by the expert's choice)",
        markup=False,
    )
    out.print(
        f"  bad:  {lost['count']} of {report['accepted']} accepted recommendation(s) would be lost",
        markup=False,
    )
    for key, title in (
        ("overridden_not_made", "Overridden, no longer recommended"),
        ("accepted_lost", "Accepted, no longer recommended"),
        ("rejected", "Facts the candidate rejects"),
    ):
        if report[key]["examples"]:
            table = _table(title, "decision", "case", "rule", "recommended", "expert chose")
            for e in report[key]["examples"]:
                table.add_row(e["decision"], e["case"], e["rule"], e["recommended"], e["chosen"])
            out.print(table)
