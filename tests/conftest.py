"""Neo4j for the tests that need one: one real server per test session (docs/neo4j.md).

With NEO4J_URI set (``tools/neo4j/with-neo4j.sh`` sets it for ``make test``) the tests use that
server; otherwise the first test that asks starts the local one and the session stops it at
the end. Tests isolate themselves with unique ids; nothing here resets the graph. The
fixtures live here, above ``integration/`` and ``browser/``, so both share one server.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from urllib.parse import urlsplit

import neo4j
import pytest

from service.devtools import localneo4j as local
from service.graph.db import Graph, apply_schema
from tests.graphs import SCHEMA, Neo4jServer

# Tests never write into the repository's var/spool: a spool folder for the session (for
# settings made at import), and one for each test (so no test flushes another's records).
os.environ.setdefault("CASEWISE_SPOOL_DIR", tempfile.mkdtemp(prefix="casewise-spool-"))
os.environ.setdefault("CASEWISE_DOCUMENTS_DIR", tempfile.mkdtemp(prefix="casewise-documents-"))
# In-process apps start without the warm-up (it learns from every case in the shared graph);
# the served apps of the browser tests warm up, as `casewise serve` does.
os.environ.setdefault("CASEWISE_WARMUP", "off")
# Recommendations are refreshed for the cases a test writes through an app, never by a
# periodic look at the whole graph, which the tests share (tests that want one set it).
os.environ.setdefault("CASEWISE_RECOMMEND_REFRESH_SECONDS", "0")


@pytest.fixture(autouse=True)
def _spool_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWISE_SPOOL_DIR", str(tmp_path_factory.mktemp("spool")))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a test that uses the session's Neo4j without the ``neo4j`` marker:
    ``make test-fast`` leaves tests out by marker, and must need no Neo4j."""
    unmarked = [
        item.nodeid
        for item in items
        if "neo4j_server" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("neo4j") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use Neo4j (the neo4j_server fixture) but are not marked "
            "@pytest.mark.neo4j (and integration): " + ", ".join(unmarked)
        )


def _local_status_for(uri: str) -> local.Status | None:
    """Give the local server's status if ``uri`` points at it, else None."""
    status = local.status()
    parts = urlsplit(uri)
    if status.running and parts.hostname in {"127.0.0.1", "localhost"}:
        return status if parts.port == status.port else None
    return None


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    """The session's Neo4j: NEO4J_URI's, or the local one started for this session.

    The local server's password is the one in its data folder, unless NEO4J_PASSWORD says
    otherwise along with NEO4J_URI (as ``with-neo4j.sh`` sets both)."""
    database = os.environ.get("NEO4J_DATABASE", "neo4j")
    uri = os.environ.get("NEO4J_URI")
    if uri:
        status = _local_status_for(uri)
        user, password = status.auth if status is not None else (local.LOCAL_USER, "neo4j")
        user = os.environ.get("NEO4J_USER", user)
        password = os.environ.get("NEO4J_PASSWORD", password)
        yield Neo4jServer(uri, user, password, database, status)
        return
    # Stops the server at the end only if this session started it.
    with local.running() as status:
        assert status.uri is not None
        yield Neo4jServer(status.uri, *status.auth, database, status)


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_server: Neo4jServer) -> Iterator[neo4j.Driver]:
    """One driver for the whole session, as the service has one for its whole life."""
    auth = (neo4j_server.user, neo4j_server.password)
    with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=auth) as driver:
        driver.verify_connectivity()
        yield driver


@pytest.fixture(scope="session")
def graph(neo4j_server: Neo4jServer) -> Iterator[Graph]:
    """One Graph on the session's Neo4j, with the schema applied."""
    graph = Graph.connect(
        neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database
    )
    apply_schema(graph, SCHEMA)
    yield graph
    graph.close()


@pytest.fixture(scope="session")
def graph_key(graph: Graph) -> str:
    """Users of every role (password ``tests.auth.PASSWORD``) in the session's Neo4j; give an
    API key there for every ruleset. ``casewise serve`` on that graph signs them in."""
    from service.auth import Neo4jStore
    from tests.auth import seed

    return seed(Neo4jStore(graph))
