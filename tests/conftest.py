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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import neo4j
import pytest

from service.graph import local
from service.graph.db import Graph, apply_schema

# Tests never write into the repository's var/spool: a spool folder for the session (for
# settings made at import), and one for each test (so no test flushes another's records).
os.environ.setdefault("CASEWISE_SPOOL_DIR", tempfile.mkdtemp(prefix="casewise-spool-"))


@pytest.fixture(autouse=True)
def _spool_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWISE_SPOOL_DIR", str(tmp_path_factory.mktemp("spool")))


KNOWLEDGE = Path(__file__).parents[1] / "knowledge"
SCHEMA = KNOWLEDGE / "schema.cypher"


@dataclass(frozen=True)
class Neo4jServer:
    """Where the session's Neo4j is, and the launcher's status if it is the local one."""

    uri: str
    user: str
    password: str
    database: str
    local: local.Status | None


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
