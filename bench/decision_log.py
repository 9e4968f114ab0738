"""Decision log figures for `make bench`: the cost of one group commit (write + fdatasync) in
the spool on this disk, how many records one commit carries when many callers wait, and where
a logged record's CPU goes (``write_split``): the spool's writer thread, the flusher thread
(reading the spool, making the Neo4j row, the driver) and Neo4j's own CPU, per record.

The HTTP comparison, decisions per second with the log on versus off in the same run, is in
``bench.run._http`` (it needs the servers started there); ``write_split`` runs there first and
warms Neo4j's write path until its JIT compilers go quiet, as they are in a Neo4j that has been
running: the bench starts a Neo4j of its own, and for its first ~100,000 records the JVM's C2
compiler spends 2-4 times the CPU of the writes themselves (a split of 260 µs per record, of
which the writes were 60-70 µs), on the cores the HTTP measurement shares.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.decisionlog import store
from service.decisionlog.flusher import BATCH, Flusher
from service.decisionlog.records import record, row
from service.decisionlog.spool import COMMIT_INTERVAL, Spool, encode
from service.devtools import localneo4j as local
from service.graph.db import Graph, GraphHandle

from .cputime import process_seconds, thread_seconds
from .report import Row
from .subjects import Subject

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
# How long the split warms Neo4j's write path at most (see warm_writes), and when it is warm:
# over WARM_QUIET_ROUNDS rounds of WARM_RECORDS records in a row, the JVM's compiler threads
# used at most JIT_QUIET of Neo4j's CPU.
WARM_SECONDS = 180.0
WARM_SECONDS_QUICK = 30.0
WARM_RECORDS = 10_000
WARM_QUIET_ROUNDS = 2
JIT_QUIET = 0.15
# The serving workers (uvicorn --workers 2), each with a flusher writing at once, in
# transactions as under the HTTP load (a pass's records, every GATHER_SECONDS).
WRITERS = 2
WARM_BATCH = BATCH
# The JVM's JIT compiler threads, by their name as /proc shows it (15 characters).
JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")
FLUSH_TIMEOUT = 120.0


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
        spool = Spool(Path(tmp), commit_interval=0.0)  # one commit's own cost, not its pacing
        spool.start()
        try:
            _one_caller(spool, 50)
            times = _one_caller(spool, 500 if quick else 3000)
            spool.commit_interval = COMMIT_INTERVAL
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


def _thread_cpu(name: str) -> float:
    """Give the run time of the running thread called ``name`` of this process so far (its
    schedstat: the spool's writer wakes hundreds of times a second, which ticks miscount)."""
    for thread in threading.enumerate():
        if thread.name == name and thread.native_id is not None:
            return thread_seconds(os.getpid(), thread.native_id)
    raise RuntimeError(f"no thread {name!r} is running")


def _jit_seconds(pid: int) -> float:
    """Give the CPU time the JIT compiler threads of the JVM ``pid`` used so far."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip().startswith(JIT_THREADS):
                total += thread_seconds(pid, int(task.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
    return total


def local_neo4j_pid() -> int | None:
    """Give the pid of the bench's own Neo4j (None with NEO4J_URI: its CPU is not ours to see)."""
    if os.environ.get("NEO4J_URI"):
        return None
    from .graph import DATA_DIR

    status = local.status(DATA_DIR)
    return status.pid if status.running else None


def wait_for_quiet_neo4j(most_seconds: float = 30.0, busy_share: float = 0.1) -> float:
    """Wait until the bench's own Neo4j uses under ``busy_share`` of a core over half a second
    (its checkpoint and index sampling after a burst of log writes would otherwise take the
    cores from the next HTTP measurement); give the seconds waited (0 with NEO4J_URI)."""
    pid = local_neo4j_pid()
    began = time.monotonic()
    if pid is None:
        return 0.0
    while time.monotonic() - began < most_seconds:
        before = process_seconds(pid)
        time.sleep(0.5)
        if process_seconds(pid) - before < busy_share * 0.5:
            break
    return time.monotonic() - began


# The longest warm_by_load runs the service's load (a full run; a quick one runs three loads).
WARM_BY_LOAD_SECONDS = 150.0


def warm_by_load(load: Callable[[], object], most_seconds: float) -> tuple[float, float] | None:
    """Run ``load`` (one bounded run of the service's own load, the decision log on) until the
    bench's own Neo4j is warm: over WARM_QUIET_ROUNDS runs in a row its JIT compiler threads
    used at most JIT_QUIET of its CPU, or ``most_seconds`` passed. Give the seconds it took and
    the JIT's share in the last run; None with NEO4J_URI (not ours to look into).

    A Neo4j that has served for a while has compiled the path the flushers take. Records
    written by the bench itself (warm_writes) leave parts of it to compile under the service's
    load, and the JIT then takes as much CPU as Neo4j's writing: about a minute of the
    service's own load is what it takes.
    """
    pid = local_neo4j_pid()
    if pid is None:
        return None
    began = time.monotonic()
    quiet, share = 0, 1.0
    while quiet < WARM_QUIET_ROUNDS and time.monotonic() - began < most_seconds:
        before = process_seconds(pid), _jit_seconds(pid)
        load()
        used = process_seconds(pid) - before[0]
        share = (_jit_seconds(pid) - before[1]) / used if used > 0 else 0.0
        quiet = quiet + 1 if share <= JIT_QUIET else 0
    return time.monotonic() - began, share


# A worker's request path between two records: about a decision's CPU over HTTP, so that the
# spool's groups are as large as in a serving worker (the HTTP run's connections, shared by its
# two workers).
REQUEST_CPU_SECONDS = 0.0002
CALLERS = 32


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def _serve_like(spool: Spool, count: int) -> None:
    """Commit ``count`` records as one worker's event loop does: CALLERS requests at a time,
    each deciding (REQUEST_CPU_SECONDS of CPU) and then waiting for its record's commit."""
    lines = [encode({**RECORD, "id": f"{uuid.uuid4().hex}"}) for _ in range(count)]
    queue = iter(lines)

    async def caller() -> None:
        for line in queue:
            _burn(REQUEST_CPU_SECONDS)
            await spool.commit([line])

    await asyncio.gather(*(caller() for _ in range(CALLERS)))


@dataclass
class Split:
    """CPU per record, in µs: the spool's writer thread, the flusher thread, Neo4j."""

    spool: float
    flusher: float
    neo4j: float
    per_commit: float  # records per fsync
    rate: float  # records/s one flusher wrote
    jit: float  # of ``neo4j``, its JIT compiler threads

    @property
    def total(self) -> float:
        return self.spool + self.flusher + (self.neo4j if self.neo4j == self.neo4j else 0.0)


def _one_round(handle: GraphHandle, pid: int | None, count: int, folder: Path) -> Split:
    """Spool ``count`` records as a worker does, then let a flusher write them to Neo4j."""
    spool = Spool(folder)
    spool.start()
    try:
        before = _thread_cpu("casewise-spool"), spool.commits
        asyncio.run(_serve_like(spool, count))
        spool_cpu = _thread_cpu("casewise-spool") - before[0]
        commits = spool.commits - before[1]
        flusher = Flusher(spool, handle)
        neo4j_before = process_seconds(pid) if pid else 0.0
        jit_before = _jit_seconds(pid) if pid else 0.0
        began = time.perf_counter()
        flusher.start()
        flusher_before = _thread_cpu("casewise-flusher")
        deadline = time.monotonic() + FLUSH_TIMEOUT
        while flusher.written < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the flusher wrote {flusher.written} of {count} records")
            time.sleep(0.01)
        flusher_cpu = _thread_cpu("casewise-flusher") - flusher_before
        wall = time.perf_counter() - began
        neo4j = (process_seconds(pid) - neo4j_before) if pid else float("nan")
        jit = (_jit_seconds(pid) - jit_before) if pid else float("nan")
        flusher.stop(5.0)
    finally:
        spool.stop()
        spool.release()
    return Split(
        spool=spool_cpu / count * 1e6,
        flusher=flusher_cpu / count * 1e6,
        neo4j=neo4j / count * 1e6,
        per_commit=count / max(1, commits),
        rate=count / wall,
        jit=jit / count * 1e6,
    )


def records_of(subject: Subject, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give the log records the service makes of ``inputs`` (for warm_writes)."""
    made = []
    for data in inputs:
        decision = subject.ruleset.evaluate(data, today=subject.today).to_dict()
        made.append(record(decision, data, "bench", None))
    return made


def warm_writes(
    graph: Graph, pid: int, seconds: float, sample: list[dict[str, Any]] | None = None
) -> tuple[int, float]:
    """Write fresh records to Neo4j as the flushers of WRITERS workers do (each transactions of
    WARM_BATCH, at once) until its JIT compiler threads are quiet (see JIT_QUIET), at most
    ``seconds``; give the records written and the JIT's share of Neo4j's CPU in the last round.

    The records are ``sample``'s (the records the HTTP load will make), with fresh ids: Neo4j
    compiles what it meets, and records of other shapes, or one writer at a time, leave parts
    of the path the service takes to be compiled under the HTTP load.
    """
    shapes = sample or [RECORD]
    deadline = time.monotonic() + seconds
    written, quiet, share = 0, 0, 1.0

    def write(rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), WARM_BATCH):
            store.write_rows(graph, rows[start : start + WARM_BATCH])

    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        while quiet < WARM_QUIET_ROUNDS and time.monotonic() < deadline:
            rows = [
                row({**shapes[n % len(shapes)], "id": uuid.uuid4().hex})
                for n in range(WARM_RECORDS)
            ]
            before = process_seconds(pid), _jit_seconds(pid)
            parts = [rows[n::WRITERS] for n in range(WRITERS)]
            for done in [pool.submit(write, part) for part in parts]:
                done.result()
            used = process_seconds(pid) - before[0]
            share = (_jit_seconds(pid) - before[1]) / used if used > 0 else 0.0
            quiet = quiet + 1 if share <= JIT_QUIET else 0
            written += len(rows)
    return written, share


def write_split(
    graph: Graph,
    say: Callable[[str], None],
    rounds: int,
    quick: bool,
    sample: list[dict[str, Any]] | None = None,
) -> list[Row]:
    """Give where a logged record's CPU goes: the spool's writer thread (records committed as
    a serving worker does), the flusher thread (reading the spool, the Neo4j row, the driver)
    and Neo4j (WRITE_DECISIONS), per record, the median of ``rounds`` rounds.

    Neo4j is first warmed until its JIT compilers are quiet (warm_writes, at most
    WARM_SECONDS, with records like ``sample``, see records_of): a Neo4j just started spends
    several times the CPU per record while its JIT compiles the write path, and a service that
    has been running has it compiled.
    """
    count = 2_000 if quick else 5_000
    pid = local_neo4j_pid()
    SPOOL_PARENT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-split-", dir=SPOOL_PARENT) as tmp:
        handle = GraphHandle(graph, SCHEMA)
        handle.prepare()  # the constraints and indexes a service applies
        if pid is not None:
            began = time.monotonic()
            seconds = WARM_SECONDS_QUICK if quick else WARM_SECONDS
            warmed, share = warm_writes(graph, pid, seconds, sample)
            say(
                f"decision log: Neo4j warmed with {warmed:,} records in "
                f"{time.monotonic() - began:.0f} s (JIT compilers {share:.0%} of its CPU at last)"
            )
        splits = [_one_round(handle, pid, count, Path(tmp)) for _ in range(max(1, rounds) + 1)]
    mid = {
        name: statistics.median(getattr(s, name) for s in splits)
        for name in ("spool", "flusher", "neo4j", "per_commit", "rate", "jit")
    }
    neo4j_text = (
        f"{mid['neo4j']:.0f} µs (its JIT compilers {mid['jit']:.0f} µs)"
        if pid
        else "not measured (NEO4J_URI is not ours)"
    )
    total = mid["spool"] + mid["flusher"] + (mid["neo4j"] if pid else 0.0)
    say(
        f"decision log, CPU per record (median of {len(splits)} rounds of {count:,}): spool "
        f"writer {mid['spool']:.0f} µs ({mid['per_commit']:.1f} records per fsync), flusher "
        f"{mid['flusher']:.0f} µs, Neo4j {neo4j_text}; one flusher {mid['rate']:,.0f} records/s"
    )
    return [
        Row(
            "Decision log: CPU per record, spool writer + flusher + Neo4j",
            f"{total:.0f} µs",
            "spool / flusher / Neo4j",
            f"{mid['spool']:.0f} / {mid['flusher']:.0f} / "
            + (f"{mid['neo4j']:.0f} µs (JIT {mid['jit']:.0f})" if pid else "? µs"),
        ),
        Row(
            f"Decision log: spool, {CALLERS} callers as a worker serves them",
            f"{mid['per_commit']:.1f} records per fsync",
            "one flusher, records/s",
            f"{mid['rate']:,.0f}",
        ),
    ]
