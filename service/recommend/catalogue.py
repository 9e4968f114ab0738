"""The action catalogue (``knowledge/actions.yaml``) served: every action a playbook may recommend.

Errors::

    CasewiseError
    └── CatalogueError      the catalogue file was refused; .problems lists every mistake
"""

from __future__ import annotations

from pathlib import Path

from service.engine import Problem
from service.engine.catalogue import Action as Action  # re-exported
from service.engine.catalogue import read_catalogue
from service.kernel.errors import CasewiseError


class CatalogueError(CasewiseError):
    """The action catalogue was refused; every mistake found is in ``problems``."""

    code = "invalid-catalogue"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def load_actions(path: Path) -> dict[str, Action]:
    """Give the catalogue's actions by id; CatalogueError lists every mistake with its place."""
    return load_catalogue(path)[0]


def load_catalogue(path: Path) -> tuple[dict[str, Action], dict[str, str]]:
    """Give the catalogue's actions by id and its team queues (id -> label); CatalogueError
    lists every mistake with its place."""
    try:
        catalogue = read_catalogue(path)
    except OSError as exc:
        problem = Problem(str(path), 1, 1, f"cannot read the action catalogue: {exc.strerror}")
        raise CatalogueError([problem]) from exc
    if catalogue.problems:
        raise CatalogueError(catalogue.problems)
    return catalogue.actions, dict(catalogue.teams or {})
