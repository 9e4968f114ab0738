"""A page of the decision log filtered by version or ruleset reads that one's decisions only.

Against the test Neo4j, with Neo4j's own PROFILE counts (``tests.graphs.decisions_read``): a
page of an old version (or of a rarely used ruleset) behind newer decisions reads about its
page from the (version, at) or (ruleset, at) index, where a walk of the `at` index read every
newer decision first (25-33 s a page on a log of 4.8 million decisions).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import pytest

from service.decisionlog import records, store
from service.graph.db import Graph
from tests.graphs import decisions_read

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

NEWER = 300  # decisions of another version, all newer than the old version's
OLD = 4
# Before every decision of the other tests, at a day of its own for each run on a kept graph.
LONG_AGO = dt.datetime(1971, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=random.randrange(15_000))


def rec(decision_id: str, ruleset: str, version: str, at: dt.datetime) -> dict[str, Any]:
    decision = {
        "id": decision_id,
        "ruleset": ruleset,
        "version": version,
        "outputs": {"route": "auto"},
        "fired": [],
        "facts": [],
        "duration_ms": 0.1,
    }
    return records.record(decision, {"amount": 1}, "seeks", None, at=at)


def profiled(graph: Graph, selection: store.Filter, limit: int) -> tuple[list[str], int]:
    """Give the ids of a page of ``selection`` and the decisions Neo4j read to make it."""
    params = {**selection.params(), "upto": store.LATEST, "after_id": None, "limit": limit}
    rows, read = decisions_read(graph, store.list_query(selection), **params)
    return [r["decision"]["id"] for r in rows], read


@pytest.fixture(scope="module")
def old_and_new(graph: Graph) -> dict[str, str]:
    """An old version's few decisions (of a ruleset of their own) behind NEWER of another."""
    tag = uuid.uuid4().hex[:10]
    old_version, new_version = f"old-{tag}", f"new-{tag}"
    old_ruleset, new_ruleset = f"rare-{tag}", f"busy-{tag}"
    recs = [
        rec(f"s{tag}-old-{n}", old_ruleset, old_version, LONG_AGO + dt.timedelta(minutes=n))
        for n in range(OLD)
    ]
    later = LONG_AGO + dt.timedelta(days=1)
    recs += [
        rec(f"s{tag}-new-{n}", new_ruleset, new_version, later + dt.timedelta(seconds=n))
        for n in range(NEWER)
    ]
    store.write(graph, recs)
    graph.read("CALL db.awaitIndexes(60)")
    return {"old_version": old_version, "old_ruleset": old_ruleset, "tag": tag}


def old_of(old_and_new: dict[str, str], which: str) -> store.Filter:
    if which == "version":
        return store.Filter(version=old_and_new["old_version"])
    return store.Filter(ruleset=old_and_new["old_ruleset"])


@pytest.mark.parametrize("which", ["version", "ruleset"])
def test_a_page_of_an_old_version_or_rare_ruleset_reads_its_decisions_not_the_newer_ones(
    graph: Graph, old_and_new: dict[str, str], which: str
) -> None:
    tag = old_and_new["tag"]
    ids, read = profiled(graph, old_of(old_and_new, which), limit=50)
    assert ids == [f"s{tag}-old-{n}" for n in reversed(range(OLD))]  # newest first
    assert read <= OLD + 1, f"{read} decisions read for a page of {OLD}"
    ids, read = profiled(graph, old_of(old_and_new, which), limit=2)
    assert ids == [f"s{tag}-old-3", f"s{tag}-old-2"] and read <= 3


@pytest.mark.parametrize("which", ["version", "ruleset"])
def test_the_next_page_of_a_version_or_ruleset_goes_on_from_the_cursor(
    graph: Graph, old_and_new: dict[str, str], which: str
) -> None:
    tag = old_and_new["tag"]
    selection = old_of(old_and_new, which)
    page, cursor = store.list_decisions(graph, selection, 2)
    rest, last = store.list_decisions(graph, selection, 2, cursor)
    assert [d["id"] for d in page + rest] == [f"s{tag}-old-{n}" for n in (3, 2, 1, 0)]
    assert last is not None and store.list_decisions(graph, selection, 2, last) == ([], None)


def test_a_page_of_the_whole_log_is_still_read_newest_first_from_the_time_index(
    graph: Graph, old_and_new: dict[str, str]
) -> None:
    since = LONG_AGO + dt.timedelta(days=1)
    selection = store.Filter(since=since, until=since + dt.timedelta(days=1))
    ids, read = profiled(graph, selection, limit=10)
    tag = old_and_new["tag"]
    assert ids == [f"s{tag}-new-{n}" for n in range(NEWER - 1, NEWER - 11, -1)]
    assert read <= 11, f"{read} decisions read for a page of 10"
