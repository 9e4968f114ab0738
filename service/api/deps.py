"""Dependencies injected into the routes (the settings and the registry loaded at start-up), and
the checked types of query parameters: times Neo4j can store, offsets it can skip.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Request
from pydantic import AfterValidator

from service.decisionlog.store import utc_time
from service.engine import Registry
from service.graph.models import time_problem
from service.settings import Settings

MAX_OFFSET = 1_000_000_000
"""The largest ``offset`` a list takes: far beyond any real list, well inside Neo4j's SKIP."""


def _checked_time(value: dt.datetime) -> dt.datetime:
    problem = time_problem(value)
    if problem:
        raise ValueError(problem)
    return utc_time(value)


UtcTime = Annotated[dt.datetime, AfterValidator(_checked_time)]
"""An ISO 8601 time as an aware UTC datetime (UTC if naive); a 422 if Neo4j could not store it."""


# async so that FastAPI calls them on the event loop, not through its thread pool
async def get_registry(request: Request) -> Registry:
    """Give the registry the app loaded at start-up."""
    registry: Registry = request.app.state.registry
    return registry


async def get_settings(request: Request) -> Settings:
    """Give the app's settings."""
    settings: Settings = request.app.state.settings
    return settings
