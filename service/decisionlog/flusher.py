"""The flusher: a thread that writes spooled decision records to Neo4j, each exactly once.

It reads the records this process committed, and takes over orphaned segments (of a crashed
process, or of one that stopped before Neo4j took its records). Records go to Neo4j in
batches of ``BATCH`` (up to ``MAX_BATCH`` while there is a backlog), one transaction each; a
closed segment all of whose records are in Neo4j is deleted. When Neo4j is unavailable it
waits (0.2 s, doubling up to 5 s) and tries again, so no record is dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from service.decisionlog import store
from service.decisionlog.keys import KeyIndex
from service.decisionlog.records import row
from service.decisionlog.spool import Segment, Spool
from service.graph.db import GraphError, GraphHandle, GraphUnavailable
from service.kernel import metrics

log = logging.getLogger("casewise.decisionlog")

BATCH = 500
# A segment with a backlog (Neo4j was down, or fell behind) is written up to this many records
# a transaction; RECORD_BYTES is a small record's size, to count the backlog from its bytes.
MAX_BATCH = 2000
RECORD_BYTES = 600
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 5.0
ORPHAN_SCAN_SECONDS = 2.0
# After a pass, wait this long for more records: under load, fewer and fuller transactions (each
# costs Neo4j about 2 ms of CPU besides its records: 40 µs a record in batches of 50, 4 in 500).
GATHER_SECONDS = 0.5


REQUIRED = ("id", "ruleset", "version", "at")


def _row(rec: dict[str, Any], segment: Segment) -> dict[str, Any] | None:
    """Give the Neo4j row of a record; None (logged) for one that lacks what a decision has."""
    missing = [key for key in REQUIRED if not isinstance(rec.get(key), str)]
    if not missing:
        try:
            return row(rec)
        except (TypeError, AttributeError, KeyError) as exc:
            missing = [f"a readable record ({exc})"]
    log.error(
        "skipping record %r in spool segment %s: it has no %s, so it is not a decision record",
        rec.get("id"),
        segment.path,
        ", ".join(missing),
    )
    return None


class Flusher:
    """Moves records from the spool to the graph on a thread of its own."""

    def __init__(
        self, spool: Spool, handle: GraphHandle, batch: int = BATCH, keys: KeyIndex | None = None
    ) -> None:
        self.spool = spool
        self.keys = keys  # told which records Neo4j holds, so it can let go of their answers
        self.handle = handle
        self.batch = batch
        self.graph_down = False  # the last write failed as Neo4j was unavailable
        self.written = 0  # records written to Neo4j by this flusher
        self._stop = threading.Event()
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="casewise-flusher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Flush what can be flushed within ``timeout`` seconds, then stop."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self.spool.changed.set()
        if self._thread is not None:
            self._thread.join(timeout + 1.0)

    def _loop(self) -> None:
        backoff = FIRST_BACKOFF
        next_scan = 0.0
        while True:
            stopping = self._stop.is_set()
            if stopping and (self.graph_down or time.monotonic() >= self._deadline):
                return  # what is left stays in the spool for the next start
            now = time.monotonic()
            if now >= next_scan and not stopping:
                next_scan = now + ORPHAN_SCAN_SECONDS
                self._guard(self.spool.claim_orphans)
            work = self.spool.work()
            if not work:
                self.spool.retire_done()
                if stopping:
                    return
                self.spool.changed.wait(min(1.0, max(0.0, next_scan - time.monotonic())))
                self.spool.changed.clear()
                continue
            try:
                for segment in work:
                    self.flush_segment(segment)
            except GraphUnavailable as exc:
                if not self.graph_down:
                    log.warning("decision log: %s; records wait in the spool, retrying", exc)
                self.graph_down = True
                wait = backoff if not stopping else min(backoff, self._deadline - time.monotonic())
                self._sleep(wait)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except Exception as exc:  # never let a bad batch kill the thread; keep the records
                log.exception("decision log: writing to Neo4j failed: %s; retrying", exc)
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            if self.graph_down:
                log.info("decision log: Neo4j is back; writing the spooled records")
            self.graph_down = False
            backoff = FIRST_BACKOFF
            self.spool.retire_done()
            if not stopping:
                self._stop.wait(GATHER_SECONDS)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds) if self._stop.is_set() else self._stop.wait(seconds)

    def _guard(self, call: Any) -> None:
        try:
            call()
        except OSError as exc:
            log.error("decision log: cannot scan the spool %s: %s", self.spool.directory, exc)

    def batch_size(self, segment: Segment) -> int:
        """Give how many records the next transaction takes: ``batch``, and up to MAX_BATCH when
        the segment holds a backlog (fewer, fuller transactions while Neo4j catches up)."""
        backlog = (segment.end - segment.offset) // RECORD_BYTES
        return max(self.batch, min(MAX_BATCH, backlog))

    def flush_segment(self, segment: Segment) -> None:
        """Write the segment's unwritten records to Neo4j, a batch at a time, up to its end as
        it was when a read came short: records committed meanwhile wait for the next pass, so
        that under load each transaction carries a pass's worth, not the few since the last."""
        while True:
            rows: list[dict[str, Any]] = []
            keyed: list[str] = []
            end = segment.offset
            size = self.batch_size(segment)
            lines = 0
            for rec, position in self.spool.read(segment, size):
                end = position
                lines += 1
                if rec is None:
                    continue
                # not written again if it was on the request path, with the case it opened
                converted = None if rec.get(store.IN_GRAPH) else _row(rec, segment)
                if converted is not None:
                    rows.append(converted)
                if rec.get("keyed") and (converted is not None or rec.get(store.IN_GRAPH)):
                    keyed.append(rec["id"])  # its id is in the index of chosen ids
            if end == segment.offset:
                return
            if rows:
                self.write(rows)
            if self.keys is not None and keyed:
                self.keys.written(keyed)
            segment.offset = end
            self.written += len(rows)
            if lines < size:
                return

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Write rows in one transaction (GraphUnavailable when Neo4j is down)."""
        graph = self.handle.prepare()
        metrics.FLUSH_BATCH.observe(len(rows))
        try:
            store.write_rows(graph, rows)
        except GraphUnavailable:
            raise
        except GraphError as exc:
            raise GraphError(f"decision log batch of {len(rows)} failed: {exc.message}") from exc
