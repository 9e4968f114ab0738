"""The playbooks being served, one per case type, loaded with the action catalogue.

Both reload live: ``reload`` loads the playbooks whose files changed (all of them when the
catalogue changed, since their actions are checked against it) and swaps them in at once.
A catalogue that fails to load leaves the last good one, and the playbooks, serving.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from service.engine import Problem, Ruleset, load_ruleset
from service.engine.catalogue import CATALOGUE
from service.engine.livefiles import Change, FileStatus, LiveFiles, Outcome, Report, now
from service.engine.registry import rule_files
from service.graph.db import Graph
from service.recommend.catalogue import Action, CatalogueError, load_catalogue
from service.recommend.facts import FactLimits, check_queries

log = logging.getLogger("casewise.recommend")

PLAYBOOKS = "playbooks"

__all__ = ["CATALOGUE", "PLAYBOOKS", "PlaybookRegistry", "rule_files"]


class PlaybookRegistry:
    """Playbooks by case type; a file with a problem is refused, never half-loaded.

    The fact queries are checked against the graph (the sandbox of ``facts.check_queries``:
    they parse, only read, and stay inside the case graph) once the graph is there, by
    ``check``; a playbook whose queries fail is refused then, and a playbook reloaded later is
    checked before it serves. ``limits`` bound every run of the fact queries.
    """

    def __init__(
        self,
        actions: dict[str, Action] | None = None,
        *,
        max_firings: int = 1000,
        limits: FactLimits | None = None,
    ) -> None:
        self.actions: dict[str, Action] = actions or {}
        self.teams: dict[str, str] = {}  # the catalogue's team queues: id -> label
        self.max_firings = max_firings
        self.limits = limits or FactLimits()
        self.files = LiveFiles("playbook", self._load, check=self._check_one)
        self.catalogue: FileStatus | None = None
        self._folder_problems: list[Problem] = []
        self._graph: Graph | None = None
        self._checked = False
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, knowledge_dir: Path, *, max_firings: int = 1000, limits: FactLimits | None = None
    ) -> PlaybookRegistry:
        """Give the catalogue and playbooks of ``knowledge_dir``; problems are in ``.problems``."""
        registry = cls(max_firings=max_firings, limits=limits)
        registry.reload(knowledge_dir)
        return registry

    @property
    def problems(self) -> list[Problem]:
        """The problems of the catalogue, the folder and every refused playbook."""
        catalogue = list(self.catalogue.errors) if self.catalogue else []
        return catalogue + self._folder_problems + self.files.problems

    def _load(self, path: Path, data: bytes) -> Ruleset:
        actions = set(self.actions)
        return load_ruleset(path, max_firings=self.max_firings, actions=actions, data=data)

    def _check_one(self, playbook: Ruleset) -> list[Problem]:
        if playbook.kind != "playbook":
            message = "not a playbook: the file must start with 'playbook: <case type>'"
            return [Problem(str(playbook.path), 1, 1, message)]
        if self._graph is not None:
            return check_queries(self._graph, playbook)
        return []

    def reload(self, knowledge_dir: Path) -> Report:
        """Load the catalogue if it changed, then the changed playbooks; swap them in."""
        report = Report()
        if self._reload_catalogue(knowledge_dir / CATALOGUE, report) is None:
            return report  # without a catalogue no playbook's actions can be checked
        return self.load_dir(knowledge_dir / PLAYBOOKS, report=report)

    def _reload_catalogue(self, path: Path, report: Report) -> dict[str, Action] | None:
        at = now()
        old = self.catalogue
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = None
        if old is not None and digest is not None and old.attempted == digest:
            report.outcomes.append(Outcome(str(path), CATALOGUE, "unchanged", old.version))
            return self.actions if old.version else None
        try:
            actions, teams = load_catalogue(path)
        except CatalogueError as exc:
            serving = old.version if old else None
            loaded = old.loaded_at if old else None
            self.catalogue = FileStatus(str(path), CATALOGUE, "catalogue", "refused", serving,
                                        tuple(exc.problems), loaded, at, digest)  # fmt: skip
            report.outcomes.append(
                Outcome(str(path), CATALOGUE, "refused", serving, tuple(exc.problems))
            )
            return self.actions if serving else None
        self.actions, self.teams = actions, teams
        self.catalogue = FileStatus(str(path), CATALOGUE, "catalogue", "serving", digest, (), at,
                                    at, digest)  # fmt: skip
        change: Change = "changed" if old is not None and old.version else "new"
        report.outcomes.append(Outcome(str(path), CATALOGUE, change, digest))
        self.files.forget()  # every playbook is checked against the new catalogue
        return actions

    def load_dir(
        self, path: Path, *, max_firings: int | None = None, report: Report | None = None
    ) -> Report:
        """Load (or reload) every playbook in ``path``; the refused ones are in ``problems``."""
        if max_firings is not None:
            self.max_firings = max_firings
        report = report or Report()
        self._folder_problems = []
        if not path.is_dir():
            self._folder_problems = [Problem(str(path), 1, 1, "no playbooks folder")]
        report.extend(self.files.reload(path))
        return report

    def add(self, playbook: Ruleset) -> None:
        self.files.add(playbook)

    def get(self, case_type: str) -> Ruleset | None:
        """Give the playbook of ``case_type``, or None if there is none."""
        return self.files.get(case_type)

    def names(self) -> list[str]:
        return self.files.names()

    def statuses(self) -> list[FileStatus]:
        """The catalogue's status, then every playbook file's."""
        return ([self.catalogue] if self.catalogue else []) + self.files.statuses()

    def __iter__(self) -> Iterator[Ruleset]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def check(self, graph: Graph) -> list[Problem]:
        """Check every playbook's fact queries once; refuse (and log) the playbooks that fail."""
        with self._lock:
            if self._checked:
                return []
            problems: list[Problem] = []
            for playbook in list(self):
                found = check_queries(graph, playbook)
                if found:
                    self.files.drop(playbook.name, found)
                    problems.extend(found)
            for problem in problems:
                log.error("%s", problem)
            if problems:
                refused = sorted({p.path for p in problems})
                log.error("refused %d playbook(s): %s", len(refused), ", ".join(refused))
            self._graph = graph  # playbooks reloaded from now on are checked before they serve
            self._checked = True
            return problems
