"""The ``casewise`` command, a composition root: serve the API, make one decision, check and test
rule files, and every package's commands (graph, demo, neo4j, users, keys, learn, simulate)."""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from service.api import reload_command
from service.api.cluster_command import cluster_app
from service.auth.commands import keys_app, users_app
from service.decisionlog.commands import decisions_app
from service.demo.commands import demo_app
from service.devtools.commands import neo4j_app
from service.dmn import commands as dmn_commands
from service.engine import (
    Decision,
    DecisionError,
    InputError,
    Problem,
    Registry,
    RuleFileError,
    Ruleset,
    load_ruleset,
)
from service.graph.commands import graph_app
from service.recommend.commands import learn_app, suggest
from service.settings import ENV_PREFIX, Settings, SettingsError, configure_limits, load_settings
from service.simulation.commands import simulate

app = typer.Typer(
    help="Casewise: routine decisions by rules, complex work as cases.",
    no_args_is_help=True,
    add_completion=False,
)
rules_app = typer.Typer(help="Check and test rule files.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(graph_app, name="graph")
app.add_typer(demo_app, name="demo")
app.add_typer(learn_app, name="learn")
# Identity and roles (service/auth/commands.py).
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
# The decision log (service/decisionlog/commands.py).
app.add_typer(decisions_app, name="decisions")
# Comparing the nodes of a multi-node install (service/api/cluster_command.py).
app.add_typer(cluster_app, name="cluster")
rules_app.command("suggest")(suggest)
# Reloading a running Casewise (service/api/reload_command.py).
rules_app.command("reload")(reload_command.reload)
# Replaying past decisions on a changed file (service/simulation/commands.py).
rules_app.command("simulate")(simulate)
# DMN models in and out, and the DMN TCK (service/dmn/commands.py).
rules_app.command("import-dmn")(dmn_commands.import_dmn)
rules_app.command("export-dmn")(dmn_commands.export_dmn)
rules_app.command("tck")(dmn_commands.tck)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="Folder of rule files [default: CASEWISE_RULES_DIR or rules]."),
]


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        _fail(str(exc), 2)
    configure_limits(settings)
    return settings


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind [default: CASEWISE_HOST or 127.0.0.1].")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on [default: CASEWISE_PORT or 8000].")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes to serve with.")] = 1,
    rules: RulesOption = None,
    probe_port: Annotated[
        int | None,
        typer.Option(
            help="Also answer /healthz and /readyz on this port, from the supervisor, however "
            "loaded the workers are [default: CASEWISE_PROBE_PORT, or none].",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (decisions, rulesets, health) with uvicorn."""
    import uvicorn

    settings = _settings(host=host, port=port, rules_dir=rules, probe_port=probe_port)
    if not settings.rules_dir.is_dir():
        _fail(f"rules folder {settings.rules_dir} does not exist; pass --rules DIR", 2)
    # The session secret is made here, once, before the workers start and read it (or refused).
    from service.auth.sessions import SecretKeyError, session_secret

    try:
        session_secret(settings)
    except SecretKeyError as exc:
        _fail(f"error: {exc}", 2)
    # Each worker process builds its app from the environment, so hand the options on there.
    os.environ[ENV_PREFIX + "RULES_DIR"] = str(settings.rules_dir)
    os.environ[ENV_PREFIX + "HOST"] = settings.host
    os.environ[ENV_PREFIX + "PORT"] = str(settings.port)
    from service.http.listeners import Supervisor, spread_sockets
    from service.http.logsetup import json_log_config, text_log_config
    from service.http.metrics import metrics_folder
    from service.http.probeport import ProbePortError
    from service.http.probeport import probe_port as probes

    json_logs = settings.log_format == "json"
    log_config = json_log_config(settings.log_level) if json_logs else text_log_config()
    config = uvicorn.Config(
        "service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=log_config,
        access_log=not json_logs,  # the JSON line of each request replaces uvicorn's
        # httptools, answering /healthz and what admission sheds at once (one write, no app)
        http="service.http.shedding:EdgeProtocol",
        # uvloop, taking in every connection waiting at a worker's socket each turn
        loop="service.http.accepting:TakingLoop",
        # a worker busy starting (loading rules, on a loaded machine) is not killed as hung
        timeout_worker_healthcheck=30,
    )
    # Every worker's metrics in files of one folder, so /metrics shows all of them; with a
    # probe port, the supervisor answers the probes there (one worker is then supervised too).
    server = uvicorn.Server(config)
    supervised = workers > 1 or settings.probe_port is not None
    try:  # a socket per worker; with one, uvicorn binds (and reports a port in use) itself
        sockets = spread_sockets(config) if supervised else []
    except OSError as exc:
        _fail(f"error: cannot listen on {settings.host}:{settings.port}: {exc}", 1)
    try:
        with metrics_folder(workers), probes(settings.host, settings.probe_port):
            if supervised:
                Supervisor(config, sockets).run()
            else:
                server.run()
    except ProbePortError as exc:
        _fail(f"error: {exc}", 2)
    except KeyboardInterrupt:
        pass
    if not supervised and not server.started:
        raise typer.Exit(3)  # uvicorn's start-up failure, as uvicorn.run gives it


@app.command()
def decide(
    ruleset: Annotated[str, typer.Argument(help="Name of the ruleset (its file name).")],
    input_file: Annotated[
        str, typer.Option("--input", "-i", help="JSON file with the input object, or - for stdin.")
    ],
    rules: RulesOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print a readable explanation instead of JSON.")
    ] = False,
    today: Annotated[
        str | None, typer.Option(help="Date `today` means, as YYYY-MM-DD [default: today].")
    ] = None,
) -> None:
    """Make one decision and print it as JSON (or explained with --explain)."""
    settings = _settings(rules_dir=rules)
    data = _read_input(input_file)
    day = _parse_day(today)
    target = _load_one(settings, ruleset)
    try:
        decision = target.evaluate(data, today=day)
    except InputError as exc:
        lines = [f"invalid input for ruleset '{ruleset}':"]
        lines += [f"  {d['field']}: {d['message']}" for d in exc.details]
        _fail("\n".join(lines))
    except DecisionError as exc:
        _fail(f"decision failed ({exc.reason}): {exc.message}")
    if explain:
        _explain(target, decision)
    else:
        typer.echo(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False, default=str))


def _read_input(source: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read input {source}: {exc.strerror}", 2)
    try:
        data = json.loads(text)
    except ValueError as exc:
        _fail(f"input {source} is not valid JSON: {exc}", 2)
    if not isinstance(data, dict):
        _fail(f"input {source} must be a JSON object, not {type(data).__name__}", 2)
    return data


def _parse_day(value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        _fail(f"--today must be a date as YYYY-MM-DD, not {value!r}", 2)


def _load_one(settings: Settings, name: str) -> Ruleset:
    path = settings.rules_dir / f"{name}.yaml"
    if not path.is_file():
        known = sorted(
            p.name.removesuffix(".yaml")
            for p in settings.rules_dir.glob("*.yaml")
            if not p.name.endswith(".test.yaml")
        )
        hint = ", ".join(known) if known else "none"
        _fail(f"no ruleset '{name}' in {settings.rules_dir} (no {path}); rulesets there: {hint}")
    try:
        return load_ruleset(path, max_firings=settings.max_firings)
    except RuleFileError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from None


def _explain(ruleset: Ruleset, decision: Decision) -> None:
    out.print(f"[bold]Decision[/] {decision.id}")
    out.print(f"Ruleset   {decision.ruleset}  version {decision.version}")
    out.print(f"Took      {decision.duration_ms:.3f} ms")
    outputs = Table("output", "value", box=None, title="Outputs", title_justify="left")
    for name, value in decision.outputs.items():
        outputs.add_row(name, _show(value))
    out.print(outputs)
    if decision.values:
        values = Table("value", "decided", box=None, title="Values", title_justify="left")
        for name, value in decision.values.items():
            values.add_row(name, _show(value))
        out.print(values)
    descriptions = _rule_descriptions(ruleset)
    if decision.fired:
        fired = Table("#", "rule", "read", box=None, title="Fired rules", title_justify="left")
        for number, rule in enumerate(decision.fired, 1):
            label = rule.rule
            if descriptions.get(rule.rule):
                label += f" — {descriptions[rule.rule]}"
            read = ", ".join(f"{k} = {_show(v)}" for k, v in rule.values.items())
            fired.add_row(str(number), label, read or "-")
        out.print(fired)
    else:
        out.print("Fired rules: none")
    out.print("Facts: " + (", ".join(decision.facts) if decision.facts else "none"))


def _rule_descriptions(ruleset: Ruleset) -> dict[str, str]:
    described = ruleset.describe()
    found: dict[str, str] = {}
    for rule in described.get("rules") or []:
        if isinstance(rule, dict) and rule.get("id") and rule.get("description"):
            found[str(rule["id"])] = str(rule["description"])
    return found


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        out.print(str(problem), markup=False)


RulePathArgument = Annotated[
    Path | None,
    typer.Argument(
        help="Rule, playbook or test file, or a folder [default: CASEWISE_RULES_DIR and the "
        "playbooks in CASEWISE_KNOWLEDGE_DIR]."
    ),
]


@rules_app.command("check")
def rules_check(
    path: RulePathArgument = None,
) -> None:
    """Load rule files and print every problem as file:line:col: message (exit 1 if any)."""
    settings = _settings()
    for target in _rule_targets(path, settings):
        registry = Registry(max_firings=settings.max_firings)
        problems = registry.load_dir(target)
        names = registry.names()
        if problems:
            _print_problems(problems)
            files = len({p.path for p in problems})
            _fail(f"{len(problems)} problem(s) in {files} file(s)")
        if not names:
            _fail(f"no rule files in {target}")
        out.print(f"ok: {len(names)} file(s) in {target}: {', '.join(sorted(names))}", markup=False)


def _rule_targets(path: Path | None, settings: Settings) -> list[Path]:
    """The given path, or the rules folder and (when it exists) the playbooks folder."""
    playbooks = settings.knowledge_dir / "playbooks"
    targets = [path] if path else [settings.rules_dir, *([playbooks] if playbooks.is_dir() else [])]
    for target in targets:
        if not target.exists():
            _fail(f"{target} does not exist; pass a rule, playbook or test file, or a folder", 2)
    return targets


@rules_app.command("lint")
def rules_lint(
    path: RulePathArgument = None,
) -> None:
    """Find rules that never fire, conflicting sets, table gaps and overlaps, unused fields."""
    from service.engine.lint import ERROR, Finding, lint_path

    settings = _settings()
    findings: list[Finding] = []
    problems: list[Problem] = []
    for target in _rule_targets(path, settings):
        found, broken = lint_path(target, max_firings=settings.max_firings)
        findings += found
        problems += broken
    for line in [*problems, *findings]:
        typer.echo(str(line))
    errors = sum(f.severity == ERROR for f in findings)
    typer.echo(
        f"{errors} error(s), {len(findings) - errors} warning(s)"
        + (f", {len(problems)} problem(s) loading files" if problems else "")
    )
    if errors or problems:
        raise typer.Exit(1)


@rules_app.command("test")
def rules_test(
    path: RulePathArgument = None,
) -> None:
    """Run the example tests (*.test.yaml) beside the rule files; exit 1 if any fails."""
    from service.engine.testing import run_suite

    settings = _settings()
    failed = False
    for target in _rule_targets(path, settings):
        try:
            result = run_suite(target)
        except RuleFileError as exc:
            _print_problems(exc.problems)
            raise typer.Exit(1) from None
        out.print(result.report(), markup=False)
        failed = failed or result.failed > 0 or bool(getattr(result, "problems", None))
    if failed:
        raise typer.Exit(1)
