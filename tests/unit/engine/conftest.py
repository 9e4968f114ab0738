"""Fixtures of the engine tests: rule files written to a temporary folder and loaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.engine import RuleFileError, Ruleset, load_ruleset
from tests.rulefiles import Make, write_rules


@pytest.fixture
def make(tmp_path: Path) -> Make:
    """Load a ruleset from YAML text (dedented); the file is named after its 'ruleset:'."""

    def _make(text: str, **kwargs: Any) -> Ruleset:
        return load_ruleset(write_rules(tmp_path, text), **kwargs)

    return _make


@pytest.fixture
def problems(tmp_path: Path) -> Callable[[str], list[str]]:
    """The 'line:col: message' strings a rule file is refused with."""

    def _problems(text: str) -> list[str]:
        path = write_rules(tmp_path, text)
        with pytest.raises(RuleFileError) as info:
            load_ruleset(path)
        prefix = f"{path}:"
        lines = str(info.value).splitlines()
        assert all(line.startswith(prefix) for line in lines), lines
        return [line[len(prefix) :] for line in lines]

    return _problems
