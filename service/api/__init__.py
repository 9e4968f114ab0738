"""HTTP API: decisions and rulesets as JSON (FastAPI)."""

from service.api.app import create_app

__all__ = ["create_app"]
