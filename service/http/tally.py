"""Per-request counts kept in plain dicts, added to the Prometheus metrics in bulk.

Updating a Prometheus metric takes a lock and, in multiprocess mode, a write to a mapped file:
microseconds, several times per request. ``TALLY`` instead adds one to a dict entry on the event
loop (a tenth of that) and moves what it gathered into the metrics at most every
``FLUSH_SECONDS``, before every ``/metrics`` answer, and when the sampler asks. So a worker's
series are at most ``FLUSH_SECONDS`` (or the sampler's period, when idle) behind.

Only the event loop's thread records into the tally; other threads use the metrics directly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from bisect import bisect_left
from typing import Any

from prometheus_client import Counter, Histogram

FLUSH_SECONDS = 1.0


class Count:
    """What one counter child gathered."""

    __slots__ = ("child", "n")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.n = 0


class Timing:
    """What one histogram child gathered: the sum, and a count per bucket."""

    __slots__ = ("bounds", "child", "counts", "total")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.bounds: list[float] = list(child._upper_bounds)
        self.counts = [0] * len(self.bounds)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.total += seconds
        self.counts[bisect_left(self.bounds, seconds)] += 1


class Tally:
    """Counts and timings of the event loop's requests, not yet in the metrics."""

    def __init__(self) -> None:
        self.counts: dict[tuple[Counter, tuple[str, ...]], Count] = {}
        self.timings: dict[tuple[Histogram, tuple[str, ...]], Timing] = {}
        self.flushed_at = 0.0
        self.loop: asyncio.AbstractEventLoop | None = None

    def counter(self, counter: Counter, labels: tuple[str, ...]) -> Count:
        """Give the cell that gathers ``counter`` with ``labels`` (add to its ``n``); callers on
        a hot path keep it."""
        key = (counter, labels)
        cell = self.counts.get(key)
        if cell is None:
            cell = self.counts[key] = Count(counter.labels(*labels))
        return cell

    def timing(self, histogram: Histogram, labels: tuple[str, ...]) -> Timing:
        """Give the cell that gathers ``histogram`` with ``labels`` (``observe`` on it)."""
        key = (histogram, labels)
        cell = self.timings.get(key)
        if cell is None:
            cell = self.timings[key] = Timing(histogram.labels(*labels))
        return cell

    def count(self, counter: Counter, labels: tuple[str, ...]) -> None:
        """Add one to ``counter`` with ``labels``."""
        self.counter(counter, labels).n += 1

    def maybe_flush(self, now: float) -> None:
        """Flush if the last flush is ``FLUSH_SECONDS`` before ``now`` (a perf_counter time)."""
        if now - self.flushed_at >= FLUSH_SECONDS:
            self.flushed_at = now
            self.flush()

    def flush(self) -> None:
        """Add everything gathered to the metrics (on the event loop's thread)."""
        try:
            self.loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        for count in self.counts.values():
            if count.n:
                n, count.n = count.n, 0
                count.child.inc(n)
        for timing in self.timings.values():
            if not any(timing.counts):
                continue
            child = timing.child
            total, timing.total = timing.total, 0.0
            child._sum.inc(total)
            for index, n in enumerate(timing.counts):
                if n:
                    timing.counts[index] = 0
                    child._buckets[index].inc(n)

    def flush_soon(self, timeout: float = 1.0) -> None:
        """From another thread: have the event loop flush, and wait for it (at most ``timeout``)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def flush() -> None:
            try:
                self.flush()
            finally:
                done.set_result(None)

        try:
            loop.call_soon_threadsafe(flush)
            done.result(timeout)
        except (RuntimeError, concurrent.futures.TimeoutError):
            pass  # the loop stopped, or is too busy now: the next flush takes it


TALLY = Tally()
"""The tally of this process's event loop."""
