"""``casewise learn evaluate`` and ``casewise rules suggest``: learning from what experts do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from service.graph.commands import command_graph
from service.graph.db import GraphError
from service.kernel.errors import CasewiseError
from service.recommend import mining, nextaction, routing
from service.recommend.facts import FactQueryError
from service.recommend.playbooks import CATALOGUE
from service.settings import Settings, SettingsError, load_settings

learn_app = typer.Typer(
    help="Learn from case histories: how well the next activity can be predicted.",
    no_args_is_help=True,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)


@learn_app.command("evaluate")
def learn_evaluate(
    case_type: Annotated[
        str | None, typer.Option("--case-type", help="Only cases of this type [default: all].")
    ] = None,
    split: Annotated[
        float, typer.Option("--split", min=0.05, max=0.95, help="Share of cases to train on.")
    ] = 0.8,
    order: Annotated[
        int, typer.Option("--order", min=1, max=6, help="Longest context the model uses.")
    ] = nextaction.DEFAULT_ORDER,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Train the next-activity model on the earlier cases and print its accuracy on the later."""
    settings = _settings()
    with command_graph(settings) as graph:
        try:
            result = nextaction.evaluate(graph, split=split, order=order, case_type=case_type)
            ended = nextaction.evaluate(
                graph, split=split, order=order, case_type=case_type, end=True
            )
        except (GraphError, FactQueryError) as exc:
            _fail(str(exc))
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "with_end": ended.to_dict()}, indent=2))
        return
    if result.predictions == 0:
        scope = f"cases of type '{case_type}'" if case_type else "cases"
        _fail(f"no {scope} with two or more events in the test share; nothing to evaluate")
    out.print(
        f"next activity (order {order}), trained on {result.train_cases} case(s) "
        f"({result.train_events} events), tested on {result.test_cases}:",
        markup=False,
    )
    out.print("               activities only   with the end of closed cases", markup=False)
    out.print(f"  predictions  {result.predictions:<17} {ended.predictions}", markup=False)
    out.print(f"  top-1        {result.top1:<17.3f} {ended.top1:.3f}", markup=False)
    out.print(f"  top-3        {result.top3:<17.3f} {ended.top3:.3f}", markup=False)
    out.print(f"  took         {result.seconds + ended.seconds:.2f} s", markup=False)


def suggest(
    knowledge: Annotated[
        Path | None,
        typer.Option(
            "--knowledge",
            help="Folder with actions.yaml and playbooks/ [default: CASEWISE_KNOWLEDGE_DIR].",
        ),
    ] = None,
    playbook: Annotated[
        str | None, typer.Option("--playbook", help="Only this playbook's rules [default: all].")
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Folder of rule files [default: CASEWISE_RULES_DIR]."),
    ] = None,
    ruleset: Annotated[
        str | None,
        typer.Option("--ruleset", help="Only this ruleset's escalating rules [default: all]."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the suggestions as JSON.")] = False,
) -> None:
    """Print playbook rules experts keep overriding, and routing rules whose cases experts
    close with no action, each with a proposed change as a diff."""
    settings = _settings()
    folder = knowledge or settings.knowledge_dir
    catalogue = _catalogue(folder)
    with command_graph(settings) as graph:
        try:
            # --playbook alone asks for playbook rules only, --ruleset alone for routing rules.
            escalations = (
                []
                if playbook and not ruleset
                else routing.suggest_routing(
                    graph,
                    rules or settings.rules_dir,
                    routing.outcome_set(settings.suggest_no_action_outcomes),
                    min_rate=settings.suggest_min_rate,
                    min_cases=settings.suggest_min_decisions,
                    ruleset=ruleset,
                    max_firings=settings.max_firings,
                )
            )
            found = (
                []
                if ruleset and not playbook
                else mining.suggest(
                    graph,
                    folder / "playbooks",
                    set(catalogue),
                    min_rate=settings.suggest_min_rate,
                    min_decisions=settings.suggest_min_decisions,
                    case_types=catalogue,
                    playbook=playbook,
                )
            )
        except (GraphError, FactQueryError) as exc:
            _fail(str(exc))
    if as_json:
        both = {
            "suggestions": [s.to_dict() for s in found],
            "routing_suggestions": [s.to_dict() for s in escalations],
        }
        typer.echo(json.dumps(both, indent=2, ensure_ascii=False))
        return
    _print_routing(escalations)
    if ruleset and not playbook:
        if not escalations:
            out.print(
                f"no escalating rule of {ruleset} opened cases closed with no action in "
                f"{settings.suggest_min_rate:.0%} or more of at least "
                f"{settings.suggest_min_decisions} cases",
                markup=False,
            )
        return
    if not found:
        out.print(
            f"no rule is overridden in {settings.suggest_min_rate:.0%} or more of at least "
            f"{settings.suggest_min_decisions} decisions",
            markup=False,
        )
        return
    for s in found:
        out.print(
            f"{s.playbook} / {s.rule}: '{s.recommended_action}' overridden {s.overridden} of "
            f"{s.decisions} times ({s.override_rate:.0%}); chosen instead: "
            + (", ".join(f"{a} ({n})" for a, n in s.alternatives.items()) or "-"),
            markup=False,
        )
        for reason in s.reasons[:5]:
            out.print(f"  {reason['count']} x {reason['reason']}", markup=False)
        out.print(
            f"  cases: {', '.join(s.cases[:10])}" + (" ..." if len(s.cases) > 10 else ""),
            markup=False,
        )
        out.print(f"  {s.note}", markup=False)
        if s.diff:
            out.print(s.diff, markup=False)


def _print_routing(found: list[routing.RoutingSuggestion]) -> None:
    """Print the routing-rule suggestions (nothing when there are none)."""
    for s in found:
        outcomes = ", ".join(f"{o} ({n})" for o, n in s.outcomes.items())
        out.print(
            f"{s.ruleset} / {s.rule}: {s.no_action} of {s.cases} closed case(s) it opened ended "
            f"with no action ({s.no_action_rate:.0%}); outcomes: {outcomes}",
            markup=False,
        )
        shown = s.no_action_cases[:10]
        more = " ..." if len(s.no_action_cases) > 10 else ""
        out.print(f"  no-action cases: {', '.join(shown)}{more}", markup=False)
        out.print(f"  {s.note}", markup=False)
        if s.diff:
            out.print(s.diff, markup=False)


def _catalogue(folder: Path) -> dict[str, tuple[str, ...]]:
    """Give the catalogue's actions with their case types (exit 1 naming the problem)."""
    try:
        return mining.catalogue_types(folder / CATALOGUE)
    except (CasewiseError, OSError) as exc:
        _fail(f"cannot load the action catalogue {folder / CATALOGUE}: {exc}")
