"""Fixtures of the integration tests: unique ids per test, and an app serving a rule file of
the test's own (``served_rules``). The Neo4j fixtures (``neo4j_server``,
``neo4j_driver``, ``graph``) are in ``tests/conftest.py``, shared with the browser tests; the
helpers on that graph (``cli_env``, ``graph_size``) in ``tests/graphs.py``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.settings import Settings
from tests.graphs import KNOWLEDGE, Neo4jServer
from tests.rulefiles import rule_text


@pytest.fixture
def p() -> str:
    """A prefix unique to the test: every id and identifier it writes starts with it."""
    return f"t{uuid.uuid4().hex[:10]}-"


@pytest.fixture
def ruleset_name(p: str) -> str:
    """A ruleset name unique to the test."""
    return f"{p}price"


@pytest.fixture
def served_rules(
    tmp_path: Path, neo4j_server: Neo4jServer, ruleset_name: str
) -> Iterator[tuple[TestClient, Path]]:
    """The app serving version 1 of ``ruleset_name`` (``rule_text``) and a copy of the shipped
    knowledge, on the session's Neo4j, without sign-in or file watching: its client, and the
    rule file to change (then reload) for a new version."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / f"{ruleset_name}.yaml").write_text(rule_text(1, name=ruleset_name))
    shutil.copytree(KNOWLEDGE, tmp_path / "knowledge")
    settings = Settings(
        rules_dir=rules,
        knowledge_dir=tmp_path / "knowledge",
        auth="off",
        watch="off",
        spool_dir=tmp_path / "spool",
        neo4j_uri=neo4j_server.uri,
        neo4j_user=neo4j_server.user,
        neo4j_password=SecretStr(neo4j_server.password),
        neo4j_database=neo4j_server.database,
    )
    with TestClient(create_app(settings)) as client:
        yield client, rules / f"{ruleset_name}.yaml"
