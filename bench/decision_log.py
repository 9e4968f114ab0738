"""Decision log figures for `make bench`: the cost of one group commit (write + fdatasync) in
the spool on this disk, how many records one commit carries when many callers wait, and where
a record's cost goes once it leaves the spool (``write_split``): the flusher's CPU in the
worker (the Neo4j row, then the driver) and Neo4j's own CPU, per record.

The HTTP comparison, decisions per second with the log on versus off in the same run, is in
``bench.run._http`` (it needs the servers started there); ``write_split`` runs there first, so
that Neo4j's write path is compiled by its JIT before the servers are loaded, as it is in a
service that has been running.
"""

from __future__ import annotations

import concurrent.futures
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from service.decisionlog import queries
from service.decisionlog.flusher import BATCH
from service.decisionlog.records import row
from service.decisionlog.spool import Spool, encode
from service.devtools import localneo4j as local
from service.graph.db import Graph, GraphHandle

from .report import Row

# A record as invoice-approval's decisions make them: about 600 bytes.
RECORD = {
    "id": "0123456789abcdef0123456789ab",
    "ruleset": "invoice-approval",
    "version": "f" * 64,
    "input": {"amount": 120, "department": "IT", "vendor": {"risk": "low"}},
    "outputs": {"route": "auto", "approvers": [], "open_case": False},
    "fired": [{"rule": "small-amount", "values": {"amount": 120}}],
    "facts": [],
    "at": "2026-11-29T12:00:00.000000+00:00",
    "caller": "bench",
    "duration_ms": 0.05,
    "case_opened": False,
    "case_id": None,
}
# The spool's default place is var/spool on the repository's disk: measure there.
SPOOL_PARENT = Path(__file__).resolve().parents[1] / "var"
SCHEMA = Path(__file__).resolve().parents[1] / "knowledge" / "schema.cypher"


def _one_caller(spool: Spool, commits: int) -> list[float]:
    line = encode(RECORD)
    times = []
    for _ in range(commits):
        began = time.perf_counter()
        spool.submit([line]).result()
        times.append((time.perf_counter() - began) * 1000)
    return times


def _many_callers(spool: Spool, callers: int, seconds: float) -> tuple[float, float]:
    """Records/s and records per commit with ``callers`` threads each waiting on its commit."""
    line = encode(RECORD)
    stop = threading.Event()
    counts = [0] * callers

    def run(n: int) -> None:
        while not stop.is_set():
            spool.submit([line]).result()
            counts[n] += 1

    before = spool.commits
    with concurrent.futures.ThreadPoolExecutor(callers) as pool:
        began = time.perf_counter()
        for n in range(callers):
            pool.submit(run, n)
        time.sleep(seconds)
        stop.set()
    elapsed = time.perf_counter() - began
    total = sum(counts)
    return total / elapsed, total / max(1, spool.commits - before)


COUNT = "MATCH (d:RoutingDecision) RETURN count(d) AS n"


def wait_for_flush(graph: Graph, quiet: float = 1.5, limit: float = 180) -> float:
    """Wait until the decisions in ``graph`` stop growing (the flushers caught up); give the
    seconds waited."""
    began = time.monotonic()
    last = -1
    while time.monotonic() - began < limit:
        count = graph.read(COUNT)[0]["n"]
        if count == last:
            break
        last = count
        time.sleep(quiet)
    return time.monotonic() - began


def decision_log_rows(say: Callable[[str], None], quick: bool) -> list[Row]:
    SPOOL_PARENT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-spool-", dir=SPOOL_PARENT) as tmp:
        spool = Spool(Path(tmp))
        spool.start()
        try:
            _one_caller(spool, 50)
            times = _one_caller(spool, 500 if quick else 3000)
            rps, per_commit = _many_callers(spool, 32, 2 if quick else 5)
        finally:
            spool.stop()
            spool.release()
    median = statistics.median(times)
    p99 = statistics.quantiles(times, n=100)[98]
    say(
        f"decision log: one group commit (write + fdatasync, one record) median "
        f"{median:.3f} ms, p99 {p99:.3f} ms; 32 waiting callers: {rps:,.0f} records/s, "
        f"{per_commit:.1f} records per commit"
    )
    return [
        Row(
            "Decision log: one group commit (write + fdatasync) in var/",
            f"{median:.3f} ms median, {p99:.3f} ms p99",
        ),
        Row(
            "Decision log: spool, 32 callers each waiting for its commit",
            f"{rps:,.0f} records/s",
            "records per fsync",
            f"{per_commit:.1f}",
        ),
    ]


def _cpu_seconds(pid: int) -> float:
    """Give the CPU time (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _local_neo4j_pid() -> int | None:
    """Give the pid of the bench's own Neo4j (None with NEO4J_URI: its CPU is not ours to see)."""
    if os.environ.get("NEO4J_URI"):
        return None
    from .graph import DATA_DIR

    status = local.status(DATA_DIR)
    return status.pid if status.running else None


def write_split(graph: Graph, say: Callable[[str], None], rounds: int, quick: bool) -> list[Row]:
    """Write invoice-approval-sized records to Neo4j as the flusher does (WRITE_DECISIONS in
    batches of BATCH); give the per-record CPU of the flusher and of Neo4j, best of ``rounds``.
    """
    count = 1_000 if quick else 5_000
    # the constraints and indexes a serving Casewise applies: without them, a MERGE scans
    GraphHandle(graph, SCHEMA).prepare()
    pid = _local_neo4j_pid()
    best = {"row": float("inf"), "driver": float("inf"), "neo4j": float("inf"), "wall": 0.0}
    for _ in range(max(1, rounds) + 1):  # one more: the first compiles Neo4j's write path
        tag = f"bench-split-{uuid.uuid4().hex[:8]}"
        recs = [{**RECORD, "id": f"{tag}-{n}"} for n in range(count)]
        began = time.process_time()
        rows = [row(r) for r in recs]
        made = time.process_time()
        neo4j_before = _cpu_seconds(pid) if pid else 0.0
        wall = time.perf_counter()
        for start in range(0, count, BATCH):
            graph.write(queries.WRITE_DECISIONS, rows=rows[start : start + BATCH])
        wall = time.perf_counter() - wall
        written = time.process_time()
        neo4j = (_cpu_seconds(pid) - neo4j_before) if pid else float("nan")
        best["row"] = min(best["row"], (made - began) / count * 1e6)
        best["driver"] = min(best["driver"], (written - made) / count * 1e6)
        best["neo4j"] = min(best["neo4j"], neo4j / count * 1e6)
        best["wall"] = max(best["wall"], count / wall)
    neo4j_text = f"{best['neo4j']:.0f} µs" if pid else "not measured (NEO4J_URI is not ours)"
    say(
        f"decision log, per record written to Neo4j (batches of {BATCH}, best of {rounds}): "
        f"flusher {best['row']:.1f} µs making the row + {best['driver']:.1f} µs in the driver; "
        f"Neo4j CPU {neo4j_text}; one writer {best['wall']:,.0f} records/s"
    )
    return [
        Row(
            f"Decision log: flusher CPU per record (row + driver, batches of {BATCH})",
            f"{best['row'] + best['driver']:.0f} µs",
            "of which the driver",
            f"{best['driver']:.0f} µs",
        ),
        Row(
            "Decision log: Neo4j CPU per record (WRITE_DECISIONS)",
            neo4j_text,
            "one writer, records/s",
            f"{best['wall']:,.0f}",
        ),
    ]
