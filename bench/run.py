"""`python -m bench.run` (`make bench`): Casewise against plain Python, zen-engine and CLIPS,
over HTTP against a bare FastAPI app, and its memory over a million decisions.

Every comparison implementation is first checked to give Casewise's outputs on every input
the bench uses; the run stops with the differences if one does not. The table is printed
and written to bench/results-latest.md.

Options: --quick (short runs, a smoke check), --skip-http, --skip-memory, --skip-inprocess,
--skip-graph (no Neo4j ingest rate and case query latencies on the 10,000-case demo graph),
--skip-simulation (no replay throughput, alone and reading the log from Neo4j),
--skip-reload (no reload time of a generated 1,000-rule file),
--skip-overload (no overload run: offered 1x, 2x, 4x capacity; bench/overload.py),
--skip-log (no decision log figures: group commit cost, HTTP decisions/s with the log off),
--skip-two-nodes (no decisions/s through two nodes vs one on one TLS Neo4j, bench/two_nodes.py),
--sample N, --dump DIR (write the generated rulesets, Python, JDM graphs and CLIPS rules
there), --profile (print where Casewise's time goes on invoice-approval).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from service.auth.store import Neo4jStore, create_key
from service.devtools.localneo4j import LOCAL_USER, password
from service.engine import load_ruleset

from . import http_load, two_nodes
from .decision_log import (
    WARM_BY_LOAD_SECONDS,
    decision_log_rows,
    local_neo4j_pid,
    records_of,
    wait_for_flush,
    wait_for_quiet_neo4j,
    warm_by_load,
    write_split,
)
from .floor import c_floor
from .generate import write_ruleset
from .graph import DATA_DIR as GRAPH_DATA_DIR
from .graph import GraphPlan, graph_rows
from .graph import _graph as bench_graph
from .inprocess import Rate, rss_growth, throughput
from .overload import overload_rows
from .reload import reload_rows
from .report import Row, markdown, rate, text_table
from .subjects import (
    CLIPS,
    PLAIN,
    ZEN,
    ZEN_DECISION,
    Decide,
    NotEquivalent,
    Subject,
    check_equivalent,
    implementations,
    prepare,
)

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
INVOICE = RULES / "invoice-approval.yaml"
RESULTS = ROOT / "bench" / "results-latest.md"
TODAY = dt.date(2026, 3, 2)  # fixed, so that runs decide the same inputs the same way

IN_PROCESS_TARGET = 4.0  # Casewise decisions/s over zen-engine's and over CLIPS'
PLAIN_TARGET = 0.20  # Casewise decisions/s over the plain Python function's
HTTP_TARGET = 0.70  # Casewise single decisions/s, decision log off, over bare requests/s
HTTP_LOG_TARGET = 0.50  # the same with the decision log on (issue 16)
DURABLE = "Casewise, durable engine"
RSS_TARGET = 5.0  # % growth over the memory run
BATCH = 100


@dataclass(frozen=True)
class Plan:
    decisions: int  # per implementation, per ruleset, per round
    rounds: int
    max_seconds: float  # per measurement
    memory_calls: int
    http_seconds: float  # per wrk measurement, after a warm-up run of http_warmup
    http_warmup: float
    http_rounds: int
    sample: int


FULL = Plan(100_000, 3, 60, 1_000_000, 10, 3, 2, 2000)
QUICK = Plan(20_000, 1, 15, 100_000, 3, 1, 1, 1000)


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    plan = QUICK if args.quick else FULL
    if args.sample:
        plan = Plan(**{**plan.__dict__, "sample": args.sample})
    rows: list[Row] = []
    notes = _environment(plan, args)
    try:
        with tempfile.TemporaryDirectory(prefix="casewise-bench-") as tmp:
            generated = write_ruleset(Path(tmp))
            subjects = [prepare(path, plan.sample, TODAY) for path in (INVOICE, generated)]
            impls = {s.name: implementations(s) for s in subjects}
            for s in subjects:
                for name, decide in impls[s.name].items():
                    check_equivalent(s, name, decide)
                rejected = f" ({s.rejected} generated inputs refused)" if s.rejected else ""
                say(
                    f"{s.name}: {PLAIN}, {ZEN} and {CLIPS} give Casewise's outputs on all "
                    f"{len(s.inputs)} inputs{rejected}"
                )
                notes.append(
                    f"{s.name}: {len(s.model.rules)} rules, {len(s.model.tables)} table(s); "
                    f"equivalence checked on all {len(s.inputs)} inputs used"
                )
            if args.dump:
                _dump(Path(args.dump), subjects)
            if args.profile:
                _profile(subjects[0])
            for s in subjects:
                if not args.skip_inprocess:
                    rows += _in_process(s, impls[s.name], plan)
            if not args.skip_memory:
                rows += _memory(subjects[0], plan)
            if not args.skip_http:
                rows += _http(subjects[0], plan, log_off=not args.skip_log)
            if not args.skip_log:
                rows += decision_log_rows(say, args.quick)
            if not args.skip_two_nodes:
                rows += two_nodes.subject_rows(
                    subjects[0], plan.http_seconds, plan.http_warmup, say
                )
            if not args.skip_graph:
                cases = 1_000 if args.quick else 10_000
                rows += graph_rows(GraphPlan(cases, 50 if args.quick else 300), say)
            if not args.skip_simulation:
                rows += _simulation(subjects[0], 20_000 if args.quick else 100_000)
            if not args.skip_reload:
                rows += reload_rows(say, 2 if args.quick else 5)
            if not args.skip_overload:
                rows += overload_rows(say, args.quick)
    except NotEquivalent as exc:
        print(f"\nEQUIVALENCE CHECK FAILED — nothing was timed.\n{exc}", file=sys.stderr)
        return 1
    except http_load.HttpBenchError as exc:
        print(f"\nHTTP BENCH FAILED\n{exc}", file=sys.stderr)
        return 1
    say("")
    say(text_table(rows))
    title = "Casewise benchmark" + (" (quick)" if args.quick else "")
    out = Path(args.output)
    out.write_text(markdown(title, notes, rows), encoding="utf-8")
    say(f"\nwritten to {out}")
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short runs (20k decisions, 3 s HTTP)")
    p.add_argument("--skip-http", action="store_true", help="no HTTP measurements")
    p.add_argument("--skip-memory", action="store_true", help="no memory measurement")
    p.add_argument("--skip-inprocess", action="store_true", help="no in-process throughput")
    p.add_argument("--skip-graph", action="store_true", help="no case graph ingest and reads")
    p.add_argument(
        "--skip-simulation", action="store_true", help="no simulation (replay) throughput"
    )
    p.add_argument(
        "--skip-log", action="store_true", help="no decision log figures (group commit, on/off)"
    )
    p.add_argument("--skip-reload", action="store_true", help="no reload of a 1,000-rule file")
    p.add_argument(
        "--skip-overload", action="store_true", help="no overload run (1x, 2x, 4x capacity)"
    )
    p.add_argument("--skip-two-nodes", action="store_true", help="no two-node run (one TLS Neo4j)")
    p.add_argument("--sample", type=int, default=0, help="inputs per ruleset (default 2000)")
    p.add_argument("--output", default=str(RESULTS), help=f"Markdown file [default: {RESULTS}]")
    p.add_argument("--dump", metavar="DIR", help="write the generated translations to DIR")
    p.add_argument("--profile", action="store_true", help="profile Casewise on invoice-approval")
    return p.parse_args(argv)


# ---------------------------------------------------------------- in process


def _in_process(subject: Subject, impls: dict[str, Decide], plan: Plan) -> list[Row]:
    evaluate, today = subject.ruleset.evaluate, subject.today
    durable_evaluate = load_ruleset(subject.path, engine="durable").evaluate

    def casewise(data: dict[str, Any]) -> Any:
        return evaluate(data, today=today)

    def durable(data: dict[str, Any]) -> Any:
        return durable_evaluate(data, today=today)

    contenders: dict[str, Decide] = {"Casewise": casewise, DURABLE: durable, **impls}
    best: dict[str, Rate] = {}
    for n in range(plan.rounds):
        for name, decide in contenders.items():
            # the slow zen API only gets a short run: it is shown for information
            count = plan.decisions // 5 if name == ZEN_DECISION else plan.decisions
            got = throughput(decide, subject.inputs, count, max_seconds=plan.max_seconds)
            if name not in best or got.per_second > best[name].per_second:
                best[name] = got
            say(
                f"  {subject.name} round {n + 1}/{plan.rounds}: {name:<30} "
                f"{got.per_second:>12,.0f} decisions/s ({got.decisions:,} in {got.seconds:.1f} s)"
            )
    ours = best["Casewise"].per_second
    rows = [Row(f"in-process {subject.name}: Casewise", rate(ours))]
    floor = c_floor(durable, subject.inputs).per_second
    say(f"  {subject.name}: durable_rules C calls alone, replayed: {floor:,.0f} decisions/s")
    rows.append(
        Row(
            f"in-process {subject.name}: durable_rules C calls alone (floor)",
            rate(floor),
            f"floor / {ZEN}",
            f"{floor / best[ZEN].per_second:.2f}x",
            "info",
        )
    )
    targets = {ZEN: IN_PROCESS_TARGET, CLIPS: IN_PROCESS_TARGET, PLAIN: PLAIN_TARGET}
    for name in (DURABLE, ZEN, CLIPS, PLAIN, ZEN_DECISION):
        theirs = best[name].per_second
        ratio = ours / theirs
        target = targets.get(name)
        rows.append(
            Row(
                f"in-process {subject.name}: {name}",
                rate(theirs),
                f"Casewise / {name}",
                f"{ratio:.2f}x",
                f">= {target:g}x" if target else "info",
                (ratio >= target) if target else None,
            )
        )
    return rows


# ---------------------------------------------------------------- memory


def _memory(subject: Subject, plan: Plan) -> list[Row]:
    evaluate, today = subject.ruleset.evaluate, subject.today
    say(f"memory: {plan.memory_calls:,} evaluate calls on {subject.name} after 10,000 warm-up")
    result = rss_growth(
        lambda data: evaluate(data, today=today), subject.inputs, plan.memory_calls, progress=say
    )
    mib = 2**20
    return [
        Row(f"RSS before {plan.memory_calls:,} evaluate calls", f"{result.before / mib:.1f} MiB"),
        Row(
            f"RSS after {plan.memory_calls:,} evaluate calls ({result.seconds:.0f} s)",
            f"{result.after / mib:.1f} MiB",
            "growth",
            f"{result.growth:+.2f}%",
            f"< {RSS_TARGET:g}%",
            result.growth < RSS_TARGET,
        ),
    ]


# ---------------------------------------------------------------- HTTP


def _http(subject: Subject, plan: Plan, log_off: bool = False) -> list[Row]:
    wrk = http_load.ensure_wrk(say)
    # The server has a graph (it holds the API key), so an input whose decision opens a case
    # would write one to Neo4j: that is the graph's cost, timed under "graph", not the
    # decision's. The HTTP load sends the routine inputs only.
    inputs = [
        d
        for d in subject.inputs
        if not subject.ruleset.evaluate(d, today=subject.today).outputs.get("open_case")
    ]
    say(f"HTTP: {len(inputs)} of {len(subject.inputs)} inputs open no case; they are sent")
    singles = [json.dumps(d).encode() for d in inputs[:200]]
    batches = [
        json.dumps({"items": inputs[i : i + BATCH]}).encode()
        for i in range(0, min(len(inputs), 10 * BATCH), BATCH)
    ]
    path = f"/v1/decisions/{subject.name}"
    log_level = os.environ.get("CASEWISE_LOG_LEVEL", "info").lower()
    # Casewise checks an API key on every decision, as in production: the key is stored in a
    # Neo4j (the bench's own, or NEO4J_URI) and verified once per worker, then cached. The
    # bare app gets the same header, so both parse the same request.
    with (
        tempfile.TemporaryDirectory(prefix="casewise-wrk-") as tmp,
        bench_graph(say) as (graph, _),
    ):
        key = create_key(Neo4jStore(graph), "bench", [subject.name])
        headers = {"Authorization": f"Bearer {key}"}
        graph_env = {
            # the decision log is on, as in production: the spool in a folder of the run's own,
            # the records written to that graph (with NEO4J_URI set: there, ~100,000 a run)
            "CASEWISE_SPOOL_DIR": str(Path(tmp, "spool")),
            "NEO4J_URI": graph.uri,
            "NEO4J_USER": os.environ.get("NEO4J_USER", LOCAL_USER),
            "NEO4J_PASSWORD": os.environ.get("NEO4J_PASSWORD", "neo4j")
            if os.environ.get("NEO4J_URI")
            else password(GRAPH_DATA_DIR),
            "NEO4J_DATABASE": graph.database,
        }
        single_lua, batch_lua = Path(tmp, "single.lua"), Path(tmp, "batch.lua")
        single_lua.write_text(http_load.lua_script(singles, headers))
        batch_lua.write_text(http_load.lua_script(batches, headers))

        # CPU per request (the server's workers and wrk's), by label: the least of the rounds.
        # On a machine shared with other work it compares the two where rates cannot.
        cpu: dict[str, float] = {}
        # Where a request's CPU goes (event loop, the workers' other threads, Neo4j), in µs,
        # from the label's fastest run (its rate first): the decision log's cost as paid.
        splits: dict[str, tuple[float, float, float, float | None]] = {}
        neo4j_pid = local_neo4j_pid()

        def load(server: http_load.Server, route: str, script: Path, label: str) -> float:
            url = server.url(route)
            batch = route.endswith("/batch")
            conns = http_load.BATCH_CONNECTIONS if batch else http_load.CONNECTIONS
            http_load.run_wrk(wrk, url, script, seconds=plan.http_warmup, connections=conns)
            # A run whose connections bunched on one worker measured one worker, not the two
            # served (bare or Casewise alike, by chance): it is measured again, twice at most.
            for _ in range(3):
                got = http_load.measured_run(
                    wrk, server, url, script, plan.http_seconds, conns, neo4j_pid
                )
                if got.errors:
                    raise http_load.HttpBenchError(f"{label}: {got.errors}")
                per_request = got.cpu_per_request()
                workers = "/".join(f"{c / plan.http_seconds:.2f}" for c in got.server_cpu or [])
                loop_us = got.per_request(got.loop_cpu) or 0.0
                threads_us = got.per_request(got.threads_cpu) or 0.0
                neo4j_us = got.per_request(got.neo4j_cpu)
                say(
                    f"  {label:<28} {got.requests_per_second:>10,.0f} requests/s "
                    f"(latency avg {got.latency}, {got.requests:,} requests; "
                    f"CPU {per_request or 0:,.0f} us/request, workers {workers} cores; "
                    f"event loops {loop_us:.0f}, other threads {threads_us:.0f}"
                    + (f", Neo4j {neo4j_us:.0f}" if neo4j_us is not None else "")
                    + " us/request)"
                    + (" — connections bunched on one worker: again" if got.bunched() else "")
                )
                if not got.bunched():
                    break
            if per_request:
                cpu[label] = min(cpu.get(label, per_request), per_request)
            if got.requests_per_second > splits.get(label, (0.0,))[0]:
                splits[label] = (got.requests_per_second, loop_us, threads_us, neo4j_us)
            return got.requests_per_second

        bare_port, cw_port = http_load.free_port(), http_load.free_port()
        bare_command = http_load.bare_command(bare_port, log_level)
        cw_command = http_load.casewise_command(cw_port, RULES)
        say(
            f"HTTP: bare FastAPI app and casewise serve, each uvicorn --workers "
            f"{http_load.WORKERS} (log level {log_level}); wrk -t1 -c{http_load.CONNECTIONS}, "
            "measured in turn"
        )
        best: dict[str, float] = {}
        with (
            contextlib.ExitStack() as stack,
            http_load.serving("bare", bare_command, bare_port, path, singles[0], headers) as bare,
            http_load.serving(
                "casewise", cw_command, cw_port, path, singles[0], headers, graph_env
            ) as cw,
        ):
            _check_answers(cw, path, singles[0], batches[0], headers)
            # Neo4j's write path compiled as in a Neo4j that has served a while, then where a
            # logged record's cost goes, then the HTTP rounds
            warmed = warm_by_load(
                lambda: http_load.run_wrk(wrk, cw.url(path), single_lua, seconds=plan.http_seconds),
                WARM_BY_LOAD_SECONDS if plan.decisions >= FULL.decisions else 3 * plan.http_seconds,
            )
            if warmed is not None:
                say(
                    f"HTTP: Neo4j warmed by {warmed[0]:.0f} s of Casewise's logged load "
                    f"(JIT compilers {warmed[1]:.0%} of its CPU at last)"
                )
                say(f"  (decision log backlog written to Neo4j in {wait_for_flush(graph):.1f} s)")
            split_rows = write_split(
                graph, say, plan.http_rounds, plan.decisions < FULL.decisions,
                records_of(subject, inputs[:200]),
            )  # fmt: skip
            servers = [("bare FastAPI", bare, path, single_lua)]
            servers += [("Casewise single", cw, path, single_lua)]
            if log_off:  # the same service with CASEWISE_DECISION_LOG=off, measured in turn
                off_port = http_load.free_port()
                off_env = {**graph_env, "CASEWISE_DECISION_LOG": "off"}
                off_command = http_load.casewise_command(off_port, RULES)
                off = stack.enter_context(
                    http_load.serving("nolog", off_command, off_port, path, singles[0], headers,
                                      off_env)
                )  # fmt: skip
                servers += [("Casewise single, log off", off, path, single_lua)]
            servers += [(f"Casewise batch of {BATCH}", cw, path + "/batch", batch_lua)]
            # Both servers idle while the other is loaded; taking the best of alternating
            # rounds keeps a burst of other work on this machine from deciding the ratio.
            for n in range(plan.http_rounds):
                say(f" round {n + 1}/{plan.http_rounds}")
                for label, server, route, script in servers:
                    quiet_in = wait_for_quiet_neo4j()
                    if quiet_in >= 1:
                        say(f"  (waited {quiet_in:.1f} s for Neo4j to go quiet)")
                    got = load(server, route, script, label)
                    best[label] = max(best.get(label, 0.0), got)
                    if server is cw and log_off:
                        drained_in = wait_for_flush(graph)  # its backlog would slow the next
                        say(f"  (decision log backlog written to Neo4j in {drained_in:.1f} s)")
    bare_rps = best["bare FastAPI"]
    single_rps = best["Casewise single"]
    batch_rps = best[f"Casewise batch of {BATCH}"]
    batch_dps = batch_rps * BATCH
    log_rows = []
    if log_off:
        off_rps = best["Casewise single, log off"]
        log_rows.append(
            Row(
                "HTTP Casewise single, decision log off",
                rate(off_rps),
                "single / bare",
                f"{off_rps / bare_rps:.0%}",
                f">= {HTTP_TARGET:.0%}",
                off_rps / bare_rps >= HTTP_TARGET,
            )
        )
        log_rows.append(Row("HTTP single, log on / log off", f"{single_rps / off_rps:.0%}"))
        on_split, off_split = splits.get("Casewise single"), splits.get("Casewise single, log off")
        if on_split and off_split:
            log_rows.append(
                Row(
                    "HTTP CPU per decision, log on: event loops / other threads / Neo4j",
                    _split_text(on_split),
                    "log off",
                    _split_text(off_split),
                )
            )
        off_cpu, bare_cpu = cpu.get("Casewise single, log off"), cpu.get("bare FastAPI")
        if off_cpu and bare_cpu:
            log_rows.append(
                Row(
                    "HTTP CPU per request (workers + wrk), decision log off",
                    f"{off_cpu:,.0f} us",
                    "bare's CPU / this",
                    f"{bare_cpu / off_cpu:.0%}",
                )
            )
    return [
        Row("HTTP bare FastAPI (constant JSON)", rate(bare_rps, "requests/s")),
        Row(
            "HTTP Casewise POST /v1/decisions/invoice-approval (decision log on)",
            rate(single_rps),
            "single / bare",
            f"{single_rps / bare_rps:.0%}",
            f">= {HTTP_LOG_TARGET:.0%}",
            single_rps / bare_rps >= HTTP_LOG_TARGET,
        ),
        *log_rows,
        *split_rows,
        Row(
            f"HTTP Casewise POST .../batch ({BATCH} items)",
            rate(batch_dps),
            "batch decisions/s / bare requests/s",
            f"{batch_dps / bare_rps:.2f}x",
        ),
    ]


def _split_text(split: tuple[float, float, float, float | None]) -> str:
    _, loop_us, threads_us, neo4j_us = split
    neo4j = "?" if neo4j_us is None else f"{neo4j_us:.0f}"
    return f"{loop_us:.0f} / {threads_us:.0f} / {neo4j} µs"


def _check_answers(
    server: http_load.Server, path: str, single: bytes, batch: bytes, headers: dict[str, str]
) -> None:
    status, answer = http_load.post(server.url(path), single, headers)
    if status != 200 or "outputs" not in answer:
        raise http_load.HttpBenchError(f"single decision answered {status}: {answer}")
    status, answer = http_load.post(server.url(path + "/batch"), batch, headers)
    failed = [r for r in (answer or {}).get("results", []) if "decision" not in r]
    if status != 200 or failed or len(answer["results"]) != BATCH:
        raise http_load.HttpBenchError(f"batch answered {status}; failed items: {failed[:3]}")


# ---------------------------------------------------------------- simulation


def _simulation(subject: Subject, count: int) -> list[Row]:
    """Replay throughput, alone and reading the log from Neo4j (NEO4J_URI's, or the bench's)."""
    from .simulate import simulation_rows

    with bench_graph(say) as (graph, _):
        prefix = f"bench{int(dt.datetime.now(dt.UTC).timestamp())}-"
        return simulation_rows(subject.path, subject.inputs, count, say, graph, prefix)


# ---------------------------------------------------------------- extras


def _dump(folder: Path, subjects: list[Subject]) -> None:
    from .clips_rules import clips_constructs
    from .plain import python_source
    from .zen_graph import build_graph

    folder.mkdir(parents=True, exist_ok=True)
    for s in subjects:
        (folder / s.path.name).write_text(s.path.read_text())
        (folder / f"{s.name}.py").write_text(python_source(s.model, s.today))
        (folder / f"{s.name}.jdm.json").write_text(
            json.dumps(build_graph(s.model, s.today), indent=2)
        )
        (folder / f"{s.name}.clp").write_text("\n\n".join(clips_constructs(s.model, s.today)))
        (folder / f"{s.name}.inputs.json").write_text(json.dumps(s.inputs, indent=1))
    say(f"wrote the generated rulesets, Python, JDM graphs, CLIPS rules and inputs to {folder}")


def _profile(subject: Subject, calls: int = 20_000) -> None:
    evaluate, today, inputs = subject.ruleset.evaluate, subject.today, subject.inputs
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        evaluate(inputs[i % len(inputs)], today=today)
    profiler.disable()
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(20)
    say(f"profile of {calls:,} Casewise decisions on {subject.name} (by own time):")
    say(buffer.getvalue())


def _environment(plan: Plan, args: argparse.Namespace) -> list[str]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mode = "quick" if args.quick else "full"
    return [
        f"run: {dt.datetime.now().isoformat(timespec='seconds')}, {mode}; "
        f"{os.cpu_count()} CPUs ({cpu}); Python {platform.python_version()}",
        "packages: "
        + ", ".join(
            f"{p} {version(p)}"
            for p in ("durable_rules", "zen-engine", "clipspy", "fastapi", "uvicorn", "psutil")
        ),
        f"in-process: best of {plan.rounds} round(s) of {plan.decisions:,} decisions per "
        f"implementation (at most {plan.max_seconds:g} s each), inputs cycled; `today` = {TODAY}",
        f"HTTP: wrk -t1 -c{http_load.CONNECTIONS} (batches -c{http_load.BATCH_CONNECTIONS}), "
        f"{plan.http_warmup:g} s warm-up then "
        f"{plan.http_seconds:g} s per measurement, best of {plan.http_rounds} alternating "
        "round(s); 127.0.0.1, "
        f"uvicorn --workers {http_load.WORKERS} for both servers",
        f"zen-engine measured through ZenEngine.evaluate with a loader of pre-compiled "
        f"ZenDecisionContent; '{ZEN_DECISION}' is create_decision(...).evaluate, for information",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
