"""Reading YAML rule files while keeping the file position of every key and value.

Reading is bounded: a file larger than the size limit is refused before it is read whole,
YAML aliases (``*name``, and the ``<<`` merges built on them) are refused where they appear,
so no file can expand into more than it spells out (a "billion laughs"), and nesting deeper
than ``MAX_YAML_DEPTH`` is refused before the composer recurses.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from . import limits
from .errors import Problem

MAX_YAML_DEPTH = 64  # mappings and lists inside each other


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


class _AliasRefused(MarkedYAMLError):
    pass


class _NoAliases(Composer):
    """A composer that refuses aliases instead of sharing (and later expanding) the node."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            raise _AliasRefused(
                problem=(
                    f"YAML aliases (*{event.anchor}) are not part of the rule language; "
                    "write the value out where it is used"
                ),
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


def parse_yaml(src: Source) -> Any:
    """Parse the source's YAML (round-trip, so positions are kept); None after a syntax error."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.Composer = _NoAliases
    yaml.max_depth = MAX_YAML_DEPTH
    try:
        return yaml.load(src.text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, _AliasRefused):
            src.error(Pos(line, col), str(what))
        elif "maximum depth" in str(what):
            src.error(
                Pos(line, col),
                f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep; "
                "a rule file never needs that many",
            )
        else:
            src.error(Pos(line, col), f"YAML syntax error: {what}")
        return None


def too_large(size: int, limit: int) -> str:
    """The message for a file over the size limit."""
    return (
        f"the file has {size:,} bytes; rule files may have at most {limit:,} "
        "(CASEWISE_MAX_RULE_FILE_BYTES): split it into several files"
    )


def read_limited(path: Path, limit: int | None = None) -> bytes:
    """The bytes of ``path``; raises FileTooLarge past ``limit`` without reading it whole."""
    limit = limits.current().max_file_bytes if limit is None else limit
    with path.open("rb") as file:
        data = file.read(limit + 1)
        if len(data) > limit:
            file.seek(0, 2)
            raise FileTooLarge(file.tell(), limit)
    return data


class FileTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(too_large(size, limit))


def read_source(path: Path, data: bytes | None = None) -> tuple[Source, bytes]:
    """The file as a Source; a file over the size limit gives an empty Source with that problem."""
    limit = limits.current().max_file_bytes
    try:
        if data is None:
            data = read_limited(path, limit)
        elif len(data) > limit:
            raise FileTooLarge(len(data), limit)
    except FileTooLarge as exc:
        src = Source(str(path), "")
        src.error(Pos(1, 1), str(exc))
        return src, b""
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
