"""No answered decision is lost: Neo4j stopped mid-load, and the service killed mid-load.

Each test drives a real ``casewise serve`` from a few threads. After Neo4j comes back (or the
service is started again on the same spool), every decision that got a 200 is in Neo4j exactly
once: one RoutingDecision, one DECIDED_BY, and one OPENED for those that asked for a case.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.graph import local
from service.graph.db import Graph
from tests.conftest import Neo4jServer
from tests.serving import casewise_serve, free_port, served_env, serving

RULES = Path(__file__).parents[2] / "rules"  # the example rules: fraud opens a case

pytestmark = [pytest.mark.integration, pytest.mark.neo4j, pytest.mark.slow]

FRAUD = {"amount": 20000, "department": "IT", "vendor": {"risk": "high", "name": "Shady Ltd"}}
ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}
THREADS = 4
ONCE = """
UNWIND $ids AS id
OPTIONAL MATCH (d:RoutingDecision {id: id})
WITH id, count(d) AS nodes
OPTIONAL MATCH (:RoutingDecision {id: id})-[r:DECIDED_BY]->(:RulesetVersion)
WITH id, nodes, count(r) AS versions
OPTIONAL MATCH (:RoutingDecision {id: id})-[o:OPENED]->(:Case {id: 'case-' + id})
RETURN id, nodes, versions, count(o) AS opened
"""


class Load:
    """Threads that post decisions until stopped; they note every id answered with 200."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.ok: dict[str, bool] = {}  # id -> asked for a case
        self.answered_at: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(THREADS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ok) < count:
            assert time.monotonic() < deadline, f"only {len(self.ok)} answers: {self.failures[:3]}"
            time.sleep(0.05)

    def _run(self, thread: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            n = 0
            while not self._stop.is_set():
                key = f"{self.prefix}{thread}-{n}"
                wants_case = n % 4 == 0
                try:
                    response = client.post(
                        "/v1/decisions/invoice-approval",
                        json=FRAUD if wants_case else ROUTINE,
                        headers={"Idempotency-Key": key},
                    )
                except httpx.TransportError as exc:
                    self.failures.append(f"{key}: {exc!r}")
                    time.sleep(0.05)
                else:
                    if response.status_code == 200:
                        self.ok[key] = wants_case
                        self.answered_at.append(time.monotonic())
                    else:
                        self.failures.append(f"{key}: {response.status_code} {response.text}")
                n += 1


def environment(uri: str, auth: tuple[str, str], spool: Path) -> dict[str, str]:
    return served_env() | {
        "NEO4J_URI": uri,
        "NEO4J_USER": auth[0],
        "NEO4J_PASSWORD": auth[1],
        "CASEWISE_AUTH": "off",
        "CASEWISE_SPOOL_DIR": str(spool),
    }


def assert_once(graph: Graph, load: Load, timeout: float = 40) -> None:
    """Wait until every answered decision is in Neo4j; then each must be there exactly once."""
    ids = sorted(load.ok)
    deadline = time.monotonic() + timeout
    while True:
        rows = graph.read(ONCE, ids=ids)
        missing = [r["id"] for r in rows if r["nodes"] == 0]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert missing == [], f"{len(missing)} of {len(ids)} answered decisions not in the log"
    assert all(r["nodes"] == 1 and r["versions"] == 1 for r in rows)
    opened = {r["id"]: r["opened"] for r in rows}
    assert all(opened[i] == (1 if wants else 0) for i, wants in load.ok.items())


@contextmanager
def graph_at(uri: str, auth: tuple[str, str]) -> Iterator[Graph]:
    graph = Graph.connect(uri, *auth, "neo4j")
    try:
        yield graph
    finally:
        graph.close()


def test_decisions_go_on_while_neo4j_is_stopped_and_land_once_when_it_returns(
    tmp_path: Path,
) -> None:
    port = free_port()
    data_dir = tmp_path / "neo4j"
    server = local.start(port=port, data_dir=data_dir)
    uri = f"bolt://127.0.0.1:{server.port}"
    prefix = f"stop-{uuid.uuid4().hex[:6]}-"
    try:
        env = environment(uri, server.auth, tmp_path / "spool")
        with casewise_serve(["--rules", str(RULES)], env, tmp_path / "serve.log") as url:
            load = Load(url, prefix)
            load.start()
            try:
                load.wait_for(40)
                local.stop(data_dir)
                down_at = time.monotonic()
                time.sleep(8)
                up_at = time.monotonic()
                local.start(port=port, data_dir=data_dir)
                load.wait_for(len(load.ok) + 40)
            finally:
                load.stop()
            assert load.failures == []
            during = [t for t in load.answered_at if down_at < t < up_at]
            assert len(during) > 20, "decisions were not answered while Neo4j was down"
            print(f"{len(load.ok)} answered, {len(during)} while Neo4j was down")
            assert any(load.ok.values())
            with graph_at(uri, server.auth) as graph:
                assert_once(graph, load)
    finally:
        local.stop(data_dir)


def test_a_killed_service_loses_no_answered_decision(
    tmp_path: Path, neo4j_server: Neo4jServer
) -> None:
    spool = tmp_path / "spool"
    auth = (neo4j_server.user, neo4j_server.password)
    env = environment(neo4j_server.uri, auth, spool)
    prefix = f"kill-{uuid.uuid4().hex[:6]}-"
    args = ["--workers", "2", "--rules", str(RULES)]
    with serving(args, env, tmp_path / "killed.log") as served:
        load = Load(served.url, prefix)
        load.start()
        try:
            load.wait_for(300)
            served.kill()  # the service and its workers, mid-load
        finally:
            load.stop()
    left = sum(p.stat().st_size for p in (spool / "decisions").glob("*.jsonl"))
    assert all("ConnectError" in f or "RemoteProtocolError" in f or "ReadError" in f
               for f in load.failures), load.failures[:3]  # fmt: skip
    with graph_at(neo4j_server.uri, auth) as graph:
        rows = graph.read(ONCE, ids=sorted(load.ok))
        waiting = sum(1 for r in rows if r["nodes"] == 0)
        # Started again on the same spool: the orphaned segments are taken over and flushed.
        with casewise_serve(["--rules", str(RULES)], env, tmp_path / "again.log"):
            assert_once(graph, load)
    print(f"{len(load.ok)} answered, {waiting} not yet in Neo4j at the kill; {left} bytes spooled")
