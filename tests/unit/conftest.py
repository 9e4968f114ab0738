"""Fixtures for the API and CLI tests: the app over the rule files in tests/fixtures/rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from service.settings import Settings
from tests.auth import as_role, make_app
from tests.fixtures import RULES


@pytest.fixture(scope="session")
def rules_registry() -> Registry:
    registry = Registry()
    problems = registry.load_dir(RULES)
    assert problems == [], [str(p) for p in problems]
    return registry


@pytest.fixture
def api_settings() -> Settings:
    return Settings(rules_dir=RULES)


@pytest.fixture
def client(api_settings: Settings, rules_registry: Registry) -> Iterator[TestClient]:
    """A client with an API key for every ruleset (role system)."""
    with TestClient(make_app(api_settings, rules_registry)) as client:
        yield as_role(client, "system")


@pytest.fixture
def client_as(
    api_settings: Settings, rules_registry: Registry
) -> Iterator[Callable[[str], TestClient]]:
    """Give a function that gives a client acting as a role (or ``anonymous``)."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(make_app(api_settings, rules_registry))
        client.__enter__()
        clients.append(client)
        return as_role(client, role)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
