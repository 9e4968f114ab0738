"""Helpers for engine tests: rule files written to a temporary folder and loaded."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from service.engine import RuleFileError, Ruleset, load_ruleset

TODAY = dt.date(2026, 3, 2)

Make = Callable[..., Ruleset]


def write_rules(folder: Path, text: str, name: str | None = None) -> Path:
    text = textwrap.dedent(text).lstrip("\n")
    if name is None:
        first = text.splitlines()[0]
        named = first.startswith(("ruleset:", "playbook:"))
        name = first.split(":", 1)[1].strip() if named else "x"
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def make(tmp_path: Path) -> Make:
    """Load a ruleset from YAML text (dedented); the file is named after its 'ruleset:'."""

    def _make(text: str, **kwargs: object) -> Ruleset:
        return load_ruleset(write_rules(tmp_path, text), **kwargs)  # type: ignore[arg-type]

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
