"""CASEWISE_LOG_FORMAT=json: a real `casewise serve` writes only JSON lines, one per request with
its request id, decision id, ruleset, version, caller, status and duration."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.graphs import Neo4jServer
from tests.serving import casewise_serve, served_env
from tests.tcpproxy import cutting_proxy

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

RULES = Path(__file__).parents[2] / "rules"
ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}


def logged(log: Path, request_id: str, timeout: float = 10) -> dict[str, Any]:
    """Wait until the server has logged the request ``request_id``; give that line."""
    deadline = time.monotonic() + timeout
    while True:
        for text in log.read_text(errors="replace").splitlines():
            if request_id in text:
                line: dict[str, Any] = json.loads(text)
                if line.get("request_id") == request_id and "status" in line:
                    return line
        assert time.monotonic() < deadline, f"request {request_id} not logged in {timeout} s"
        time.sleep(0.1)


def test_each_request_is_one_json_line_an_operator_can_follow(
    tmp_path: Path, neo4j_server: Neo4jServer, graph_key: str
) -> None:
    log = tmp_path / "serve.log"
    env = served_env(neo4j_server) | {"CASEWISE_LOG_FORMAT": "json", "CASEWISE_WATCH": "off"}
    headers = {"Authorization": f"Bearer {graph_key}"}
    with (
        casewise_serve(["--workers", "2", "--rules", str(RULES)], env, log) as url,
        httpx.Client(base_url=url, headers=headers, timeout=10) as client,
    ):
        answer = client.post(
            "/v1/decisions/invoice-approval", json=ROUTINE, headers={"X-Request-Id": "erp-42"}
        )
        assert answer.status_code == 200
        assert answer.headers["x-request-id"] == "erp-42"
        line = logged(log, "erp-42")
        decision = answer.json()
        assert line["decision_id"] == decision["id"]
        assert line["ruleset"] == "invoice-approval"
        assert line["version"] == decision["version"]
        assert line["caller"] == "system"  # the name of the tests' key
        assert line["status"] == 200 and 0 < line["duration_ms"] < 10_000
        assert line["logger"] == "casewise.access" and line["level"] == "INFO"

        refused = client.post("/v1/decisions/invoice-approval", json={"amount": "lots"})
        made = refused.headers["x-request-id"]
        assert made and made != "erp-42"
        assert logged(log, made)["status"] == 422

        batch = client.post(
            "/v1/decisions/invoice-approval/batch",
            json={"items": [ROUTINE, ROUTINE]},
            headers={"X-Request-Id": "erp-batch"},
        )
        assert batch.status_code == 200
        line = logged(log, "erp-batch")
        assert line["decisions"] == 2
        assert line["decision_ids"] == [r["decision"]["id"] for r in batch.json()["results"]]
    # Everything the server wrote, uvicorn's own lines too, is JSON: a log shipper reads it all.
    lines = [text for text in log.read_text().splitlines() if text.strip()]
    assert lines
    assert all(isinstance(json.loads(text), dict) for text in lines), lines[:5]


def test_the_neo4j_driver_s_own_lines_are_json_too(
    tmp_path: Path, neo4j_server: Neo4jServer, graph_key: str
) -> None:
    """The driver logs a connection Neo4j dropped ("Failed to read from defunct connection")
    through its own logger; with JSON logs that line is JSON too, and the decision still made."""
    log = tmp_path / "serve.log"
    where = urlsplit(neo4j_server.uri)
    assert where.hostname and where.port
    with cutting_proxy((where.hostname, where.port)) as proxy:
        env = served_env(neo4j_server) | {
            "NEO4J_URI": f"bolt://127.0.0.1:{proxy.port}",  # bolt: no routing round the proxy
            "CASEWISE_LOG_FORMAT": "json",
            "CASEWISE_WATCH": "off",
        }
        headers = {"Authorization": f"Bearer {graph_key}"}
        with (
            casewise_serve(["--rules", str(RULES)], env, log) as url,
            httpx.Client(base_url=url, headers=headers, timeout=30) as client,
        ):
            assert client.post("/v1/decisions/invoice-approval", json=ROUTINE).status_code == 200
            assert proxy.cut() > 0  # the server's pooled connections to Neo4j, reset
            # the decision is logged to Neo4j on a pooled connection: the driver finds it
            # dropped, says so, and retries on a new one
            assert client.post("/v1/decisions/invoice-approval", json=ROUTINE).status_code == 200
            deadline = time.monotonic() + 30
            while "defunct connection" not in log.read_text(errors="replace"):
                assert time.monotonic() < deadline, "the driver never met a dropped connection"
                time.sleep(0.1)
    lines = [text for text in log.read_text().splitlines() if text.strip()]
    bare = [text for text in lines if not text.startswith("{")]
    assert not bare, bare[:5]
    dropped = [json.loads(t) for t in lines if "defunct connection" in t]
    assert any(line["logger"].startswith("neo4j") for line in dropped), dropped
