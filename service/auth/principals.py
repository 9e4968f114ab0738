"""Who is calling: a signed-in user or an API key, with the one role it acts in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "expert", "author", "admin"]
ROLES: tuple[Role, ...] = ("system", "expert", "author", "admin")
# The role of every API key; users have one of the others.
USER_ROLES: tuple[Role, ...] = ("expert", "author", "admin")


@dataclass(frozen=True)
class Principal:
    """A caller the service has identified.

    ``rulesets`` is set for API keys only: the rulesets the key may ask for (``"*"`` any).
    """

    name: str
    role: Role
    kind: Literal["user", "key", "open"] = "user"
    rulesets: frozenset[str] | None = None

    def may_use(self, ruleset: str) -> bool:
        """Tell whether this caller may ask for ``ruleset``."""
        return self.rulesets is None or "*" in self.rulesets or ruleset in self.rulesets
