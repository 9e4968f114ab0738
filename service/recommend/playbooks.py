"""The playbooks being served, one per case type, loaded with the action catalogue."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from service.engine import Problem, RuleFileError, Ruleset, load_ruleset
from service.engine.registry import rule_files
from service.graph.db import Graph
from service.recommend.catalogue import Action, CatalogueError, load_actions
from service.recommend.facts import check_queries

log = logging.getLogger("casewise.recommend")

CATALOGUE = "actions.yaml"
PLAYBOOKS = "playbooks"


class PlaybookRegistry:
    """Playbooks by case type; a file with a problem is refused, never half-loaded.

    The fact queries are checked against the graph (``EXPLAIN``: they parse and only read)
    once the graph is there, by ``check``; a playbook whose queries fail is refused then.
    """

    def __init__(self, actions: dict[str, Action] | None = None) -> None:
        self.actions: dict[str, Action] = actions or {}
        self.problems: list[Problem] = []
        self._playbooks: dict[str, Ruleset] = {}
        self._checked = False
        self._lock = threading.Lock()

    @classmethod
    def load(cls, knowledge_dir: Path, *, max_firings: int = 1000) -> PlaybookRegistry:
        """Give the catalogue and playbooks of ``knowledge_dir``; problems are in ``.problems``."""
        registry = cls()
        try:
            registry.actions = load_actions(knowledge_dir / CATALOGUE)
        except CatalogueError as exc:
            registry.problems.extend(exc.problems)
            return registry  # without a catalogue no playbook's actions can be checked
        registry.load_dir(knowledge_dir / PLAYBOOKS, max_firings=max_firings)
        return registry

    def load_dir(self, path: Path, *, max_firings: int = 1000) -> list[Problem]:
        """Load every playbook in ``path``; give (and keep) the problems of refused files."""
        problems: list[Problem] = []
        if not path.is_dir():
            problems.append(Problem(str(path), 1, 1, "no playbooks folder"))
        else:
            for file in rule_files(path):
                try:
                    rs = load_ruleset(file, max_firings=max_firings, actions=set(self.actions))
                except RuleFileError as exc:
                    problems.extend(exc.problems)
                    continue
                if rs.kind != "playbook":
                    message = "not a playbook: the file must start with 'playbook: <case type>'"
                    problems.append(Problem(str(file), 1, 1, message))
                    continue
                self._playbooks[rs.name] = rs
        self.problems.extend(problems)
        return problems

    def add(self, playbook: Ruleset) -> None:
        self._playbooks[playbook.name] = playbook

    def get(self, case_type: str) -> Ruleset | None:
        """Give the playbook of ``case_type``, or None if there is none."""
        return self._playbooks.get(case_type)

    def names(self) -> list[str]:
        return sorted(self._playbooks)

    def __iter__(self) -> Iterator[Ruleset]:
        return iter([self._playbooks[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self._playbooks)

    def check(self, graph: Graph) -> list[Problem]:
        """Check every playbook's fact queries once; refuse (and log) the playbooks that fail."""
        with self._lock:
            if self._checked:
                return []
            problems: list[Problem] = []
            for playbook in list(self):
                found = check_queries(graph, playbook)
                if found:
                    del self._playbooks[playbook.name]
                    problems.extend(found)
            for problem in problems:
                log.error("%s", problem)
            if problems:
                refused = sorted({p.path for p in problems})
                log.error("refused %d playbook(s): %s", len(refused), ", ".join(refused))
            self.problems.extend(problems)
            self._checked = True
            return problems
