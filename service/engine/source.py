"""Reading YAML rule files while keeping the file position of every key and value."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from .errors import Problem


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column in a file."""

    line: int
    col: int


@dataclass
class Source:
    """One file being read: its text, and the problems found in it so far."""

    path: str
    text: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, pos: Pos, message: str) -> None:
        self.problems.append(Problem(self.path, pos.line, pos.col, message))

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def parse_yaml(src: Source) -> Any:
    """Parse the source's YAML (round-trip, so positions are kept); None after a syntax error."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        return yaml.load(src.text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        src.error(Pos(line, col), f"YAML syntax error: {what}")
        return None


def read_source(path: Path, data: bytes | None = None) -> tuple[Source, bytes]:
    if data is None:
        data = path.read_bytes()
    return Source(str(path), data.decode("utf-8", errors="replace")), data


def key_pos(node: Any, key: Any, default: Pos) -> Pos:
    """Position of a mapping key."""
    if isinstance(node, CommentedMap) and key in node:
        line, col = node.lc.key(key)
        return Pos(line + 1, col + 1)
    return default


def value_pos(node: Any, key: Any, default: Pos) -> Pos:
    """Position of the value of a mapping key, or of a sequence item."""
    if isinstance(node, CommentedMap) and key in node:
        line, col = node.lc.value(key)
        return Pos(line + 1, col + 1)
    if isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
        line, col = node.lc.item(key)
        return Pos(line + 1, col + 1)
    return default


def node_pos(node: Any, default: Pos) -> Pos:
    """Position where a mapping or sequence node starts."""
    if isinstance(node, CommentedMap | CommentedSeq):
        return Pos(node.lc.line + 1, node.lc.col + 1)
    return default


def text_start(src: Source, value: Any, pos: Pos) -> Pos:
    """Where the characters of a scalar string start: past a quote, or on a block's first line."""
    if isinstance(value, DoubleQuotedScalarString | SingleQuotedScalarString):
        return Pos(pos.line, pos.col + 1)
    if isinstance(value, LiteralScalarString | FoldedScalarString):
        nxt = src.line_text(pos.line + 1)
        return Pos(pos.line + 1, len(nxt) - len(nxt.lstrip()) + 1)
    return pos


def is_folded(value: Any) -> bool:
    return isinstance(value, FoldedScalarString)


def suggest(word: str, candidates: Iterable[str]) -> str:
    """' — did you mean 'x'?' for the closest candidate, or ''."""
    candidates = list(candidates)
    same = [c for c in candidates if c.lower() == word.lower() and c != word]
    close = same or difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_keys(src: Source, node: Any, allowed: Iterable[str], what: str, default: Pos) -> None:
    """Report every key of a mapping that is not allowed."""
    allowed = list(allowed)
    if not isinstance(node, dict):
        return
    for key in node:
        if str(key) not in allowed:
            src.error(
                key_pos(node, key, default),
                f"unknown key '{key}' in {what}{suggest(str(key), allowed)}"
                f" (allowed: {', '.join(allowed)})",
            )
