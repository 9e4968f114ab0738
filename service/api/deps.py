"""Dependencies injected into the routes: the settings and the registry loaded at start-up."""

from __future__ import annotations

from fastapi import Request

from service.engine import Registry
from service.settings import Settings


# async so that FastAPI calls them on the event loop, not through its thread pool
async def get_registry(request: Request) -> Registry:
    """Give the registry the app loaded at start-up."""
    registry: Registry = request.app.state.registry
    return registry


async def get_settings(request: Request) -> Settings:
    """Give the app's settings."""
    settings: Settings = request.app.state.settings
    return settings
