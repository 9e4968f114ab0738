"""/readyz says not ready while the spool is over its high-water mark or Neo4j does not answer,
and /healthz stays alive meanwhile."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from service.engine import Registry
from service.graph.db import Graph, GraphHandle
from service.http.readiness import GraphProbe
from service.settings import Settings
from tests.auth import make_client
from tests.fixtures import RULES
from tests.serving import free_port

ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}


def test_a_spool_over_its_high_water_mark_is_not_ready(
    tmp_path: Path, rules_registry: Registry
) -> None:
    # Without a graph nothing takes the records: one decision puts the spool over 100 bytes.
    settings = Settings(
        rules_dir=RULES, watch="off", spool_dir=tmp_path, spool_high_water_bytes=100, neo4j_uri=None
    )
    with make_client(settings, rules_registry) as client:
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/decisions/invoice-approval", json=ROUTINE).status_code == 200
        answer = client.get("/readyz")
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error["code"] == "not-ready"
        assert [d["check"] for d in error["details"]] == ["spool"]
        assert "CASEWISE_SPOOL_HIGH_WATER_BYTES (100)" in error["message"]
        assert client.get("/healthz").status_code == 200


def test_a_graph_that_does_not_answer_is_not_ready_and_the_probe_stays_fast(
    tmp_path: Path, rules_registry: Registry
) -> None:
    settings = Settings(
        rules_dir=RULES,
        watch="off",
        spool_dir=tmp_path,
        neo4j_uri=f"bolt://127.0.0.1:{free_port()}",  # nothing listens there
    )
    with make_client(settings, rules_registry) as client:
        started = time.perf_counter()
        answer = client.get("/readyz")
        took = time.perf_counter() - started
        assert answer.status_code == 503, answer.text
        details = answer.json()["error"]["details"]
        assert [d["check"] for d in details] == ["graph"]
        assert "unreachable" in details[0]["message"]
        assert took < 1.0  # never waits out the driver's connection timeout
        # Decisions are still served without the graph.
        assert client.post("/v1/decisions/invoice-approval", json=ROUTINE).status_code == 200


def test_ready_with_no_graph_configured(rules_registry: Registry, tmp_path: Path) -> None:
    settings = Settings(rules_dir=RULES, watch="off", spool_dir=tmp_path, neo4j_uri=None)
    with make_client(settings, rules_registry) as client:
        assert client.get("/readyz").json() == {"status": "ready", "rulesets": 2}


def test_a_known_graph_answer_is_given_without_waiting_for_the_next_check(
    tmp_path: Path,
) -> None:
    # A re-check runs on the probe's thread; /readyz must not wait for it on a busy worker.
    with socket.socket() as silent:  # takes connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        graph = Graph.open(f"bolt://127.0.0.1:{port}", "neo4j", "unused", "neo4j")
        handle = GraphHandle(graph, tmp_path / "schema.cypher")
        probe = GraphProbe()
        probe.reachable = True  # it answered before; that answer is now due for a re-check
        check = probe.check(handle)
        with pytest.raises(StopIteration) as answered:
            check.send(None)  # done at its first step: it never suspended to wait
        assert answered.value.value is True  # the last answer, while the re-check hangs
        pending = probe._pending
        assert pending is not None and not pending.done()
    # The server is gone now: the re-check fails and the next /readyz will say so.
    try:
        pending.result(timeout=30)
        assert probe.reachable is False and probe.problem
    finally:
        handle.close()
