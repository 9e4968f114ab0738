"""Where a lint finding points in its rule file: the lines of tables, rows and schema fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .source import Pos, key_pos, node_pos, parse_yaml, read_source, value_pos


class FileLines:
    """Lines of tables, rows and schema fields, read again from the rule file."""

    def __init__(self, path: Path) -> None:
        src, _ = read_source(path)
        self.doc = parse_yaml(src) or {}

    def _table_node(self, tid: str) -> tuple[Any, Pos] | None:
        tables = self.doc.get("tables") if isinstance(self.doc, dict) else None
        for n, node in enumerate(tables or []):
            if isinstance(node, dict) and node.get("id") == tid:
                return node, node_pos(node, value_pos(tables, n, Pos(1, 1)))
        return None

    def table(self, tid: str) -> int:
        found = self._table_node(tid)
        return found[1].line if found else 1

    def row(self, tid: str, number: int) -> int | None:
        found = self._table_node(tid)
        if found is None:
            return None
        node, pos = found
        return value_pos(node.get("rows"), number - 1, pos).line

    def field(self, section: str, dotted: str) -> int:
        doc: Any = self.doc if isinstance(self.doc, dict) else {}
        if section == "input" and "input" not in doc:
            section = "facts"  # a playbook's input is its facts
        node: Any = doc.get(section)
        pos = Pos(1, 1)
        parts = dotted.split(".")
        for n, part in enumerate(parts):
            if not isinstance(node, dict):
                break
            pos = key_pos(node, part, pos)
            node = node.get(part)
            if n < len(parts) - 1 and isinstance(node, dict):
                node = node.get("fields")
        return pos.line
