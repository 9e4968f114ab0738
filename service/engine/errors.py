"""Errors raised by the rule engine.

Hierarchy::

    CasewiseError                 root of every error Casewise raises
    ├── RuleFileError             a rule file was refused; .problems lists every mistake
    ├── InputError                input does not fit the schema; .details names each field
    ├── DecisionError             the rules could not reach a decision; .reason says why
    └── UnknownRuleset            no ruleset by that name is loaded
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.kernel.errors import CasewiseError as CasewiseError  # re-exported


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in a file, at a position (1-based line and column)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class RuleFileError(CasewiseError):
    """A rule file was refused; every mistake found is in ``problems``."""

    code = "invalid-rule-file"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(CasewiseError):
    """Decision input that does not fit the schema; ``details`` names each bad field."""

    code = "invalid-input"

    def __init__(self, ruleset: str, details: list[dict[str, Any]]) -> None:
        self.ruleset = ruleset
        self.details = details
        fields = ", ".join(str(d["field"]) for d in details)
        super().__init__(f"input for ruleset '{ruleset}' has {len(details)} bad field(s): {fields}")


class DecisionError(CasewiseError):
    """The rules could not reach a decision for this input; ``reason`` says why.

    ``reason`` is the engine's code (``chain-limit``, ``table-not-unique``, ...); the error is
    answered as a 422 ``decision-failed`` whose ``details`` start with ``{"code": reason}``.
    """

    status = 422
    code = "decision-failed"

    def __init__(self, reason: str, message: str, details: list[dict[str, Any]] | None = None):
        self.reason = reason
        super().__init__(message, [{"code": reason}, *(details or [])])


class UnknownRuleset(CasewiseError):
    """No ruleset by that name is loaded."""

    code = "not-found"

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        hint = f"; loaded rulesets: {', '.join(sorted(known))}" if known else "; none is loaded"
        super().__init__(f"no ruleset named '{name}'{hint}")
