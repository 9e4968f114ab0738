"""Fixtures of the integration tests: unique ids per test. The Neo4j fixtures (``neo4j_server``,
``neo4j_driver``, ``graph``) are in ``tests/conftest.py``, shared with the browser tests; the
helpers on that graph (``cli_env``, ``graph_size``) in ``tests/graphs.py``.
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def p() -> str:
    """A prefix unique to the test: every id and identifier it writes starts with it."""
    return f"t{uuid.uuid4().hex[:10]}-"
