"""The state of one rule file being read, and the checks its rules and tables share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import expr, ir, limits
from .playbook import FactQuery
from .schema import FieldSpec, check_value
from .source import Pos, Source, node_pos, suggest, text_start, value_pos

RESERVED = (
    "today",
    "item",
    "true",
    "false",
    "null",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
)
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class FileReader:
    """One rule file being read: its source, what is declared so far, and where each part is."""

    inputs: dict[str, FieldSpec]
    outputs: dict[str, FieldSpec]

    def __init__(
        self,
        src: Source,
        doc: Any,
        path: Path,
        version: str,
        max_firings: int | None,
        deadline: limits.Deadline,
    ) -> None:
        self.src, self.doc, self.path, self.version = src, doc, path, version
        self.deadline = deadline
        self.when_pos: dict[str, Pos] = {}  # rule id -> where its condition is written
        self.row_pos: dict[str, list[Pos]] = {}  # table id -> where each row is written
        self.default_firings = max_firings or 1000
        self.ids: dict[str, Pos] = {}
        self.is_playbook = "playbook" in doc
        self.catalogue: set[str] | None = None
        self.facts: dict[str, FactQuery] = {}
        self.values: dict[str, FieldSpec] = {}
        self.forced_engine: str | None = None
        self.table_pos: dict[str, tuple[int, int]] = {}

    def err(self, pos: Pos, message: str) -> None:
        self.src.error(pos, message)

    def _entries(self, key: str, not_list: str, not_mapping: str) -> Iterator[tuple[Any, Pos]]:
        """Each mapping of the file's list ``key`` with its place; anything else is reported."""
        node = self.doc.get(key)
        if node is None:
            return
        start = value_pos(self.doc, key, Pos(1, 1))
        if not isinstance(node, list):
            self.err(start, not_list)
            return
        for i, item in enumerate(node):
            self.deadline.check()
            pos = value_pos(node, i, start)
            if not isinstance(item, dict):
                self.err(pos, not_mapping)
                continue
            yield item, node_pos(item, pos)

    def _claim_id(self, node: Any, pos: Pos, what: str) -> str | None:
        """The id of a rule or table, claimed for it; None (reported) if bad or taken."""
        rid = node.get("id")
        if not isinstance(rid, str) or not NAME.fullmatch(rid):
            self.err(
                value_pos(node, "id", pos),
                f"{what} needs an 'id' such as small-low-risk (lower case, digits, - and _),"
                f" got {rid!r}",
            )
            return None
        if rid in self.ids:
            first = self.ids[rid]
            self.err(
                value_pos(node, "id", pos),
                f"duplicate id '{rid}' (first used at line {first.line}); ids must be unique",
            )
            return None
        self.ids[rid] = value_pos(node, "id", pos)
        return rid

    def _expression(
        self, node: Any, key: str, pos: Pos, scope: expr.Scope, want: str | None
    ) -> ir.Node | None:
        """The expression under ``key``, parsed; None if it is missing or wrong (reported)."""
        text = node.get(key)
        vpos = value_pos(node, key, pos)
        if isinstance(text, bool):
            text = "true" if text else "false"
        if not isinstance(text, str | int | float) or not str(text).strip():
            self.err(vpos, f"'{key}' must be an expression such as amount > 500")
            return None
        return self._parse_at(str(text), text_start(self.src, text, vpos), scope, want)

    def _parse_at(
        self, text: str, start: Pos, scope: expr.Scope, want: str | None
    ) -> ir.Node | None:
        """``text`` parsed; each mistake is reported at its place in the file from ``start``."""
        scope.errors = []
        result = expr.parse(text, scope, want=want)
        lead = len(text) - len(text.lstrip())
        for e in scope.errors:
            line, col = e.pos
            if line == 1:
                at = Pos(start.line, start.col + lead + col)
            else:
                raw = self.src.line_text(start.line + line - 1)
                at = Pos(start.line + line - 1, len(raw) - len(raw.lstrip()) + col + 1)
            self.err(at, e.message)
        return result

    def _output(self, name: str, pos: Pos) -> FieldSpec | None:
        """The declared output or value ``name``; None (reported) if there is none."""
        spec = self.outputs.get(name) or self.values.get(name)
        if spec is None:
            known = [*self.outputs, *self.values]
            self.err(
                pos,
                f"unknown output '{name}'{suggest(name, known)} "
                f"(outputs: {', '.join(self.outputs) or 'none — declare them under output'}"
                + (f"; values: {', '.join(self.values)}" if self.values else "")
                + ")",
            )
        return spec

    def _value_ok(self, spec: FieldSpec, value: Any, pos: Pos, name: str) -> bool:
        """Whether ``value`` fits output ``name``; each misfit is reported at ``pos``."""
        errors: list[dict[str, Any]] = []
        check_value(spec, value, name, errors)
        for e in errors:
            self.err(pos, f"value for output {e['message']}")
        return not errors
