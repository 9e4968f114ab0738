"""The two-node run of `make bench`: decisions/s through two Casewise nodes vs one, one Neo4j.

A Neo4j of the run's own with auth and Bolt over TLS (as a multi-node install runs it); each
node is a `casewise serve --workers 1` with its own spool, an API key checked on every decision
and the decision log on. One node is loaded by wrk, then two nodes at once by a wrk each (the
load balancer's share); after each load the run waits until Neo4j has taken every record.

Besides decisions/s it gives the sizing figures of docs/deployment.md: decisions per CPU-second
of the Casewise processes (decisions/s per core) and decision-log records per CPU-second of the
Neo4j process (records/s per Neo4j core), from the processes' CPU times over the run. Everything
shares this machine's cores, so two nodes here show the overhead of a second node, not the gain
of a second machine; the per-core figures are what scale.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from service.auth.store import Neo4jStore, create_key
from service.devtools import localneo4j as local
from service.graph.db import Graph

from . import http_load
from .decision_log import wait_for_flush
from .report import Row, rate
from .subjects import Subject

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16  # per node: enough to keep one worker busy


@dataclass(frozen=True)
class Run:
    """One load: what the nodes answered, and the CPU the nodes and Neo4j spent on it."""

    nodes: int
    decisions_per_second: float
    decisions: int
    records: int  # decision records Neo4j took, load and drain
    seconds_to_drain: float
    casewise_cpu: float  # CPU-seconds of every node process, load and drain
    neo4j_cpu: float


def _cpu(pids: list[int]) -> float:
    """CPU-seconds (user + system) so far of ``pids`` and their children."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            for one in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = one.cpu_times()
                    total += times.user + times.system
    return total


def _command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("casewise")
    return [str(script), "serve", "--host", http_load.HOST, "--port", str(port),
            "--workers", "1", "--rules", str(ROOT / "rules")]  # fmt: skip


@contextlib.contextmanager
def _neo4j(folder: Path, say: Callable[[str], None]) -> Iterator[tuple[local.Status, Graph]]:
    say("two nodes: starting a Neo4j with auth and Bolt over TLS (self-signed) for the run")
    server = local.start(port=http_load.free_port(), data_dir=folder, tls=True)
    try:
        graph = Graph.connect(server.uri or "", *server.auth, "neo4j", server.ca_file)
        try:
            yield server, graph
        finally:
            graph.close()
    finally:
        local.stop(folder)


def _count(graph: Graph) -> int:
    rows = graph.read("MATCH (d:RoutingDecision) RETURN count(d) AS n")
    return int(rows[0]["n"])


def _drain(graph: Graph, expected: int, limit: float = 180) -> float:
    """Wait until Neo4j holds ``expected`` decisions and takes no more; give the seconds."""
    began = time.monotonic()
    while _count(graph) < expected:
        if time.monotonic() - began > limit:
            raise http_load.HttpBenchError(
                f"Neo4j holds {_count(graph):,} decisions, not {expected:,}, after {limit:.0f} s"
            )
        time.sleep(0.2)
    wait_for_flush(graph, quiet=0.5)  # and the answers wrk did not count (cut off at its end)
    return time.monotonic() - began


def _load(wrk: str, urls: list[str], script: Path, seconds: float) -> list[http_load.Load]:
    """Load every URL at once, a wrk each, for ``seconds``."""
    with ThreadPoolExecutor(len(urls)) as pool:
        runs = [
            pool.submit(
                http_load.run_wrk, wrk, url, script, seconds=seconds, connections=CONNECTIONS
            )
            for url in urls
        ]
        return [run.result() for run in runs]


def two_node_rows(
    bodies: list[bytes], ruleset: str, seconds: float, warmup: float, say: Callable[[str], None]
) -> list[Row]:
    """Measure one node, then two, on one TLS Neo4j; give the rows of the report."""
    wrk = http_load.ensure_wrk(say)
    path = f"/v1/decisions/{ruleset}"
    runs: dict[int, Run] = {}
    with (
        tempfile.TemporaryDirectory(prefix="casewise-two-nodes-") as tmp,
        _neo4j(Path(tmp, "neo4j"), say) as (server, graph),
        contextlib.ExitStack() as stack,
    ):
        key = create_key(Neo4jStore(graph), "bench-two-nodes", [ruleset])
        headers = {"Authorization": f"Bearer {key}"}
        script = Path(tmp, "single.lua")
        script.write_text(http_load.lua_script(bodies, headers))
        user, password = server.auth
        nodes: list[http_load.Server] = []
        for name in ("a", "b"):
            env = {
                "NEO4J_URI": server.uri or "",
                "NEO4J_USER": user,
                "NEO4J_PASSWORD": password,
                "NEO4J_DATABASE": "neo4j",
                "CASEWISE_NEO4J_CA_FILE": str(server.ca_file),
                "CASEWISE_SPOOL_DIR": str(Path(tmp, f"spool-{name}")),
                "CASEWISE_DECISION_LOG": "on",
            }
            port = http_load.free_port()
            nodes.append(
                stack.enter_context(
                    http_load.serving(
                        f"node-{name}", _command(port), port, path, bodies[0], headers, env
                    )
                )
            )
        assert server.pid is not None
        for count in (1, 2):
            used = nodes[:count]
            urls = [node.url(path) for node in used]
            start = _count(graph)
            warm = _load(wrk, urls, script, warmup)
            _drain(graph, start + sum(load.requests for load in warm))
            before = _count(graph)
            pids = [node.process.pid for node in used]
            cpu_before, neo_before = _cpu(pids), _cpu([server.pid])
            loads = _load(wrk, urls, script, seconds)
            problems = [load.errors for load in loads if load.errors]
            if problems:
                raise http_load.HttpBenchError(f"{count} node(s): {'; '.join(problems)}")
            drained = _drain(graph, before + sum(load.requests for load in loads))
            after = _count(graph)
            runs[count] = Run(
                nodes=count,
                decisions_per_second=sum(load.requests_per_second for load in loads),
                decisions=sum(load.requests for load in loads),
                records=after - before,
                seconds_to_drain=drained,
                casewise_cpu=_cpu(pids) - cpu_before,
                neo4j_cpu=_cpu([server.pid]) - neo_before,
            )
            run = runs[count]
            say(
                f"  {count} node(s): {run.decisions_per_second:,.0f} decisions/s "
                f"({run.decisions:,} decisions; {run.records:,} records in Neo4j, drained "
                f"{drained:.1f} s after the load; CPU-s: Casewise {run.casewise_cpu:.1f}, "
                f"Neo4j {run.neo4j_cpu:.1f})"
            )
    return _rows(runs)


def _rows(runs: dict[int, Run]) -> list[Row]:
    one, two = runs[1], runs[2]
    rows = [
        Row(
            "Two nodes: 1 node (--workers 1), TLS Neo4j, API key, log on",
            rate(one.decisions_per_second),
        ),
        Row(
            "Two nodes: 2 nodes (--workers 1 each) on the same Neo4j",
            rate(two.decisions_per_second),
            "2 nodes / 1 node (same 2 cores)",
            f"{two.decisions_per_second / one.decisions_per_second:.2f}x",
        ),
    ]
    for run in (one, two):
        if run.casewise_cpu > 0 and run.neo4j_cpu > 0:
            rows.append(
                Row(
                    f"Two nodes: per core, {run.nodes} node(s)",
                    f"{run.decisions / run.casewise_cpu:,.0f} decisions/CPU-s Casewise",
                    "log records / CPU-s Neo4j",
                    f"{run.records / run.neo4j_cpu:,.0f}",
                )
            )
    return rows


def subject_rows(
    subject: Subject, seconds: float, warmup: float, say: Callable[[str], None]
) -> list[Row]:
    """The two-node rows on ``subject``'s inputs that open no case (as the HTTP run sends)."""
    routine = [
        data
        for data in subject.inputs
        if not subject.ruleset.evaluate(data, today=subject.today).outputs.get("open_case")
    ]
    bodies = [json.dumps(data).encode() for data in routine[:200]]
    return two_node_rows(bodies, subject.name, seconds, warmup, say)


def main() -> int:
    """``python -m bench.two_nodes``: the two-node run alone (routine invoice inputs)."""
    bodies = [
        json.dumps(body).encode()
        for body in (
            {"amount": 120, "department": "IT", "vendor": {"risk": "low"}},
            {"amount": 950, "department": "Ops", "vendor": {"risk": "medium"}},
            {"amount": 4200, "department": "Sales", "vendor": {"risk": "low"}},
        )
    ]
    if shutil.which("casewise") is None and not Path(sys.executable).with_name("casewise").exists():
        print("casewise is not installed beside this Python; run make install", file=sys.stderr)
        return 1
    rows = two_node_rows(bodies, "invoice-approval", 10, 3, lambda text: print(text, flush=True))
    for row in rows:
        print(" | ".join(cell for cell in row.cells() if cell))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
