"""Demo data in a real Neo4j: the rings are found by link queries, loading again adds nothing.

The demo is loaded under an id prefix of its own (ids and identifier values), so its rings
cannot link to anything else in the graph.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.demo.cases import (
    DemoSet,
    demo_loaded,
    generate_set,
    graph_is_empty,
    load_demo,
    write_demo,
)
from service.graph.db import Graph
from service.graph.importer import ImportSummary
from service.graph.reads import links
from tests.graphs import cli_env, graph_size

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

CASES = 120
SEED = 11
AS_OF = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

UNVERIFIED = """
MATCH (e:Evidence)-[:SUPPORTS|CONTRADICTS]->(c:Case) WHERE c.id STARTS WITH $prefix
RETURN e.verified AS verified, count(*) AS n
"""
OVERDUE = """
MATCH (c:Case) WHERE c.id STARTS WITH $prefix AND c.status <> 'closed' AND c.due_at < $now
RETURN count(c) AS n
"""
CLOSED = """
MATCH (c:Case {status: 'closed'}) WHERE c.id STARTS WITH $prefix
RETURN c.id AS id, c.outcome AS outcome
"""


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"d-{uuid.uuid4().hex[:10]}-"


@pytest.fixture(scope="module")
def loaded(graph: Graph, prefix: str) -> tuple[DemoSet, ImportSummary]:
    advanced: list[int] = []
    summary = load_demo(
        graph, cases=CASES, seed=SEED, progress=advanced.append, prefix=prefix, as_of=AS_OF
    )
    data = generate_set(CASES, SEED, prefix=prefix, as_of=AS_OF)
    assert sum(advanced) == CASES
    return data, summary


def test_load_writes_every_case(
    graph: Graph, prefix: str, loaded: tuple[DemoSet, ImportSummary]
) -> None:
    data, summary = loaded
    assert (summary.rows_read, summary.cases_written, summary.cases_new) == (CASES, CASES, CASES)
    assert summary.skipped == []
    found = graph.read("MATCH (c:Case) WHERE c.id STARTS WITH $p RETURN count(c) AS n", p=prefix)
    assert found[0]["n"] == CASES
    assert not graph_is_empty(graph)
    assert demo_loaded(graph, prefix=prefix)
    assert not demo_loaded(graph, prefix="x" + prefix)


def test_each_ring_is_exactly_what_a_link_query_finds(
    graph: Graph, loaded: tuple[DemoSet, ImportSummary]
) -> None:
    data, _ = loaded
    assert len(data.rings) == 3
    for ring in data.rings:
        assert 4 <= len(ring) <= 8
        for case_id in ring:
            linked = {item["case"]["id"] for item in links(graph, case_id, depth=2)}
            assert linked == set(ring) - {case_id}, case_id
        via = [step["kind"] for item in links(graph, ring[0], depth=1) for step in item["via"]]
        assert {"Person", "BankAccount", "Address", "Organisation"} & set(via)


def test_cases_outside_rings_link_to_at_most_one_other(
    graph: Graph, loaded: tuple[DemoSet, ImportSummary]
) -> None:
    data, _ = loaded
    in_rings = {case_id for ring in data.rings for case_id in ring}
    for case in data.cases[:60]:
        if case.id not in in_rings:
            assert len(links(graph, case.id, depth=2)) <= 1, case.id


def test_some_evidence_is_unverified_and_some_cases_overdue(
    graph: Graph, prefix: str, loaded: tuple[DemoSet, ImportSummary]
) -> None:
    by_state = {r["verified"]: r["n"] for r in graph.read(UNVERIFIED, prefix=prefix)}
    assert by_state.get(False, 0) > 0 and by_state.get(True, 0) > 0
    assert graph.read(OVERDUE, prefix=prefix, now=datetime.now(UTC))[0]["n"] > 0


def test_closed_cases_carry_their_outcome(
    graph: Graph, prefix: str, loaded: tuple[DemoSet, ImportSummary]
) -> None:
    data, _ = loaded
    closed = {r["id"]: r["outcome"] for r in graph.read(CLOSED, prefix=prefix)}
    assert closed == {case_id: c.outcome for case_id, c in data.closings.items()}


def test_loading_the_same_seed_again_adds_nothing(
    graph: Graph, prefix: str, loaded: tuple[DemoSet, ImportSummary]
) -> None:
    before = graph_size(graph, prefix)
    again = write_demo(graph, generate_set(CASES, SEED, prefix=prefix, as_of=AS_OF))
    assert (again.cases_written, again.cases_new) == (CASES, 0)
    assert graph_size(graph, prefix) == before


def test_demo_load_command_needs_neo4j_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEO4J_URI", "CASEWISE_NEO4J_URI"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["demo", "load", "--cases", "5"])
    assert result.exit_code == 2
    assert "casewise neo4j start" in result.output


def test_demo_load_command_reports_what_it_wrote(neo4j_server: Neo4jServer) -> None:
    env = cli_env(neo4j_server)
    # No cases: the command connects, applies the schema and reports, but writes nothing.
    result = CliRunner().invoke(
        app, ["demo", "load", "--cases", "0", "--as-of", "2026-01-31"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "rows read 0, written 0, skipped 0" in result.output
    result = CliRunner().invoke(app, ["demo", "load", "--as-of", "31.01.2026"], env=env)
    assert result.exit_code == 2
    assert "--as-of must be a date as YYYY-MM-DD" in result.output
