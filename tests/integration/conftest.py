"""Helpers of the integration tests: unique ids per test, counting a prefix's graph, the CLI's
environment. The Neo4j fixtures (``neo4j_server``, ``neo4j_driver``, ``graph``) are in
``tests/conftest.py``, shared with the browser tests.
"""

from __future__ import annotations

import uuid

import pytest

from service.graph.db import Graph
from tests.conftest import KNOWLEDGE, SCHEMA, Neo4jServer

__all__ = ["KNOWLEDGE", "SCHEMA", "Neo4jServer", "cli_env", "graph_size"]

# Everything within two steps of the prefix's cases: parties, evidence, events, identifiers.
NODES = """
MATCH (c:Case) WHERE c.id STARTS WITH $prefix
MATCH path = (c)-[*0..2]-()
UNWIND nodes(path) AS n
RETURN count(DISTINCT n) AS n
"""
RELATIONSHIPS = """
MATCH (c:Case) WHERE c.id STARTS WITH $prefix
MATCH path = (c)-[*1..2]-()
UNWIND relationships(path) AS r
RETURN count(DISTINCT r) AS n
"""


@pytest.fixture
def p() -> str:
    """A prefix unique to the test: every id and identifier it writes starts with it."""
    return f"t{uuid.uuid4().hex[:10]}-"


def graph_size(graph: Graph, prefix: str) -> tuple[int, int]:
    """Count the nodes and relationships within two steps of the prefix's cases."""
    nodes = graph.read(NODES, prefix=prefix)[0]["n"]
    relationships = graph.read(RELATIONSHIPS, prefix=prefix)[0]["n"]
    return nodes, relationships


def cli_env(server: Neo4jServer) -> dict[str, str]:
    """The environment that points the ``casewise`` CLI at the session's Neo4j."""
    return {
        "NEO4J_URI": server.uri,
        "NEO4J_USER": server.user,
        "NEO4J_PASSWORD": server.password,
        "NEO4J_DATABASE": server.database,
        "CASEWISE_KNOWLEDGE_DIR": str(KNOWLEDGE),
    }
