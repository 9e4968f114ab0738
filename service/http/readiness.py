"""What ``/readyz`` answers: the served rulesets, the spool's backlog and the case graph.

A worker is not ready while it serves no ruleset, while its spool holds more than
``CASEWISE_SPOOL_HIGH_WATER_BYTES`` of decision records Neo4j has not taken (a load balancer
should send new work elsewhere until the flusher catches up), or while the configured Neo4j
does not answer (case work cannot be done). Without ``NEO4J_URI`` there is no case work to do,
so the graph is not checked.

The graph is asked on a thread of its own, at most every ``CHECK_SECONDS``. Once it has
answered, ``/readyz`` reports the last answer (at most that old) without waiting for the next
one; only the very first answer is waited for, at most ``WAIT_SECONDS``, by the app's route.
Every other answer needs no wait, so ``casewise serve`` gives it at the connection
(``service.http.shedding``), in the loop's turn that read the probe, as it does ``/healthz``:
a load balancer's probe is not queued behind the requests of an overloaded worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

from service.graph.db import GraphError, GraphHandle
from service.http.errors import count_error, error_body
from service.http.metrics import spool_backlog

CHECK_SECONDS = 2.0
WAIT_SECONDS = 0.05

Answer = tuple[int, dict[str, Any]]
"""A /readyz answer: its HTTP status and JSON body."""


class GraphProbe:
    """The last known answer of the case graph, refreshed in the background."""

    def __init__(self) -> None:
        self._threads = concurrent.futures.ThreadPoolExecutor(1, "casewise-ready")
        self._pending: concurrent.futures.Future[None] | None = None
        self._checked_at = -CHECK_SECONDS
        self.reachable: bool | None = None  # None: not asked yet
        self.problem = ""

    async def check(self, handle: GraphHandle) -> bool | None:
        """Give whether the graph answered when last asked (None: not yet known), waiting a
        little for the very first answer."""
        self._ask_if_due(handle)
        pending = self._pending
        if pending is not None and self.reachable is None:  # nothing known yet: worth a wait
            await asyncio.wait([asyncio.wrap_future(pending)], timeout=WAIT_SECONDS)
        return self.known(handle)

    def known(self, handle: GraphHandle) -> bool | None:
        """Give whether the graph answered when last asked (None: not yet known), at once,
        starting a new check when one is due."""
        self._ask_if_due(handle)
        if self._pending is not None and self._pending.done():
            self._pending = None
        if self.reachable is None and not handle.ready:
            return False  # never reached since start-up, and not yet asked again
        return self.reachable

    def _ask_if_due(self, handle: GraphHandle) -> None:
        if self._pending is None and time.monotonic() - self._checked_at >= CHECK_SECONDS:
            self._pending = self._threads.submit(self._ask, handle)

    def _ask(self, handle: GraphHandle) -> None:
        try:
            handle.prepare().check_server()
        except GraphError as exc:
            self.reachable, self.problem = False, str(exc)
        else:
            self.reachable, self.problem = True, ""
        finally:
            self._checked_at = time.monotonic()


class Readiness:
    """A worker's /readyz: its answer, waited for by the app's route or given at once."""

    of_worker: Readiness | None = None
    """The readiness of this process's app, the last one made (service.http.shedding asks it)."""

    def __init__(self, state: Any) -> None:
        self.state = state  # the app's state: registry, settings, decision log and graph
        self.probe = GraphProbe()
        Readiness.of_worker = self

    async def answer(self) -> Answer:
        """Give the answer, waiting a little for the graph's first answer if need be."""
        handle: GraphHandle = self.state.graph
        graph = await self.probe.check(handle) if handle.configured else True
        return self._answer(graph is not False)  # still unknown after the wait: not held up

    def answer_now(self) -> Answer | None:
        """Give the answer without waiting; None while the graph's first answer is awaited."""
        graph = self._graph_known()
        return None if graph is None else self._answer(graph)

    def report(self) -> Answer | None:
        """Give the answer as answer_now does, for the probe port's report: not counted as an
        error answer (no client asked), None while the graph's first answer is awaited."""
        graph = self._graph_known()
        return None if graph is None else self._judge(graph)

    def _graph_known(self) -> bool | None:
        handle: GraphHandle = self.state.graph
        return self.probe.known(handle) if handle.configured else True

    def _answer(self, graph: bool) -> Answer:
        status, body = self._judge(graph)
        if status != 200:
            count_error(body["error"]["code"], status)  # as every error answer is counted
        return status, body

    def _judge(self, graph: bool) -> Answer:
        """Give the answer, given whether the graph answered (not yet counted)."""
        state = self.state
        count = len(state.registry.names())
        if count == 0:
            problems = [str(p) for p in state.registry.files.problems]  # live: the last reload's
            message = (
                f"no ruleset is loaded from {state.settings.rules_dir}; fix the problems listed "
                "or point CASEWISE_RULES_DIR at a folder of rule files"
            )
            return 503, error_body("not-ready", message, problems)
        behind = self._behind(graph)
        if behind:
            message = "not ready: " + "; ".join(p["message"] for p in behind)
            return 503, error_body("not-ready", message, behind)
        return 200, {"status": "ready", "rulesets": count}

    def _behind(self, graph: bool) -> list[dict[str, Any]]:
        """Give why this worker is not ready beyond its rulesets (empty: ready)."""
        problems: list[dict[str, Any]] = []
        settings = self.state.settings
        decision_log = getattr(self.state, "decision_log", None)
        if decision_log is not None:
            pending, lag = spool_backlog(decision_log)
            if pending > settings.spool_high_water_bytes:
                problems.append(
                    {
                        "check": "spool",
                        "message": f"{pending} bytes of decision records wait in the spool "
                        f"for Neo4j (oldest {lag:.0f} s), over CASEWISE_SPOOL_HIGH_WATER_BYTES "
                        f"({settings.spool_high_water_bytes}); ready again once the flusher "
                        "catches up",
                    }
                )
        if not graph:
            why = self.probe.problem or "it has not answered since start-up"
            problems.append({"check": "graph", "message": f"the case graph is unreachable: {why}"})
        return problems
