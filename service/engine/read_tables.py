"""Reading a rule file's decision tables: hit policy, input columns, outputs and rows."""

from __future__ import annotations

from typing import Any

from . import expr, ir
from .filereader import FileReader
from .schema import FieldSpec
from .source import Pos, check_keys, suggest, text_start, value_pos
from .tables import (
    AGGREGATES,
    HIT_POLICIES,
    LISTING,
    CellError,
    Row,
    Table,
    cell_expression,
    output_rank,
)

TABLE_KEYS = ("id", "description", "hit", "aggregate", "inputs", "outputs", "rows")


class TableReader(FileReader):
    """Reads the ``tables`` of a rule file."""

    feel_reader: Any = None  # a feel.reader.FeelReader when the file says 'expressions: feel'

    def _tables(self) -> list[Table]:
        """The file's decision tables; a table with a mistake is reported and left out."""
        tables = []
        for tnode, pos in self._entries(
            "tables",
            "'tables' must be a list of decision tables",
            "each table must be a mapping with id, hit, inputs, outputs, rows",
        ):
            table = self._table(tnode, pos)
            if table is not None:
                tables.append(table)
        return tables

    def _table(self, tnode: Any, pos: Pos) -> Table | None:
        check_keys(self.src, tnode, TABLE_KEYS, "a table", pos)
        tid = self._claim_id(tnode, pos, "a table")
        if tid is not None:
            self.table_pos[tid] = (pos.line, pos.col)
        ok = tid is not None
        hit = tnode.get("hit", "unique")
        if hit not in HIT_POLICIES:
            self.err(
                value_pos(tnode, "hit", pos),
                f"unknown hit policy {hit!r}{suggest(str(hit), HIT_POLICIES)} "
                f"(hit policies: {', '.join(HIT_POLICIES)})",
            )
            ok, hit = False, "unique"
        aggregate = tnode.get("aggregate")
        if aggregate is not None and (hit != "collect" or aggregate not in AGGREGATES):
            self.err(
                value_pos(tnode, "aggregate", pos),
                f"aggregate {aggregate!r} needs hit: collect and one of {', '.join(AGGREGATES)}",
            )
            ok = False
        if self.feel_reader is not None:
            return self.feel_reader.table(tnode, pos, tid, hit, aggregate, ok)  # type: ignore[no-any-return]
        raw_inputs = tnode.get("inputs")
        ipos = value_pos(tnode, "inputs", pos)
        if not isinstance(raw_inputs, list) or not raw_inputs:
            self.err(
                ipos, "'inputs' must be a list of input expressions, e.g. [department, amount]"
            )
            return None
        columns: list[str] = []
        paths: dict[str, None] = {}
        reads: dict[str, None] = {}
        split = _split_by_yaml([str(t) for t in raw_inputs])
        if split is not None:
            self.err(
                ipos,
                f"YAML split the input expression {split!r} at its comma(s) (a [..] list "
                "separates items by commas); quote each expression that has a comma, e.g. "
                f"""inputs: [category, '{split}']""",
            )
            return None
        for j, text in enumerate(raw_inputs):
            node = self._parse_at(
                str(text),
                text_start(self.src, text, value_pos(raw_inputs, j, ipos)),
                expr.Scope(self.inputs, allow_facts=False, values=self.values),
                None,
            )
            if node is None:
                ok = False
            else:
                paths.update(dict.fromkeys(ir.input_paths(node)))
                reads.update(dict.fromkeys(ir.value_names(node)))
            columns.append(str(text))
        outputs, ranks = self._table_outputs(tnode, pos, hit, aggregate)
        if outputs is None:
            return None
        rows = self._rows(tnode, pos, columns, outputs, hit, tid or "")
        if not ok or rows is None:
            return None
        assert tid is not None
        return Table(
            id=tid,
            description=str(tnode.get("description", "")),
            hit=hit,
            aggregate=aggregate,
            inputs=tuple(columns),
            input_paths=tuple(paths),
            outputs=tuple(outputs),
            rows=tuple(rows),
            ranks=ranks,
            reads=tuple(reads),
        )

    def _table_outputs(
        self, tnode: Any, pos: Pos, hit: str, aggregate: str | None
    ) -> tuple[list[str] | None, dict[str, tuple[Any, ...]]]:
        raw = tnode.get("outputs")
        opos = value_pos(tnode, "outputs", pos)
        if not isinstance(raw, list) or not raw:
            self.err(opos, "'outputs' must list the output names each row fills, e.g. [sla_hours]")
            return None, {}
        ranks: dict[str, tuple[Any, ...]] = {}
        names: list[str] = []
        for j, name in enumerate(raw):
            npos = value_pos(raw, j, opos)
            spec = self._output(str(name), npos)
            if spec is None:
                return None, {}
            names.append(str(name))
            rank = output_rank(spec)
            if rank is not None:
                ranks[str(name)] = rank
            if aggregate is None and hit in LISTING and spec.type != "list":
                self.err(
                    npos,
                    f"hit policy {hit} collects every matching row, so output "
                    f"'{name}' must be {{type: list}} (or use aggregate: sum|min|max|count)",
                )
                return None, {}
            if aggregate is not None and spec.type not in ("number", "integer"):
                self.err(
                    npos, f"aggregate {aggregate} needs a number output, '{name}' is {spec.type}"
                )
                return None, {}
        if aggregate is not None and len(names) != 1:
            self.err(opos, f"aggregate {aggregate} works on exactly one output column")
            return None, {}
        if hit in ("priority", "output order") and not ranks:
            self.err(
                value_pos(tnode, "hit", pos),
                f"hit policy {hit} ranks rows by an output's enum order; give output "
                f"'{names[0]}' an enum (first value = highest priority)",
            )
            return None, {}
        return names, ranks

    def _rows(
        self, tnode: Any, pos: Pos, columns: list[str], outputs: list[str], hit: str, tid: str
    ) -> list[Row] | None:
        raw = tnode.get("rows")
        rpos = value_pos(tnode, "rows", pos)
        if not isinstance(raw, list) or not raw:
            self.err(rpos, "'rows' must be a list of rows, each [cell, ..., output, ...]")
            return None
        width = len(columns) + len(outputs)
        rows: list[Row] = []
        ok = True
        positions = self.row_pos.setdefault(tid, [])
        for n, row in enumerate(raw, start=1):
            self.deadline.check()
            row_pos = value_pos(raw, n - 1, rpos)
            positions.append(row_pos)
            if not isinstance(row, list) or len(row) != width:
                got = len(row) if isinstance(row, list) else type(row).__name__
                self.err(
                    row_pos,
                    f"row {n} must have {len(columns)} input cell(s) and "
                    f"{len(outputs)} output value(s) ({width} in all), got {got}",
                )
                ok = False
                continue
            parts: list[ir.Node] = []
            for j, cell in enumerate(row[: len(columns)]):
                cpos = value_pos(row, j, row_pos)
                try:
                    text = cell_expression(cell, columns[j])
                except CellError as exc:
                    self.err(cpos, f"row {n}, input '{columns[j]}': {exc}")
                    ok = False
                    continue
                if text is None:
                    continue
                scope = expr.Scope(self.inputs, allow_facts=False, values=self.values)
                scope.errors = []
                node = expr.parse(text, scope, want=ir.BOOLEAN)
                for e in scope.errors:
                    self.err(cpos, f"row {n}, input '{columns[j]}', cell {cell!r}: {e.message}")
                if node is None:
                    ok = False
                else:
                    parts.append(node)
            values: dict[str, Any] = {}
            for j, name in enumerate(outputs):
                value = row[len(columns) + j]
                spec = self.outputs.get(name) or self.values[name]
                if spec.type == "list" and not isinstance(value, list):
                    check = FieldSpec(name, "list", items=spec.items)
                    good = self._value_ok(
                        check, [value], value_pos(row, len(columns) + j, row_pos), name
                    )
                else:
                    good = self._value_ok(
                        spec, value, value_pos(row, len(columns) + j, row_pos), name
                    )
                ok = ok and good
                if spec.type == "list":  # a single item stands for a list of one
                    values[name] = list(value) if isinstance(value, list) else [value]
                else:
                    values[name] = value
            cond: ir.Node = (
                ir.And((1, 0), tuple(parts)) if parts else ir.Const((1, 0), True, ir.BOOLEAN)
            )
            cells = tuple(_cell_text(c) for c in row[: len(columns)])
            rows.append(Row(number=n, condition=cond, values=values, cells=cells))
        return rows if ok else None


def _split_by_yaml(items: list[str]) -> str | None:
    """The expression YAML cut in pieces at its commas, rejoined; None if nothing was cut."""
    k = 0
    while k < len(items):
        depth = items[k].count("(") - items[k].count(")")
        depth += items[k].count("[") - items[k].count("]")
        if depth > 0:
            end = k
            while depth > 0 and end + 1 < len(items):
                end += 1
                depth += items[end].count("(") - items[end].count(")")
                depth += items[end].count("[") - items[end].count("]")
            if end > k and depth == 0:
                return ", ".join(items[k : end + 1])
        k += 1
    return None


def _cell_text(cell: Any) -> str:
    """Give a table cell as an author wrote it; an empty cell is '-' (any value)."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return "-"
    if isinstance(cell, bool):
        return "true" if cell else "false"
    return str(cell).strip()
