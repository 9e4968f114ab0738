"""The tests' Neo4j: where it is (``Neo4jServer``, the ``neo4j_server`` fixture's value), the
schema, and helpers that point settings or the CLI at it or count what a test wrote there.

The fixtures themselves are in ``tests/conftest.py``; test modules import from here, never
from a conftest or another test module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neo4j
from pydantic import SecretStr

from service.devtools import localneo4j as local
from service.graph.db import Graph
from service.settings import Settings
from tests.fixtures import RULES

KNOWLEDGE = Path(__file__).parents[1] / "knowledge"
SCHEMA = KNOWLEDGE / "schema.cypher"

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


@dataclass(frozen=True)
class Neo4jServer:
    """Where the session's Neo4j is, and the launcher's status if it is the local one."""

    uri: str
    user: str
    password: str
    database: str
    local: local.Status | None


def settings_for(server: Neo4jServer | None, **extra: Any) -> Settings:
    """Settings serving the test rules on ``server`` (no graph if None)."""
    if server is None:
        return Settings(rules_dir=RULES, neo4j_uri=None, **extra)
    return Settings(
        rules_dir=RULES,
        neo4j_uri=server.uri,
        neo4j_user=server.user,
        neo4j_password=SecretStr(server.password),
        neo4j_database=server.database,
        **extra,
    )


def cli_env(server: Neo4jServer) -> dict[str, str]:
    """The environment that points the ``casewise`` CLI at the session's Neo4j."""
    return {
        "NEO4J_URI": server.uri,
        "NEO4J_USER": server.user,
        "NEO4J_PASSWORD": server.password,
        "NEO4J_DATABASE": server.database,
        "CASEWISE_KNOWLEDGE_DIR": str(KNOWLEDGE),
    }


def graph_size(graph: Graph, prefix: str) -> tuple[int, int]:
    """Count the nodes and relationships within two steps of the prefix's cases."""
    nodes = graph.read(NODES, prefix=prefix)[0]["n"]
    relationships = graph.read(RELATIONSHIPS, prefix=prefix)[0]["n"]
    return nodes, relationships


def decisions_read(graph: Graph, query: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Run a read ``query`` under PROFILE; give its rows and how many RoutingDecision nodes
    Neo4j's scans and index seeks gave (the decisions it read to answer)."""

    def read(profile: dict[str, Any]) -> int:
        operator = str(profile.get("operatorType", ""))
        found = 0
        details = str((profile.get("args") or {}).get("Details", ""))
        if ("Index" in operator or "Scan" in operator) and "RoutingDecision" in details:
            found = int(profile.get("rows", 0))
        return found + sum(read(child) for child in profile.get("children") or [])

    def work(tx: neo4j.ManagedTransaction) -> tuple[list[dict[str, Any]], int]:
        result = tx.run("PROFILE " + query, params)
        rows = result.data()
        profile = result.consume().profile
        assert profile is not None
        return rows, read(profile)

    return graph.read_transaction(work)
