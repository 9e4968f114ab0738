"""Bounds on the work a rule file may cause when it is read, parsed and compiled.

These are limits of the rule language, whichever engine runs it: a rule file's size, YAML
aliases, and the size and nesting of one expression (checked on its tokens before Python's
parser sees it, so nothing recurses without bound). Limits of durable_rules itself live
beside its compiler (``durable_guard.py``).

The size limit and the compile time limit are settings (``CASEWISE_MAX_RULE_FILE_BYTES``,
``CASEWISE_COMPILE_TIMEOUT_S``); the service sets them once at start-up with ``configure``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

MAX_RULE_FILE_BYTES = 2 * 1024 * 1024  # 13x the 1,000-rule file bench/generate.py writes
COMPILE_TIMEOUT_S = 60.0  # the 1,000-rule file compiles in 1.5 s (5 s on a busy machine)

MAX_EXPRESSION_CHARS = 20_000  # one condition, or one table cell
MAX_EXPRESSION_TOKENS = 4_000  # names, values, operators and brackets in one expression
MAX_EXPRESSION_OPERATORS = 100  # arithmetic and unary operators (+ - * / % not) in one expression
MAX_EXPRESSION_NESTING = 32  # brackets inside brackets


@dataclass(frozen=True)
class Limits:
    """The limits that are settings."""

    max_file_bytes: int = MAX_RULE_FILE_BYTES
    compile_timeout_s: float = COMPILE_TIMEOUT_S


_current = Limits()


def current() -> Limits:
    return _current


def configure(
    *, max_file_bytes: int | None = None, compile_timeout_s: float | None = None
) -> Limits:
    """Set the limits every later load uses (the service calls this with its settings)."""
    global _current
    if max_file_bytes is not None:
        _current = replace(_current, max_file_bytes=max_file_bytes)
    if compile_timeout_s is not None:
        _current = replace(_current, compile_timeout_s=compile_timeout_s)
    return _current


class CompileTimeout(Exception):
    """A file took longer than the compile time limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"the file did not compile within {seconds:g} s (CASEWISE_COMPILE_TIMEOUT_S); "
            "split it into smaller rule files, or raise the limit"
        )


@dataclass
class Deadline:
    """When a load must be done; ``check`` raises CompileTimeout once it has passed."""

    seconds: float
    ends: float = 0.0

    def __post_init__(self) -> None:
        self.ends = time.monotonic() + self.seconds

    def left(self) -> float:
        return self.ends - time.monotonic()

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise CompileTimeout(self.seconds)
