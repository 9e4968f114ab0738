"""/metrics of a real `casewise serve --workers 2`: every worker's series, summed or per pid."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.graphs import Neo4jServer
from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

RULES = Path(__file__).parents[2] / "rules"
ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}
Samples = dict[str, list[tuple[dict[str, str], float]]]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer, graph_key: str
) -> Iterator[httpx.Client]:
    log = tmp_path_factory.mktemp("metrics") / "serve.log"
    env = served_env(neo4j_server) | {"CASEWISE_WATCH": "off"}
    headers = {"Authorization": f"Bearer {graph_key}"}  # a key for every ruleset
    with (
        casewise_serve(["--workers", "2", "--rules", str(RULES)], env, log) as url,
        httpx.Client(base_url=url, headers=headers, timeout=10) as client,
    ):
        yield client


def scrape(client: httpx.Client) -> Samples:
    """Give every sample of /metrics by its name: (labels, value) pairs."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if labels.items() <= found.items())


def test_decisions_of_both_workers_are_counted_once(server: httpx.Client) -> None:
    # Separate connections, so the kernel spreads them over the two workers.
    for _ in range(30):
        answer = httpx.post(
            f"{server.base_url}/v1/decisions/invoice-approval",
            json=ROUTINE,
            headers=dict(server.headers),
        )
        assert answer.status_code == 200
    version = answer.json()["version"][:12]
    # Each worker adds its counts to the shared files within a second or two (tally.py).
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(server)
        counted = total(
            samples, "casewise_decisions_total", ruleset="invoice-approval", version=version
        )
        if counted >= 30 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert counted == 30
    assert total(samples, "casewise_decision_seconds_count", ruleset="invoice-approval") == 30
    timed = total(
        samples,
        "casewise_http_request_seconds_count",
        route="/v1/decisions/{ruleset}",
        status="200",
    )
    assert timed == 30


def test_every_worker_reports_its_process(server: httpx.Client) -> None:
    samples = scrape(server)
    pids = {labels["pid"] for labels, _ in samples["casewise_process_resident_memory_bytes"]}
    assert len(pids) == 2, samples["casewise_process_resident_memory_bytes"]
    lags = samples["casewise_event_loop_lag_seconds"]
    assert {labels["pid"] for labels, _ in lags} == pids and all(0 <= v < 60 for _, v in lags)
    assert all(v > 0 for _, v in samples["casewise_process_cpu_seconds"])


def test_errors_by_code_and_the_decision_log_and_graph_series(server: httpx.Client) -> None:
    assert server.post("/v1/decisions/invoice-approval", json={"amount": "x"}).status_code == 422
    assert server.get("/v1/rulesets/nope").status_code == 404
    samples = scrape(server)
    assert total(samples, "casewise_errors_total", code="invalid-input", status="422") >= 1
    assert total(samples, "casewise_errors_total", code="not-found", status="404") >= 1
    assert total(samples, "casewise_graph_transactions_total", access="write") > 0
    # The flusher writes the decisions' records to Neo4j in batches: wait until it has.
    deadline = time.monotonic() + 30
    while total(samples, "casewise_flush_batch_records_count") == 0:
        assert time.monotonic() < deadline, "no flush batch recorded in 30 s"
        time.sleep(0.5)
        samples = scrape(server)
    assert total(samples, "casewise_flush_batch_records_sum") >= 1
    for gauge in ("casewise_spool_pending_bytes", "casewise_flusher_lag_seconds"):
        assert len(samples[gauge]) == 2, samples[gauge]  # one per worker


def test_a_graph_read_shows_in_the_session_series(server: httpx.Client) -> None:
    # The driver keeps its pool to itself: Casewise counts sessions and their acquire time.
    before = total(scrape(server), "casewise_graph_acquire_seconds_count", access="read")
    answer = server.get("/v1/cases/metrics-test-no-such-case")
    assert answer.status_code == 404, answer.text  # the graph was asked, and said no such case
    samples = scrape(server)
    assert total(samples, "casewise_graph_acquire_seconds_count", access="read") > before
    assert total(samples, "casewise_graph_acquire_seconds_sum", access="read") > 0
    in_use = samples["casewise_graph_sessions_in_use"]
    assert len(in_use) == 1, in_use  # summed over the live workers
    assert 0 <= in_use[0][1] <= 2 * 100  # at most the driver's pool of each worker
