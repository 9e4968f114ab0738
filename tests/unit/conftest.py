"""Fixtures for the API and CLI tests: the app over the rule files in tests/fixtures/rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.engine import Registry
from service.settings import Settings
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
    with TestClient(create_app(api_settings, rules_registry)) as client:
        yield client
