"""The decision log's writes to Neo4j: each id once, the first record whole, under every path.

Against the test Neo4j: a batch of new ids (the usual CREATE), a batch meeting an id already in
the log (written by an earlier release's MERGE, which a reader must still read), the same id
twice in one batch, two writers racing on the same ids, and a record the request path wrote
with its case, which the flusher must not write again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from service.decisionlog import records, store
from service.decisionlog.flusher import BATCH, MAX_BATCH, Flusher
from service.decisionlog.spool import Spool, encode
from service.graph.db import Graph, GraphHandle
from tests.graphs import SCHEMA

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

VERSION = "a" * 64
ONCE = """
UNWIND $ids AS id
OPTIONAL MATCH (d:RoutingDecision {id: id})
WITH id, count(d) AS nodes, collect(d.caller)[0] AS caller
OPTIONAL MATCH (:RoutingDecision {id: id})-[r:DECIDED_BY]->(:RulesetVersion {hash: $version})
WITH id, nodes, caller, count(r) AS versions
OPTIONAL MATCH (:RoutingDecision {id: id})-[o:OPENED]->(:Case)
RETURN id, nodes, caller, versions, count(o) AS opened
"""
# How the release before this one wrote a decision (MERGE, every property through += maps,
# a record_digest): such nodes are in every existing log and must still read.
OLD_WRITE = """
MERGE (d:RoutingDecision {id: $id})
ON CREATE SET d += $props, d.`output.route` = '"manual"', d.at = datetime($at)
MERGE (v:RulesetVersion {hash: $version})
ON CREATE SET v.name = $props.ruleset, v.kind = 'ruleset'
MERGE (d)-[:DECIDED_BY]->(v)
"""


@pytest.fixture
def prefix() -> str:
    return f"w{uuid.uuid4().hex[:10]}-"


def rec(decision_id: str, caller: str = "first", case: bool = False) -> dict[str, Any]:
    outputs = {"route": "manual" if case else "auto", "open_case": case}
    decision = {
        "id": decision_id,
        "ruleset": "invoice-approval",
        "version": VERSION,
        "outputs": outputs,
        "fired": [{"rule": "r1"}],
        "facts": [],
        "duration_ms": 0.1,
    }
    case_id = f"case-{decision_id}" if case else None
    return records.record(decision, {"amount": 1}, caller, case_id)


def landed(graph: Graph, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in graph.read(ONCE, ids=ids, version=VERSION)}


def test_new_decisions_land_once_with_version_and_case(graph: Graph, prefix: str) -> None:
    recs = [rec(f"{prefix}{n}", case=n == 0) for n in range(3)]
    store.write(graph, recs)
    got = landed(graph, [r["id"] for r in recs])
    assert [got[r["id"]]["nodes"] for r in recs] == [1, 1, 1]
    assert [got[r["id"]]["versions"] for r in recs] == [1, 1, 1]
    assert [got[r["id"]]["opened"] for r in recs] == [1, 0, 0]
    assert all(r[store.IN_GRAPH] for r in recs)  # the flusher will leave them out
    one = store.get_decision(graph, recs[0]["id"])
    assert one["case_id"] == f"case-{prefix}0" and one["decided_by"] == VERSION
    assert one["outputs"] == {"route": "manual", "open_case": True}


def test_a_batch_meeting_an_old_decision_keeps_it_and_writes_the_rest(
    graph: Graph, prefix: str
) -> None:
    old_id = f"{prefix}old"
    props = {"ruleset": "invoice-approval", "version": VERSION, "input": '{"amount":9}',
             "outputs": '{"route":"manual"}', "fired": "[]", "facts": "[]", "caller": "old",
             "duration_ms": 1.0, "case_opened": False, "record_digest": "f" * 64}  # fmt: skip
    graph.write(OLD_WRITE, id=old_id, props=props, at="2026-01-02T03:04:05+00:00", version=VERSION)
    again = rec(old_id, caller="second")  # the same id, another record
    fresh = rec(f"{prefix}new", caller="second")
    store.write_rows(graph, [records.row(again), records.row(fresh)])
    got = landed(graph, [old_id, fresh["id"]])
    assert got[old_id] == {"id": old_id, "nodes": 1, "caller": "old", "versions": 1, "opened": 0}
    assert got[fresh["id"]]["nodes"] == 1 and got[fresh["id"]]["caller"] == "second"
    # the old shape reads as before: one decision, and in a filtered page
    old = store.get_decision(graph, old_id)
    assert old["input"] == {"amount": 9} and old["caller"] == "old" and old["decided_by"] == VERSION
    page, _ = store.list_decisions(
        graph,
        store.Filter(
            version=VERSION,
            outputs=[("route", '"manual"')],
            since=store.parse_time("since", "2026-01-02T00:00:00Z"),
            until=store.parse_time("until", "2026-01-03T00:00:00Z"),
        ),
        limit=500,
    )
    assert old_id in {d["id"] for d in page}


def test_the_same_id_twice_in_one_batch_keeps_the_first(graph: Graph, prefix: str) -> None:
    first, second = rec(f"{prefix}x", caller="first"), rec(f"{prefix}x", caller="second")
    store.write_rows(graph, [records.row(first), records.row(second)])
    assert landed(graph, [first["id"]])[first["id"]]["caller"] == "first"
    assert landed(graph, [first["id"]])[first["id"]]["nodes"] == 1


def test_two_writers_racing_on_the_same_ids_write_each_once(graph: Graph, prefix: str) -> None:
    ids = [f"{prefix}{n}" for n in range(300)]
    rows = [records.row(rec(i, case=n % 10 == 0)) for n, i in enumerate(ids)]
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def writer(batch: list[dict[str, Any]]) -> None:
        start.wait()
        try:
            store.write_rows(graph, batch)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(rows[:200],)),
        threading.Thread(target=writer, args=(rows[100:],)),
        threading.Thread(target=writer, args=(list(reversed(rows)),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # a writer still in its transaction would hold locks the next test's writes wait on
    assert not any(thread.is_alive() for thread in threads), "a writer still writes after 60 s"
    assert errors == []
    got = landed(graph, ids)
    assert {(r["nodes"], r["versions"]) for r in got.values()} == {(1, 1)}
    assert sum(r["opened"] for r in got.values()) == 30


def test_the_flusher_leaves_out_what_the_request_path_wrote_and_writes_a_backlog_in_large_batches(
    graph: Graph, prefix: str, tmp_path: Path
) -> None:
    handle = GraphHandle(graph, SCHEMA)
    opened = rec(f"{prefix}case", case=True)
    store.write(graph, [opened])  # as the request path does for a decision opening a case
    # gone from the graph: so it is back after the flush only if the flusher wrote it again
    graph.write("MATCH (d:RoutingDecision {id: $id}) DETACH DELETE d", id=opened["id"])
    backlog = [rec(f"{prefix}{n}") for n in range(MAX_BATCH + 500)]
    spool = Spool(tmp_path / "spool")
    spool.start()
    batches: list[int] = []

    class Counting(Flusher):
        def write(self, rows: list[dict[str, Any]]) -> None:
            batches.append(len(rows))
            super().write(rows)

    flusher = Counting(spool, handle)
    try:
        spool.submit([encode(opened)] + [encode(r) for r in backlog]).result(10)
        flusher.start()
        deadline = time.monotonic() + 60
        while flusher.written < len(backlog):
            assert time.monotonic() < deadline, f"{flusher.written} of {len(backlog)} written"
            time.sleep(0.05)
    finally:
        flusher.stop(5.0)
        spool.stop()
        spool.release()
    assert landed(graph, [opened["id"]])[opened["id"]]["nodes"] == 0
    # a backlog goes in transactions larger than the usual BATCH, at most MAX_BATCH each
    assert BATCH < batches[0] <= MAX_BATCH and sum(batches) == len(backlog)
    got = landed(graph, [r["id"] for r in backlog])
    assert {r["nodes"] for r in got.values()} == {1}


def test_a_batch_of_two_ruleset_versions_links_each_decision_to_its_own(
    graph: Graph, prefix: str
) -> None:
    # the write merges each version once a batch: rows of two versions, one new to the graph,
    # and an id already in the log (so the batch goes the second way, leaving that one out)
    new_version = f"{prefix}{uuid.uuid4().hex}"
    other = {**rec(f"{prefix}other"), "ruleset": "claims-triage", "version": new_version}
    taken = rec(f"{prefix}taken", caller="first")
    store.write(graph, [taken])
    rows = [records.row(r) for r in (rec(f"{prefix}a"), other, {**taken, "caller": "second"})]
    store.write_rows(graph, rows)
    assert store.get_decision(graph, f"{prefix}a")["decided_by"] == VERSION
    written = store.get_decision(graph, other["id"])
    assert written["decided_by"] == new_version and written["ruleset"] == "claims-triage"
    at = dt.datetime.fromisoformat(written["at"])  # Neo4j's text leaves out trailing zeros
    assert at == dt.datetime.fromisoformat(other["at"]) and written["at"].endswith("Z")
    named = graph.read("MATCH (v:RulesetVersion {hash: $h}) RETURN v.name AS name", h=new_version)
    assert named == [{"name": "claims-triage"}]
    assert landed(graph, [taken["id"]])[taken["id"]]["caller"] == "first"
    page, _ = store.list_decisions(graph, store.Filter(version=new_version), limit=10)
    assert [d["id"] for d in page] == [other["id"]]


def test_the_drivers_debug_log_names_a_batchs_size_not_its_decisions(
    graph: Graph, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    recs = [rec(f"{prefix}{n}") for n in range(3)]
    with caplog.at_level(logging.DEBUG, logger="neo4j"):
        store.write_rows(graph, [records.row(r) for r in recs])
    runs = [r.getMessage() for r in caplog.records if " C: RUN " in r.getMessage()]
    assert any("<3 decision rows>" in line for line in runs), runs
    assert not any(prefix in line for line in runs)  # no decision's id, input or outputs
    assert [n["nodes"] for n in landed(graph, [r["id"] for r in recs]).values()] == [1, 1, 1]
