"""Recommendations kept current in the background, so the worklist needs no visit to a case.

A case is stale when it changed since it was last recommended (its ``revision`` passed its
``recommended_revision``: any write of the case, its parties, evidence, events or decisions
bumps it), when a case linked to it changed (its ``linked_revision`` passed its
``recommended_linked``), or when its playbook changed version. ``refresh_stale`` recommends
every stale case again. The ``Refresher`` thread recommends a case at once when nudged with its
id (a write through the API or a page), and looks for stale cases every ``interval`` seconds
(writes by an import or another process), a batch at a time, so a large import is caught up
without taking the machine.

A write changes what the cases linked to the written one are told (how many claims they are
linked to, how those ended), so ``mark_linked`` marks the open cases one link away (a shared
party, or parties sharing an address, phone, e-mail or bank account) as stale, at most
``LINKED_MARKED`` per round, the most pressing first (of at most ``WALK`` times as many read).
Of those, the nudged path recommends the first ``LINKED_NOW`` at once, after the written cases;
the rest are left to the periodic look (or to the next visit of the case page, when the look is
off). So a hub identifier shared by thousands of cases costs one bounded read and write and
``LINKED_NOW`` recommendations per write, never thousands. The periodic look marks the cases
linked to the changed cases it finds the same way, but not those linked to cases it refreshes
only because a link changed: marks never cascade.

``mark_linked`` reads the links as they are after the write. No write removes a link (parties,
their roles and identifiers are only ever merged; evidence and events stay with their case), so
the cases linked before a write are still linked after it. A write that does remove one (a party
detached, cases unmerged) must read the cases linked before it, in its transaction, and mark
them too.
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
LINKED_NOW = 20
"""Cases linked to the cases written through the API or a page, recommended again at once."""
LINKED_MARKED = 500
"""Cases linked to the cases of one round marked stale, for the periodic look."""
WALK = 10
"""How many times ``limit`` linked cases ``mark_linked`` reads to choose the most pressing."""

# A closed case is stale only until its open recommendations are withdrawn once. `changed`:
# the case itself changed (not only a case linked to it).
STALE: LiteralString = """
MATCH (c:Case)
WHERE (coalesce(c.recommended_revision, -1) < coalesce(c.revision, 0)
       OR (c.status <> 'closed'
           AND (coalesce(c.recommended_with, '') <> coalesce($versions[c.type], '')
                OR coalesce(c.recommended_linked, 0) < coalesce(c.linked_revision, 0))))
  AND NOT c.id IN $skip AND c.id STARTS WITH $id_prefix
RETURN c.id AS id, coalesce(c.recommended_revision, -1) < coalesce(c.revision, 0) AS changed
ORDER BY c.status = 'closed', c.priority, c.due_at
LIMIT $limit
"""

# The open cases one link away from the given ones (but not those in $skip), the most pressing
# first of those found, at most $limit (each way of linking stops after $walk cases, so a hub
# identifier is not walked to its end), marked stale by bumping their linked revision; their
# ids, in that order.
MARK_LINKED: LiteralString = """
UNWIND $ids AS source
MATCH (s:Case {id: source})
WITH s, COLLECT {
    MATCH (s)<-[:PARTY_TO]-(:Party)-[:PARTY_TO]->(o:Case)
    WHERE coalesce(o.status, 'open') <> 'closed' AND NOT o.id IN $skip
    RETURN DISTINCT o LIMIT $walk
  } + COLLECT {
    MATCH (s)<-[:PARTY_TO]-(p:Party)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->()
          <-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]-(q:Party)-[:PARTY_TO]->(o:Case)
    WHERE q <> p AND coalesce(o.status, 'open') <> 'closed' AND NOT o.id IN $skip
    RETURN DISTINCT o LIMIT $walk
  } AS linked
UNWIND linked AS o
WITH DISTINCT o
ORDER BY o.priority, o.due_at, o.id
LIMIT $limit
SET o.linked_revision = coalesce(o.linked_revision, 0) + 1
RETURN o.id AS id
"""


def mark_linked(
    graph: Graph,
    case_ids: Iterable[str],
    limit: int = LINKED_MARKED,
    skip: Iterable[str] = (),
) -> list[str]:
    """Mark the open cases one link away from these stale (at most ``limit``, the most
    pressing first; neither these nor those in ``skip``); give their ids in that order."""
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return []
    skipped = sorted(set(ids).union(skip))
    rows = graph.write(MARK_LINKED, ids=ids, limit=limit, walk=limit * WALK, skip=skipped)
    return [str(r["id"]) for r in rows]


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
    The cases linked to each case that changed itself are marked stale (``mark_linked``).
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
        changed = []
        for row in found:
            if stop():
                break
            tried.append(row["id"])
            done += refresh_cases(graph, playbooks, [row["id"]])
            if row["changed"]:
                changed.append(row["id"])
        # those recommended in this round saw the writes already
        mark_linked(graph, changed, skip=tried)
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
                written = self._take()
                refresh_cases(graph, self._playbooks, written)
                linked = mark_linked(graph, written)[:LINKED_NOW]
                refresh_cases(graph, self._playbooks, linked)
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
