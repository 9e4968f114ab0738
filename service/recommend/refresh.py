"""Recommendations kept current in the background, so the worklist needs no visit to a case.

A case is stale when it changed since it was last recommended (its ``revision`` passed its
``recommended_revision``: any write of the case, its parties, evidence, events or decisions
bumps it) or when its playbook changed version. ``refresh_stale`` recommends every stale case
again. The ``Refresher`` thread recommends a case at once when nudged with its id (a write
through the API or a page), and looks for stale cases every ``interval`` seconds (writes by an
import or another process), a batch at a time, so a large import is caught up without taking
the machine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import LiteralString

from service.graph.db import Graph, GraphUnavailable
from service.kernel.errors import CasewiseError
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend

log = logging.getLogger("casewise.recommend")

BATCH = 100

# A closed case is stale only until its open recommendations are withdrawn once.
STALE: LiteralString = """
MATCH (c:Case)
WHERE (coalesce(c.recommended_revision, -1) < coalesce(c.revision, 0)
       OR (c.status <> 'closed'
           AND coalesce(c.recommended_with, '') <> coalesce($versions[c.type], '')))
  AND NOT c.id IN $skip AND c.id STARTS WITH $id_prefix
RETURN c.id AS id
ORDER BY c.status = 'closed', c.priority, c.due_at
LIMIT $limit
"""


def refresh_cases(graph: Graph, playbooks: PlaybookRegistry, case_ids: Iterable[str]) -> int:
    """Recommend the given cases again; give how many were; a case that fails is logged."""
    done = 0
    for case_id in case_ids:
        try:
            recommend(graph, playbooks, playbooks.actions, case_id)
            done += 1
        except GraphUnavailable:
            raise
        except CasewiseError as exc:  # a case deleted meanwhile, a playbook's bug
            log.warning("cannot recommend for case %s: %s", case_id, exc.message)
    return done


def refresh_stale(
    graph: Graph,
    playbooks: PlaybookRegistry,
    limit: int | None = None,
    stop: Callable[[], bool] = lambda: False,
    id_prefix: str = "",
) -> int:
    """Recommend the stale cases again (at most ``limit``, until ``stop()``); give how many.

    A case whose recommending fails (a playbook bug) is logged and left for the next round.
    """
    versions = {p.name: p.version for p in playbooks}
    tried: list[str] = []
    done = 0
    while (limit is None or len(tried) < limit) and not stop():
        size = BATCH if limit is None else min(BATCH, limit - len(tried))
        found = graph.read(STALE, versions=versions, skip=tried, limit=size, id_prefix=id_prefix)
        ids = [r["id"] for r in found]
        if not ids:
            break
        for case_id in ids:
            if stop():
                break
            tried.append(case_id)
            done += refresh_cases(graph, playbooks, [case_id])
    return done


class Refresher:
    """A daemon thread running ``refresh_stale`` when nudged and every ``interval`` seconds."""

    def __init__(
        self, graph: Callable[[], Graph], playbooks: PlaybookRegistry, interval: float
    ) -> None:
        self._graph = graph
        self._playbooks = playbooks
        self._interval = interval or None  # 0: only when nudged
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}  # case ids nudged, in order

    def start(self) -> None:
        """Start the thread; with an interval, it first looks for stale cases after one."""
        self._thread = threading.Thread(target=self._run, name="recommend-refresh", daemon=True)
        self._thread.start()

    def nudge(self, case_ids: Iterable[str]) -> None:
        """Recommend these cases again, now (they were written)."""
        with self._lock:
            self._pending.update(dict.fromkeys(case_ids))
        self._wake.set()

    def _take(self) -> list[str]:
        with self._lock:
            ids, self._pending = list(self._pending), {}
        return ids

    def stop(self, timeout: float = 10) -> None:
        """Stop the thread once its current case is done."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        # the first look one interval after start-up: a short-lived process (a command, a
        # test) that only nudges never walks the whole graph
        next_look = time.monotonic() + (self._interval or 0)
        while not self._stopping.is_set():
            wait = None if self._interval is None else max(0.0, next_look - time.monotonic())
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopping.is_set():
                break
            count = 0
            try:
                graph = self._graph()
                refresh_cases(graph, self._playbooks, self._take())
                if self._interval is None or time.monotonic() < next_look:
                    continue
                count = refresh_stale(
                    graph, self._playbooks, limit=BATCH, stop=self._stopping.is_set
                )
            except GraphUnavailable as exc:
                log.debug("recommendation refresh waits for the graph: %s", exc)
            except Exception:  # the thread must outlive any one bad round
                log.exception("recommendation refresh failed; it runs again later")
            if count:
                log.info("recommendations refreshed for %d changed case(s)", count)
            if self._interval is not None and time.monotonic() >= next_look:
                # more to catch up: soon, not at once, so requests keep the machine
                pace = min(self._interval, 1.0) if count >= BATCH else self._interval
                next_look = time.monotonic() + pace


def nudge(refresher: Refresher | None, case_ids: Iterable[str]) -> None:
    """Have ``refresher`` recommend these cases again now (nothing without a refresher)."""
    if refresher is not None:
        refresher.nudge(case_ids)
