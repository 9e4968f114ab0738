"""``GET /metrics`` in Prometheus' text format, and the sampler of each worker's gauges.

The metrics themselves are defined in ``service.kernel.metrics``. With
``PROMETHEUS_MULTIPROC_DIR`` set (``casewise serve`` sets it up), whichever worker answers
reads every worker's files: counters and histograms are summed, gauges carry a ``pid`` label.
Without it (one process, or the tests' in-process app) the process's own registry is served,
with prometheus-client's process and Python collectors.

``/metrics`` needs a role (service/auth/policy.py: ``system`` or ``admin``), not a separate
address: every worker shares the one listening socket, so a second address would need a second
server in each worker, while a key works through the same proxy and TLS as the API. A key must
be for every ruleset (``--rulesets '*'``), since the series name every ruleset and version.

``Sampler`` is a thread per worker that, every ``SAMPLE_SECONDS``, sets the gauges that are
states rather than events: requests in flight and queued, the spool's records not yet in Neo4j
and the age of the oldest (the flusher's lag), and the process's CPU, memory and descriptors.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.process_collector import ProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.http.admission import Admission
from service.http.errors import error_object, respond
from service.http.tally import TALLY
from service.kernel import metrics
from service.kernel.procs import process_alive

log = logging.getLogger("casewise.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_SECONDS = 2.0


def multiprocess_dir() -> str | None:
    """Give the folder of the workers' metric files, or None in single-process mode."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


@contextmanager
def metrics_folder(workers: int) -> Iterator[None]:
    """Keep every worker's metrics in files of one folder while the block runs (``casewise
    serve``): PROMETHEUS_MULTIPROC_DIR if set (emptied of an earlier run's files first), else,
    with more than one worker, a temporary folder removed at the end."""
    given = multiprocess_dir()
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.db"):
            old.unlink(missing_ok=True)
        yield
        return
    if workers == 1:
        yield  # one process: its own registry, nothing to share
        return
    made = tempfile.mkdtemp(prefix="casewise-metrics-")
    os.environ[MULTIPROC_ENV] = made  # read by each worker as it starts
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def exposition() -> bytes:
    """Give every metric of the service (all workers' in multiprocess mode) as text."""
    folder = multiprocess_dir()
    if folder:
        _forget_dead_workers(Path(folder))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _forget_dead_workers(folder: Path) -> None:
    """Drop the live gauges of workers that are gone (killed, or replaced by uvicorn)."""
    pids = {path.stem.rpartition("_")[2] for path in folder.glob("gauge_live*_*.db")}
    for pid in pids:
        if pid.isdigit() and not process_alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(folder))  # type: ignore[no-untyped-call]


async def metrics_route(request: Request) -> Response:
    """Serve the metrics; a key that is not for every ruleset is refused (403)."""
    principal = request.scope.get("state", {}).get("principal")
    rulesets = getattr(principal, "rulesets", None)
    if rulesets is not None and "*" not in rulesets:
        name = getattr(principal, "name", "?")
        message = (
            f"the key {name!r} is only for some rulesets, and the metrics name every ruleset; "
            "create a key for the scraper with --rulesets '*'"
        )
        return respond(request, 403, error_object("forbidden", message))
    TALLY.flush()  # this worker's latest counts; the others' are at most a second behind
    body = await run_in_threadpool(exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def spool_backlog(decision_log: Any) -> tuple[int, float]:
    """Give the bytes of records a decision log's spool holds not yet in Neo4j, and the age in
    seconds of the oldest segment holding some (0 when there is none)."""
    work: Callable[[], list[Any]] | None = getattr(decision_log.spool, "work", None)
    if work is None:
        return 0, 0.0
    pending, oldest = 0, None
    for segment in work():
        pending += max(0, segment.end - segment.offset)
        opened = getattr(segment, "opened_at", None)
        if opened is not None and (oldest is None or opened < oldest):
            oldest = opened
    lag = time.monotonic() - oldest if oldest is not None else 0.0
    return pending, lag


class Sampler:
    """Sets this worker's sampled gauges every ``SAMPLE_SECONDS`` on a thread of its own."""

    def __init__(self, state: Any, admission: Admission) -> None:
        self.state = state  # the app's state: its decision_log is read at each sample
        self.admission = admission
        self._process = ProcessCollector(registry=None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="casewise-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling; in multiprocess mode this worker's gauges go with it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(SAMPLE_SECONDS + 1)
        if multiprocess_dir():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            try:
                self.sample()
            except Exception:  # a failed sample must not end sampling
                log.exception("sampling the metrics failed")

    def sample(self) -> None:
        """Set the gauges from the state of this worker now (and have its tally flushed)."""
        TALLY.flush_soon()
        metrics.IN_FLIGHT.set(self.admission.in_flight)
        metrics.QUEUED.set(len(self.admission.waiting))
        metrics.EVENT_LOOP_LAG.set(self.admission.lag)
        decision_log = getattr(self.state, "decision_log", None)
        pending, lag = spool_backlog(decision_log) if decision_log is not None else (0, 0.0)
        metrics.SPOOL_PENDING.set(pending)
        metrics.FLUSHER_LAG.set(lag)
        gauges = {
            "process_cpu_seconds": metrics.PROCESS_CPU,
            "process_resident_memory_bytes": metrics.PROCESS_MEMORY,
            "process_open_fds": metrics.PROCESS_FDS,
            "process_start_time_seconds": metrics.PROCESS_START,
        }
        for family in self._process.collect():
            gauge = gauges.get(family.name)
            if gauge is not None and family.samples:
                gauge.set(family.samples[0].value)
