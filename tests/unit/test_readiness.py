"""/readyz says not ready while the spool is over its high-water mark or Neo4j does not answer,
and /healthz stays alive meanwhile; `casewise serve` gives that answer at the connection."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.server import ServerState

from service.engine import Registry
from service.graph.db import Graph, GraphHandle
from service.http.readiness import GraphProbe, Readiness
from service.http.requestlog import RequestLog
from service.http.shedding import EdgeProtocol
from service.settings import Settings
from tests.auth import make_client
from tests.connections import Transport
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


def probe_at_the_connection(state: SimpleNamespace) -> bytes:
    """Give what `casewise serve`'s protocol writes for GET /readyz in the callback that read
    it, before the event loop takes another turn; its app never answers anything."""

    async def scenario() -> bytes:
        Readiness(state)

        async def never(scope: Scope, receive: Receive, send: Send) -> None:
            await asyncio.Event().wait()

        config = Config(app=never, http=EdgeProtocol, log_level="warning", access_log=False)
        config.load()
        transport = Transport()
        protocol = EdgeProtocol(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(b"GET /readyz HTTP/1.1\r\nHost: test\r\n\r\n")
        return transport.written

    return asyncio.run(scenario())


def answer_of(written: bytes) -> tuple[int, dict[str, Any]]:
    top, _, body = written.partition(b"\r\n\r\n")
    assert b"\r\nx-request-id: " in top and b"\r\ncontent-type: application/json" in top, top
    return int(top.split()[1]), json.loads(body)


def test_the_connection_answers_readyz_without_waiting_for_a_busy_app(
    tmp_path: Path, rules_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A load balancer's probe is not queued behind an overloaded worker's requests: its answer
    # is written in the turn that read it, and says what the app's route would.
    monkeypatch.setattr(Readiness, "of_worker", None)
    monkeypatch.setattr(EdgeProtocol, "request_log", RequestLog())
    settings = Settings(rules_dir=RULES, spool_dir=tmp_path, spool_high_water_bytes=100)
    unconfigured = GraphHandle(None, tmp_path / "schema.cypher")
    state = SimpleNamespace(registry=rules_registry, settings=settings, graph=unconfigured)
    assert answer_of(probe_at_the_connection(state)) == (200, {"status": "ready", "rulesets": 2})

    # 500 bytes of records wait in the spool, the oldest for 30 s: over the high-water mark.
    segment = SimpleNamespace(end=500, offset=0, opened_at=time.monotonic() - 30)
    state.decision_log = SimpleNamespace(spool=SimpleNamespace(work=lambda: [segment]))
    status, body = answer_of(probe_at_the_connection(state))
    assert status == 503 and body["error"]["code"] == "not-ready"
    assert [d["check"] for d in body["error"]["details"]] == ["spool"]
    assert "500 bytes" in body["error"]["message"] and "oldest 30 s" in body["error"]["message"]

    # A graph never reached since start-up is not ready either, known without asking it.
    graph = Graph.open(f"bolt://127.0.0.1:{free_port()}", "neo4j", "unused", "neo4j")
    state.decision_log, state.graph = None, GraphHandle(graph, tmp_path / "schema.cypher")
    try:
        status, body = answer_of(probe_at_the_connection(state))
    finally:
        state.graph.close()
    assert status == 503 and [d["check"] for d in body["error"]["details"]] == ["graph"]


def test_readyz_goes_to_the_app_while_the_graphs_first_answer_is_awaited(
    tmp_path: Path, rules_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's route waits a little for that first answer; the connection never waits.
    monkeypatch.setattr(Readiness, "of_worker", None)
    monkeypatch.setattr(EdgeProtocol, "request_log", RequestLog())
    with socket.socket() as silent:  # takes connections, never answers: the check hangs
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        graph = Graph.open(f"bolt://127.0.0.1:{silent.getsockname()[1]}", "neo4j", "x", "neo4j")
        handle = GraphHandle(graph, tmp_path / "schema.cypher")
        handle.ready = True  # reached at start-up; the probe has not answered yet
        settings = Settings(rules_dir=RULES, spool_dir=tmp_path)
        state = SimpleNamespace(registry=rules_registry, settings=settings, graph=handle)
        try:
            assert probe_at_the_connection(state) == b""  # left to the app, which never answers
        finally:
            handle.close()
