"""The rulesets being served, by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .errors import Problem, RuleFileError, UnknownRuleset
from .loader import load_ruleset
from .model import Ruleset

TEST_SUFFIX = ".test.yaml"


def rule_files(path: Path) -> list[Path]:
    """Rule files in a directory (or the file itself), without example-test files."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.yaml") if not p.name.endswith(TEST_SUFFIX))


class Registry:
    """Loaded rulesets by name; a file that fails to load is refused, never half-loaded."""

    def __init__(self, *, max_firings: int = 1000) -> None:
        self.max_firings = max_firings
        self._rulesets: dict[str, Ruleset] = {}

    def load_dir(self, path: Path) -> list[Problem]:
        problems: list[Problem] = []
        if not path.exists():
            return [Problem(str(path), 1, 1, "no such file or directory")]
        for file in rule_files(path):
            try:
                rs = load_ruleset(file, max_firings=self.max_firings)
            except RuleFileError as exc:
                problems.extend(exc.problems)
                continue
            self._rulesets[rs.name] = rs
        return problems

    def add(self, ruleset: Ruleset) -> None:
        self._rulesets[ruleset.name] = ruleset

    def get(self, name: str) -> Ruleset:
        try:
            return self._rulesets[name]
        except KeyError:
            raise UnknownRuleset(name, list(self._rulesets)) from None

    def names(self) -> list[str]:
        return sorted(self._rulesets)

    def __iter__(self) -> Iterator[Ruleset]:
        return iter([self._rulesets[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self._rulesets)
