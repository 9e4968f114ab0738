"""The rulesets being served, by name; reloaded live from their folder (``livefiles``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .errors import Problem, UnknownRuleset
from .livefiles import TEST_SUFFIX, FileStatus, LiveFiles, Report, rule_files
from .loader import load_ruleset
from .model import Ruleset

__all__ = ["TEST_SUFFIX", "Registry", "rule_files"]


class Registry:
    """Loaded rulesets by name; a file that fails to load is refused, never half-loaded.

    ``reload`` swaps in what changed; a request holding a ``Ruleset`` finishes on it.
    """

    def __init__(self, *, max_firings: int = 1000, settle: float = 0.3) -> None:
        self.max_firings = max_firings
        self.files = LiveFiles("ruleset", self._load, settle=settle)

    def _load(self, path: Path, data: bytes) -> Ruleset:
        return load_ruleset(path, max_firings=self.max_firings, data=data)

    def reload(self, path: Path) -> Report:
        """Load the changed files of ``path`` (a folder or a file) and serve them."""
        return self.files.reload(path)

    def load_dir(self, path: Path) -> list[Problem]:
        """Load (or reload) ``path``; give the problems of the files refused."""
        if not path.exists():
            return [Problem(str(path), 1, 1, "no such file or directory")]
        self.files.reload(path)
        return self.files.problems

    def add(self, ruleset: Ruleset) -> None:
        self.files.add(ruleset)

    def get(self, name: str) -> Ruleset:
        try:
            return self.files.served[name]
        except KeyError:
            raise UnknownRuleset(name, list(self.files.served)) from None

    def names(self) -> list[str]:
        return self.files.names()

    def statuses(self) -> list[FileStatus]:
        return self.files.statuses()

    def __iter__(self) -> Iterator[Ruleset]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)
