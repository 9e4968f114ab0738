"""Regular expressions from rule files, run by RE2 in time linear in the input.

Python's ``re`` backtracks: ``"^(a+)+$"`` against thirty a's and a "!" takes a minute, and
a rule author (or an input) must not be able to stall the service that way. RE2
(google-re2) never backtracks; the price is that it has no backreferences (``\\1``) and
no lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``): a pattern that uses them is refused
when the file loads, naming the construct.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]

MAX_PATTERN_CHARS = 1_000
MAX_PROGRAM_BYTES = 8 << 20  # RE2's memory budget for one compiled pattern


class Pattern(Protocol):
    """What the engine uses of a compiled pattern."""

    pattern: str

    def search(self, text: str) -> Any: ...

    def match(self, text: str) -> Any: ...

    def fullmatch(self, text: str) -> Any: ...


_options: Any = re2.Options()
_options.log_errors = False  # the load error says it; RE2 need not also print to stderr
_options.max_mem = MAX_PROGRAM_BYTES


class RegexError(ValueError):
    pass


def compile_regex(pattern: str) -> Pattern:
    """The pattern compiled by RE2; raises RegexError saying what RE2 cannot take."""
    problem = regex_problem(pattern)
    if problem is not None:
        raise RegexError(problem)
    return _compiled(pattern)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Pattern:
    compiled: Pattern = re2.compile(pattern, options=_options)
    return compiled


def regex_problem(pattern: str) -> str | None:
    """Why RE2 cannot run ``pattern`` (in words an author can act on), or None."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"the pattern has {len(pattern):,} characters; at most {MAX_PATTERN_CHARS:,}"
    try:
        _compiled(pattern)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return _explain(text)
    return None


def _explain(message: str) -> str:
    if "invalid escape sequence: \\" in message and message[-1:].isdigit():
        return (
            f"{message}: backreferences (\\1) are not supported, patterns run in linear time "
            "(RE2); match the text without referring back to a group"
        )
    if "invalid perl operator: (?=" in message or "invalid perl operator: (?!" in message:
        return f"{message}: lookahead is not supported (RE2); match the text itself instead"
    if "invalid perl operator: (?<=" in message or "invalid perl operator: (?<!" in message:
        return f"{message}: lookbehind is not supported (RE2); match the text itself instead"
    if "pattern too large" in message:
        return f"{message}: the pattern is too large to run in bounded memory; simplify it"
    return message
