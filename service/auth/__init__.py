"""Identity and roles: users and API keys in Neo4j, sessions, and who may call each route."""

from service.auth.principals import ROLES, Principal
from service.auth.store import AuthError, MemoryStore, Neo4jStore, UserStore

__all__ = ["ROLES", "AuthError", "MemoryStore", "Neo4jStore", "Principal", "UserStore"]
