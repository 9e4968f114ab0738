"""``casewise demo load``: synthetic claims and complaints, with a history of routine decisions
and of experts deciding on advice, written into the case graph."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from service.demo import cases as demo
from service.demo import decisions as demo_decisions
from service.engine import Registry
from service.graph.commands import fail, graph_from_settings, interrupted, out, progress, report
from service.graph.db import Graph, GraphError
from service.recommend.playbooks import PlaybookRegistry
from service.settings import load_settings

demo_app = typer.Typer(help="Synthetic demo data for the case graph.", no_args_is_help=True)


def _demo_history(
    graph: Graph,
    data: demo.DemoSet,
    decisions: int,
    expert_decisions: int,
    seed: int,
    day: dt.datetime | None,
) -> tuple[int, int]:
    """Write the demo's routine decisions and expert decisions; give how many of each."""
    settings = load_settings()
    routine = advised = 0
    if decisions:
        registry = Registry(max_firings=settings.max_firings)
        registry.load_dir(settings.rules_dir)  # a refused file just has no history
        history = demo_decisions.decision_history(registry, decisions, seed, as_of=day)
        routine = demo_decisions.write_decisions(graph, history)
    if expert_decisions:
        playbooks = PlaybookRegistry.load(settings.knowledge_dir, max_firings=settings.max_firings)
        open_cases = [c for c in data.cases if c.status != "closed"][:expert_decisions]
        advised = demo_decisions.expert_history(graph, playbooks, open_cases, seed)
    return routine, advised


@demo_app.command("load")
def load(
    cases: Annotated[int, typer.Option("--cases", min=0, help="Number of cases.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")] = 7,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Day the data is dated around, YYYY-MM-DD [default: today]."),
    ] = None,
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Load only into a graph that has no case yet."),
    ] = False,
    decisions: Annotated[
        int,
        typer.Option(
            "--decisions",
            min=0,
            help="Routine decisions per ruleset of CASEWISE_RULES_DIR, over the last 60 days.",
        ),
    ] = 300,
    expert_decisions: Annotated[
        int,
        typer.Option("--expert-decisions", min=0, help="Open cases whose advice experts decide."),
    ] = 60,
) -> None:
    """Generate demo claims and complaints (with three fraud rings) and write them, with a
    history of routine decisions and of experts accepting or overriding advice."""
    day = None
    if as_of is not None:
        try:
            day = dt.datetime.fromisoformat(as_of).replace(tzinfo=dt.UTC)
        except ValueError:
            fail(f"--as-of must be a date as YYYY-MM-DD, not {as_of!r}", 2)
    data = demo.generate_set(cases, seed, as_of=day)
    with graph_from_settings() as graph:
        if if_empty and not demo.graph_is_empty(graph):
            out.print("the graph already has cases; demo not loaded (--if-empty)", markup=False)
            return
        try:
            with progress("loading demo cases", cases) as advance:
                summary = demo.write_demo(graph, data, progress=advance)
            routine, advised = _demo_history(graph, data, decisions, expert_decisions, seed, day)
        except GraphError as exc:
            interrupted(exc)
    report(summary)
    out.print(
        f"demo history: {routine} routine decisions, {advised} expert decisions", markup=False
    )
    for number, ring in enumerate(data.rings, 1):
        out.print(f"fraud ring {number}: {', '.join(sorted(ring))}", markup=False)
