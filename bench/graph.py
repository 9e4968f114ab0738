"""Case graph figures for `make bench`: batched ingest rate and case-read / link latencies.

Runs on a Neo4j of its own (the local launcher, data in var/neo4j-bench, port 7689, emptied
first) unless NEO4J_URI is set, in which case the data is written there under a prefix.
The graph is the 10,000-case demo data set (claims and complaints with fraud rings).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from service.graph import local
from service.graph.cases import close_case
from service.graph.db import Graph, apply_schema
from service.graph.demo import generate_set
from service.graph.importer import import_cases
from service.graph.reads import get_case, links, list_cases

from .recommend import recommend_rows
from .report import Row

PORT = 7689
DATA_DIR = local.REPO_ROOT / "var" / "neo4j-bench"
SCHEMA = local.REPO_ROOT / "knowledge" / "schema.cypher"
BATCH = 500


@dataclass(frozen=True)
class GraphPlan:
    cases: int
    reads: int  # timed calls per query, after a tenth as many untimed


@contextmanager
def _graph(say: Callable[[str], None]) -> Iterator[tuple[Graph, str]]:
    uri = os.environ.get("NEO4J_URI")
    database = os.environ.get("NEO4J_DATABASE", "neo4j")
    if uri:
        user = os.environ.get("NEO4J_USER", local.LOCAL_USER)
        password = os.environ.get("NEO4J_PASSWORD", "neo4j")
        graph = Graph.connect(uri, user, password, database)
        try:
            yield graph, f"bench{int(time.time())}-"
        finally:
            graph.close()
        return
    if local.status(DATA_DIR).running:
        local.stop(DATA_DIR)
    shutil.rmtree(DATA_DIR, ignore_errors=True)  # ingest is measured into an empty graph
    # the launcher's test-suite sizing (C1-only JIT, 512 MB heap) favours start-up; a server
    # doing sustained work gets the full JIT and a larger heap, as a real deployment would
    os.environ.setdefault(local.JAVA_OPTS_ENV, "-XX:TieredStopAtLevel=4 -Xms1g -Xmx1g")
    say(f"graph: starting a Neo4j of the bench's own (port {PORT}, {DATA_DIR})")
    with local.running(port=PORT, data_dir=DATA_DIR, progress=say) as server:
        assert server.uri is not None
        graph = Graph.connect(server.uri, *server.auth, database)
        try:
            yield graph, ""
        finally:
            graph.close()


def _elements(written: dict[str, int]) -> int:
    return sum(written.values())


def _latency(call: Callable[[], Any], n: int) -> tuple[float, float]:
    for _ in range(max(1, n // 10)):
        call()
    times = []
    for _ in range(n):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[94]


def graph_rows(plan: GraphPlan, say: Callable[[str], None]) -> list[Row]:
    """Ingest the demo graph and time the case queries on it."""
    data = generate_set(plan.cases, 7)
    with _graph(say) as (graph, prefix):
        apply_schema(graph, SCHEMA)
        cases = data.cases
        if prefix:
            data = generate_set(plan.cases, 7, prefix=prefix)
            cases = data.cases
        say(f"graph: writing {len(cases):,} demo cases in batches of {BATCH}")
        summary = import_cases(graph, cases, batch_size=BATCH, source="bench")
        elements = _elements(summary.written)
        rate = elements / summary.seconds
        say(f"graph: {elements:,} elements in {summary.seconds:.1f} s ({rate:,.0f}/s)")
        again = import_cases(graph, cases, batch_size=BATCH, source="bench")
        rng = random.Random(3)
        ids = [c.id for c in cases]
        ring_ids = [case for ring in data.rings for case in ring]
        rows = [
            Row(f"ingest {len(cases):,} demo cases, batches of {BATCH}",
                f"{rate:,.0f} elements/s", "elements", f"{elements:,} in {summary.seconds:.1f} s"),
            Row("ingest the same cases again (idempotent, nothing new)",
                f"{_elements(again.written) / again.seconds:,.0f} elements/s",
                "new cases", str(again.cases_new)),
        ]  # fmt: skip
        queries: list[tuple[str, Callable[[], Any]]] = [
            ("GET /v1/cases/{id}: get_case", lambda: get_case(graph, rng.choice(ids))),
            ("GET /v1/cases/{id}/links depth 2: links", lambda: links(graph, rng.choice(ids), 2)),
            ("links depth 2 from a fraud-ring case", lambda: links(graph, rng.choice(ring_ids), 2)),
            ("GET /v1/cases?status=open: list_cases", lambda: list_cases(graph, status="open")),
        ]
        for name, call in queries:
            p50, p95 = _latency(call, plan.reads)
            say(f"graph: {name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
            rows.append(Row(f"{name} on {plan.cases:,} cases", f"p50 {p50:.2f} ms", "p95",
                            f"{p95:.2f} ms"))  # fmt: skip
        say(f"graph: closing the {len(data.closings):,} demo cases that ended (not timed)")
        for case_id, closing in data.closings.items():
            close_case(graph, case_id, closing)
        rows += recommend_rows(graph, prefix=prefix, calls=plan.reads, say=say)
    return rows
