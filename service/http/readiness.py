"""What ``/readyz`` checks beyond the served rulesets: the spool's backlog and the case graph.

A worker is not ready while its spool holds more than ``CASEWISE_SPOOL_HIGH_WATER_BYTES`` of
decision records Neo4j has not taken (a load balancer should send new work elsewhere until the
flusher catches up), or while the configured Neo4j does not answer (case work cannot be done).
Without ``NEO4J_URI`` there is no case work to do, so the graph is not checked.

The graph is asked on a thread of its own, at most every ``CHECK_SECONDS``. Once it has
answered, ``/readyz`` reports the last answer (at most that old) without waiting for the next
one; only the very first answer is waited for, at most ``WAIT_SECONDS``. So the probe costs no
more than the event loop's own lag even while Neo4j hangs or the worker is overloaded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

from service.graph.db import GraphError, GraphHandle
from service.http.metrics import spool_backlog

CHECK_SECONDS = 2.0
WAIT_SECONDS = 0.05


class GraphProbe:
    """The last known answer of the case graph, refreshed in the background."""

    def __init__(self) -> None:
        self._threads = concurrent.futures.ThreadPoolExecutor(1, "casewise-ready")
        self._pending: concurrent.futures.Future[None] | None = None
        self._checked_at = -CHECK_SECONDS
        self.reachable: bool | None = None  # None: not asked yet
        self.problem = ""

    async def check(self, handle: GraphHandle) -> bool | None:
        """Give whether the graph answered when last asked (None: not yet known)."""
        if self._pending is None and time.monotonic() - self._checked_at >= CHECK_SECONDS:
            self._pending = self._threads.submit(self._ask, handle)
        pending = self._pending
        if pending is not None:
            if self.reachable is None:  # nothing known yet: worth a short wait
                await asyncio.wait([asyncio.wrap_future(pending)], timeout=WAIT_SECONDS)
            if pending.done():
                self._pending = None
        if self.reachable is None and not handle.ready:
            return False  # never reached since start-up, and not yet asked again
        return self.reachable

    def _ask(self, handle: GraphHandle) -> None:
        try:
            handle.prepare().check_server()
        except GraphError as exc:
            self.reachable, self.problem = False, str(exc)
        else:
            self.reachable, self.problem = True, ""
        finally:
            self._checked_at = time.monotonic()


async def not_ready(state: Any, probe: GraphProbe) -> list[dict[str, Any]]:
    """Give why this worker is not ready beyond its rulesets (empty: ready)."""
    problems: list[dict[str, Any]] = []
    settings = state.settings
    decision_log = getattr(state, "decision_log", None)
    if decision_log is not None:
        pending, lag = spool_backlog(decision_log)
        if pending > settings.spool_high_water_bytes:
            problems.append(
                {
                    "check": "spool",
                    "message": f"{pending} bytes of decision records wait in the spool for "
                    f"Neo4j (oldest {lag:.0f} s), over CASEWISE_SPOOL_HIGH_WATER_BYTES "
                    f"({settings.spool_high_water_bytes}); ready again once the flusher "
                    "catches up",
                }
            )
    handle: GraphHandle = state.graph
    if handle.configured and await probe.check(handle) is False:
        why = probe.problem or "it has not answered since start-up"
        problems.append({"check": "graph", "message": f"the case graph is unreachable: {why}"})
    return problems
