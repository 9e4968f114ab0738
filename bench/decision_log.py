"""Decision log figures for `make bench`: the cost of one group commit (write + fdatasync) in
the spool on this disk, and how many records one commit carries when many callers wait.

The HTTP comparison, decisions per second with the log on versus off in the same run, is in
``bench.run._http`` (it needs the servers started there).
"""

from __future__ import annotations

import concurrent.futures
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from service.decisionlog.spool import Spool, encode
from service.graph.db import Graph

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
