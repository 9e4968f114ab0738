"""A real `casewise serve --workers 2` under more load than it admits: it sheds with 503 and
Retry-After, a key over its rate gets 429, and /healthz answers fast all the while."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.graphs import Neo4jServer
from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

RULES = Path(__file__).parents[2] / "rules"  # employee-onboarding takes a list input
ROUTINE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}
DECIDE = "/v1/decisions/invoice-approval"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer) -> Iterator[str]:
    """Two workers that each admit 2 requests and queue 2 for at most 20 ms."""
    log = tmp_path_factory.mktemp("overload") / "serve.log"
    env = served_env(neo4j_server) | {
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "off",
        "CASEWISE_MAX_IN_FLIGHT": "2",
        "CASEWISE_MAX_QUEUE": "2",
        "CASEWISE_QUEUE_TIMEOUT_MS": "20",
    }
    with casewise_serve(["--workers", "2", "--rules", str(RULES)], env, log) as url:
        yield url


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    body: Any


def burst(url: str, path: str, body: Any, count: int, clients: int) -> list[Answer]:
    """POST ``body`` ``count`` times from ``clients`` concurrent connections (run in a process
    of its own, so that the probes of this one are not queued behind the load's client)."""

    async def run() -> list[Answer]:
        answers: list[Answer] = []
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            todo = iter(range(count))

            async def one_client() -> None:
                for _ in todo:
                    got = await client.post(path, json=body)
                    answers.append(Answer(got.status_code, got.headers.get("retry-after"),
                                          got.json()))  # fmt: skip

            await asyncio.gather(*(one_client() for _ in range(clients)))
        return answers

    return asyncio.run(run())


def under_load(
    url: str, path: str, body: Any, count: int, clients: int
) -> tuple[list[Answer], list[float]]:
    """Give the answers of a burst and the seconds of each GET /healthz made meanwhile."""
    probes: list[float] = []
    with (
        multiprocessing.get_context("spawn").Pool(1) as pool,
        httpx.Client(base_url=url, timeout=5) as client,
    ):
        load = pool.apply_async(burst, (url, path, body, count, clients))
        while not load.ready():
            started = time.perf_counter()
            answer = client.get("/healthz")
            probes.append(time.perf_counter() - started)
            assert answer.status_code == 200
        return load.get(), probes


def shed_counts(url: str) -> dict[str, float]:
    """Give casewise_shed_requests_total of the served metrics, by reason."""
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "casewise_shed_requests"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * share))]


def test_overload_is_shed_with_503_and_retry_after_while_healthz_answers(small: str) -> None:
    answers, probes = under_load(small, DECIDE, ROUTINE, count=1000, clients=48)
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0 and statuses[503] > 0, statuses
    shed = next(a for a in answers if a.status == 503)
    assert shed.retry_after == "1"
    assert shed.body["error"]["code"] == "overloaded"
    assert "retry" in shed.body["error"]["message"].lower()
    # Within 100 ms but for the odd probe the machine's other work delays (2 shared cores).
    assert len(probes) > 20 and percentile(probes, 0.95) < 0.1, sorted(probes)[-10:]
    # Every worker adds its counts to the shared metrics within two seconds (tally.py).
    deadline = time.monotonic() + 10
    while sum((counted := shed_counts(small)).values()) < statuses[503]:
        assert time.monotonic() < deadline, counted
        time.sleep(0.2)
    assert sum(counted.values()) == statuses[503], counted
    assert set(counted) <= {"queue-full", "queue-timeout"}


def test_a_large_list_input_is_decided_off_the_event_loop(small: str) -> None:
    systems = [f"system-{n:06d}" for n in range(40_000)]  # about 600 KB of JSON
    hire = {
        "employee_id": "E1234",
        "role": "software-engineer",
        "location": "remote",
        "country": "DE",
        "contract": "permanent",
        "start_date": "2026-03-02",
        "systems": systems,
    }
    answers, probes = under_load(small, "/v1/decisions/employee-onboarding", hire, 6, 2)
    assert [a.status for a in answers] == [200] * 6, answers[0].body
    assert answers[0].body["outputs"]["steps"]
    # Each big input takes the engine a tenth of a second or more; /healthz does not wait.
    assert len(probes) > 5 and percentile(probes, 0.9) < 0.1, sorted(probes)[-5:]


def test_a_key_over_its_rate_gets_429_with_retry_after(
    tmp_path: Path, neo4j_server: Neo4jServer, graph_key: str
) -> None:
    env = served_env(neo4j_server) | {"CASEWISE_RATE_PER_KEY": "5/minute", "CASEWISE_WATCH": "off"}
    headers = {"Authorization": f"Bearer {graph_key}"}
    with (
        casewise_serve(["--workers", "2", "--rules", str(RULES)], env, tmp_path / "s.log") as url,
        httpx.Client(base_url=url, headers=headers, timeout=10) as client,
    ):
        answers = [client.post(DECIDE, json=ROUTINE) for _ in range(20)]
        statuses = Counter(a.status_code for a in answers)
        assert set(statuses) == {200, 429}, statuses
        assert statuses[200] <= 10  # 5 a minute in each of the two workers
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["error"]["code"] == "rate-limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert client.get("/healthz").status_code == 200  # probes are never limited
