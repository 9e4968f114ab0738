"""Schemathesis against a real ``casewise serve``: every documented operation, valid and invalid
input, with a ``*`` API key. No answer may be a 5xx or differ from the OpenAPI document.

Everything the run writes carries a prefix unique to the run (ids in bodies, case ids in paths,
Idempotency-Key), and is deleted afterwards, so the shared test graph keeps no stray cases.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.graph.db import Graph
from tests.conftest import KNOWLEDGE, Neo4jServer
from tests.fixtures import RULES
from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

EXAMPLES = 28
"""Examples per operation and mode (valid input, invalid input); fewer where input is simple."""
FEWER = {"POST /v1/cases": 8}
"""Operations whose bodies are slow to generate and to write (whole cases): fewer examples."""
LEAST_REQUESTS = 1000
CHECKS = [not_a_server_error, response_schema_conformance]

CLEAN_UP = """
MATCH (n) WHERE n.id STARTS WITH $prefix
DETACH DELETE n
"""
# Identifiers, events and evidence left with no relationship once the run's cases are gone.
CLEAN_ORPHANS = """
MATCH (n) WHERE (n:Address OR n:Phone OR n:Email OR n:BankAccount OR n:Event OR n:Evidence
  OR n:RoutingDecision) AND NOT (n)--()
DELETE n
"""


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"st{uuid.uuid4().hex[:8]}-"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer, graph: Graph, prefix: str
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("schemathesis") / "serve.log"
    env = served_env(neo4j_server) | {
        "CASEWISE_KNOWLEDGE_DIR": str(KNOWLEDGE),
        "CASEWISE_WATCH": "off",
    }
    try:
        with casewise_serve(["--rules", str(RULES)], env, log) as url:
            yield url
    finally:
        graph.write(CLEAN_UP, prefix=prefix)
        graph.write(CLEAN_ORPHANS)


def _prefixed(value: Any, prefix: str) -> Any:
    """Give a generated body with every ``id`` (and party reference) under the run's prefix."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                out[key] = prefix + item
            elif key == "concerns" and isinstance(item, list):
                out[key] = [prefix + x if isinstance(x, str) else x for x in item]
            else:
                out[key] = _prefixed(item, prefix)
        return out
    if isinstance(value, list):
        return [_prefixed(item, prefix) for item in value]
    return value


@dataclass
class Run:
    """What the run sent and what it found."""

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    server: str, graph_key: str, prefix: str
) -> None:
    auth = {"Authorization": f"Bearer {graph_key}"}
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json", headers=auth, timeout=10)
    run = Run()
    keys = itertools.count()
    started = time.monotonic()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            takes = [operation.path_parameters, operation.query, operation.body]
            modes = [GenerationMode.POSITIVE]
            if any(len(part) for part in takes):  # nothing to make invalid otherwise
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=FEWER.get(operation.label, EXAMPLES),
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                def call(case: schemathesis.Case) -> None:
                    if "case_id" in (case.path_parameters or {}):
                        case.path_parameters = {
                            **case.path_parameters,
                            "case_id": prefix + str(case.path_parameters["case_id"]),
                        }
                    if isinstance(case.body, dict | list):
                        case.body = _prefixed(case.body, prefix)
                    headers = {**auth, "Idempotency-Key": f"{prefix}{next(keys)}"}
                    response = case.call(base_url=server, session=session, headers=headers)
                    run.requests += 1
                    run.statuses[response.status_code] = (
                        run.statuses.get(response.status_code, 0) + 1
                    )
                    try:
                        case.validate_response(response, checks=CHECKS, headers=headers)
                    except Exception as exc:  # every failure is collected, none stops the run
                        first = str(exc).strip().splitlines()[:6]
                        run.failures.append(
                            f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            + " / ".join(first)
                            + f"\n    {case.as_curl_command(headers=headers)[:600]}"
                        )

                try:
                    call()
                except Unsatisfiable:  # no invalid input for this operation's parameters
                    assert mode is GenerationMode.NEGATIVE, operation.label
    elapsed = time.monotonic() - started
    summary = f"{run.requests} requests in {elapsed:.0f} s, statuses {sorted(run.statuses.items())}"
    assert not run.failures, summary + "\n" + "\n".join(run.failures[:20])
    assert run.requests >= LEAST_REQUESTS, summary
    assert not any(status >= 500 for status in run.statuses), summary
