"""Issue 10 item 3: a reused Idempotency-Key never replaces another decision.

Replayed against a real ``casewise serve --workers 2`` on the test Neo4j: the same caller with
the same input gets the first answer (one record, one case), another caller or another input a
409 ``idempotency-conflict`` with the first record unchanged in Neo4j, and a batch item id
cannot take a single decision's place. Also: the log's writes keep the first record, and a
replay is answered from the spool's index while Neo4j is down.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.auth import Neo4jStore
from service.auth.store import create_key
from service.decisionlog import records
from service.decisionlog import store as decisionlog_store
from service.decisionlog.keys import FILE_NAME
from service.graph.db import Graph
from tests.conftest import Neo4jServer
from tests.hostile import assert_refused, assert_still_answering
from tests.serving import casewise_serve, free_port, served_env

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

RULES = Path(__file__).parents[2] / "rules"  # the example rules: fraud opens a case
FRAUD = {"amount": 20000, "department": "IT", "vendor": {"risk": "high", "name": "Shady Ltd"}}
ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}
DECIDE = "/v1/decisions/invoice-approval"
LOGGED = """
MATCH (d:RoutingDecision {id: $id})
OPTIONAL MATCH (d)-[o:OPENED]->(c:Case)
RETURN d.caller AS caller, d.input AS input, d.outputs AS outputs, d.case_opened AS case_opened,
       count(o) AS opened, COUNT { (x:RoutingDecision {id: $id}) } AS nodes,
       COUNT { (:Case {id: 'case-' + $id}) } AS cases
"""


def environment(server: Neo4jServer, spool: Path) -> dict[str, str]:
    return served_env(server) | {
        "CASEWISE_SPOOL_DIR": str(spool),
        "CASEWISE_WATCH": "off",
    }


@pytest.fixture(scope="module")
def keys(graph: Graph) -> tuple[dict[str, str], dict[str, str]]:
    """Two key-holders for the same ruleset, under names of their own."""
    store = Neo4jStore(graph)
    tag = uuid.uuid4().hex[:6]
    first = create_key(store, f"idem-a-{tag}", ["invoice-approval"])
    second = create_key(store, f"idem-b-{tag}", ["invoice-approval"])
    return {"Authorization": f"Bearer {first}"}, {"Authorization": f"Bearer {second}"}


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("idempotency") / "spool"


@pytest.fixture(scope="module")
def server(spool: Path, neo4j_server: Neo4jServer) -> Iterator[str]:
    """Two worker processes on one spool, as `casewise serve --workers 2` runs in production."""
    env = environment(neo4j_server, spool)
    args = ["--workers", "2", "--rules", str(RULES)]
    with casewise_serve(args, env, spool.parent / "serve.log") as url:
        yield url


def answer_kept(spool: Path, decision_id: str) -> bool:
    """Tell whether the spool's index still holds the decision's answer (not yet in Neo4j)."""
    with sqlite3.connect(spool / FILE_NAME) as db:
        row = db.execute("SELECT record FROM decision_keys WHERE id = ?", (decision_id,)).fetchone()
    assert row is not None, f"{decision_id} is not in the index of decision ids"
    return row[0] is not None


def logged(graph: Graph, decision_id: str, timeout: float = 15) -> dict[str, Any]:
    """Wait until the decision is in Neo4j; give its record."""
    deadline = time.monotonic() + timeout
    while True:
        rows = graph.read(LOGGED, id=decision_id)
        if rows and rows[0]["nodes"] or time.monotonic() > deadline:
            assert rows and rows[0]["nodes"], f"{decision_id} never reached the decision log"
            return rows[0]
        time.sleep(0.1)


def post(url: str, headers: dict[str, str], key: str, body: Any, path: str = DECIDE) -> Any:
    return httpx.post(url + path, json=body, headers={**headers, "Idempotency-Key": key})


def test_another_callers_key_is_409_and_the_first_record_stays(
    server: str, keys: tuple[dict[str, str], dict[str, str]], graph: Graph
) -> None:
    first_key, second_key = keys
    key = f"idem-{uuid.uuid4().hex[:10]}"
    first = post(server, first_key, key, FRAUD)
    assert first.status_code == 200, first.text
    assert first.json()["case_id"] == f"case-{key}"
    before = logged(graph, key)
    # The reproducer: another key-holder reuses the key, with another input.
    stolen = post(server, second_key, key, ROUTINE)
    error = assert_refused(stolen, 409, "Idempotency-Key", key, "caller", "input")
    assert error["code"] == "idempotency-conflict"
    # ...and with the very same input: still not theirs.
    assert_refused(post(server, second_key, key, FRAUD), 409, "caller")
    # The first caller's answer still comes back whole, and Neo4j kept the first record.
    again = post(server, first_key, key, FRAUD)
    assert again.status_code == 200 and again.json() == first.json()
    after = logged(graph, key)
    assert after == before
    assert after["caller"].startswith("idem-a-") and after["case_opened"] is True
    assert after["nodes"] == 1 and after["opened"] == 1 and after["cases"] == 1
    assert_still_answering(server)


def test_a_replay_gives_the_first_answer_from_any_worker_before_and_after_the_flush(
    server: str, spool: Path, keys: tuple[dict[str, str], dict[str, str]], graph: Graph
) -> None:
    first_key, _ = keys
    key = f"idem-{uuid.uuid4().hex[:10]}"
    answers = [post(server, first_key, key, FRAUD) for _ in range(6)]  # both workers answer
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert all(b == bodies[0] for b in bodies)  # same id, outputs, case_id, even duration_ms
    assert bodies[0]["id"] == key and bodies[0]["case_id"] == f"case-{key}"
    row = logged(graph, key)
    # Once Neo4j has the record the index lets go of the answer; it is read from the log.
    deadline = time.monotonic() + 10
    while answer_kept(spool, key):
        assert time.monotonic() < deadline, "the flusher never let go of the answer"
        time.sleep(0.05)
    late = post(server, first_key, key, FRAUD)
    assert late.status_code == 200 and late.json() == bodies[0]
    assert logged(graph, key) == row
    assert row["nodes"] == 1 and row["opened"] == 1 and row["cases"] == 1
    # The same caller with another input is a conflict too, naming what differs.
    other = post(server, first_key, key, {**FRAUD, "amount": 20001})
    assert_refused(other, 409, "input")
    assert_still_answering(server)


def test_racing_callers_on_one_key_leave_one_decision(
    server: str, keys: tuple[dict[str, str], dict[str, str]], graph: Graph
) -> None:
    """Two key-holders send the same key at once, to both workers: one decision wins."""
    key = f"idem-{uuid.uuid4().hex[:10]}"
    callers = [keys[n % 2] for n in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda headers: post(server, headers, key, FRAUD), callers))
    won = [(c, a) for c, a in zip(callers, answers, strict=True) if a.status_code == 200]
    lost = [a for a in answers if a.status_code != 200]
    assert won, [a.text for a in answers]
    assert len({id(c) for c, _ in won}) == 1  # every 200 went to one caller...
    assert all(a.json() == won[0][1].json() for _, a in won)  # ...with one answer
    assert len(lost) == 6 and all(a.status_code == 409 for a in lost), [a.text for a in lost]
    row = logged(graph, key)
    winner = "idem-a-" if won[0][0] is keys[0] else "idem-b-"
    assert row["caller"].startswith(winner)
    assert row["nodes"] == 1 and row["opened"] == 1 and row["cases"] == 1
    assert_still_answering(server)


def test_batch_item_ids_never_take_a_single_decisions_place(
    server: str, keys: tuple[dict[str, str], dict[str, str]], graph: Graph
) -> None:
    first_key, second_key = keys
    key = f"idem-{uuid.uuid4().hex[:10]}"
    batch = post(server, first_key, key, {"items": [ROUTINE, FRAUD]}, DECIDE + "/batch")
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert results[1]["decision"]["case_id"] == f"case-{key}.1"
    before = logged(graph, f"{key}.1")
    # A single decision reusing the batch item's id, from another caller or with another input.
    assert_refused(post(server, second_key, f"{key}.1", FRAUD), 409, "caller")
    assert_refused(post(server, first_key, f"{key}.1", ROUTINE), 409, "input")
    assert logged(graph, f"{key}.1") == before
    # The other way round: a single id first, then a batch whose item would take it.
    single = f"idem-{uuid.uuid4().hex[:10]}"
    assert post(server, first_key, f"{single}.0", FRAUD).status_code == 200
    kept = logged(graph, f"{single}.0")
    clash = post(server, second_key, single, {"items": [ROUTINE, ROUTINE]}, DECIDE + "/batch")
    assert clash.status_code == 200, clash.text
    item0, item1 = clash.json()["results"]
    assert item0["error"]["code"] == "idempotency-conflict"
    assert item1["decision"]["id"] == f"{single}.1"
    assert logged(graph, f"{single}.0") == kept
    # The same batch again from its caller: the same answers, nothing twice.
    replay = post(server, first_key, key, {"items": [ROUTINE, FRAUD]}, DECIDE + "/batch")
    assert replay.json() == batch.json()
    assert_still_answering(server)


def test_the_logs_writes_keep_the_first_record(graph: Graph) -> None:
    decision_id = f"idem-{uuid.uuid4().hex[:10]}"
    decision = {
        "id": decision_id,
        "ruleset": "invoice-approval",
        "version": "0" * 64,
        "outputs": {"open_case": True},
        "fired": [],
        "facts": [],
        "duration_ms": 0.1,
    }
    first = records.record(decision, FRAUD, "first-caller", f"case-{decision_id}")
    second = records.record(
        {**decision, "outputs": {"open_case": False}, "version": "1" * 64},
        ROUTINE,
        "second-caller",
        None,
    )
    decisionlog_store.write(graph, [first])
    decisionlog_store.write(graph, [first])  # the same record again: nothing twice
    decisionlog_store.write(graph, [second])  # another record under its id: nothing changes
    row = graph.read(LOGGED, id=decision_id)[0]
    assert row["caller"] == "first-caller" and row["case_opened"] is True
    assert row["nodes"] == 1 and row["opened"] == 1 and row["cases"] == 1
    versions = graph.read(
        "MATCH (:RoutingDecision {id: $id})-[:DECIDED_BY]->(v) RETURN v.hash AS hash",
        id=decision_id,
    )
    assert [v["hash"] for v in versions] == ["0" * 64]


def test_with_neo4j_down_a_replay_is_answered_from_the_spool_index(tmp_path: Path) -> None:
    env = served_env() | {
        "NEO4J_URI": f"bolt://127.0.0.1:{free_port()}",  # nothing listens: Neo4j is down
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "off",
        "CASEWISE_SPOOL_DIR": str(tmp_path / "spool"),
    }
    key = f"idem-{uuid.uuid4().hex[:10]}"
    with casewise_serve(["--workers", "2", "--rules", str(RULES)], env, tmp_path / "s.log") as url:
        answers = [post(url, {}, key, FRAUD) for _ in range(4)]
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        assert all(a.json() == answers[0].json() for a in answers)
        assert answers[0].json()["case_id"] == f"case-{key}"
        assert_refused(post(url, {}, key, ROUTINE), 409, "input")
        assert_still_answering(url)
