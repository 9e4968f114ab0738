"""Tables written for the one-function decision: hit policy first, collect and rule order row
by row; the other hit policies, and tables that set intermediate values, through
``Table.resolve`` on the rows that match."""

from __future__ import annotations

from .. import ir
from ..tables import Row, Table
from .writer import Generator


class TableWriter(Generator):
    """Writes a ruleset's tables: those that set values in their stage, the rest at the end."""

    def _reads(self, table: Table) -> str:
        return "{" + ", ".join(self._read(p) for p in (*table.input_paths, *table.reads)) + "}"

    def _matches(self, ti: int, table: Table) -> list[str]:
        """Lines leaving the indexes of the rows that match in ``m<ti>``."""
        lines = [f"m{ti} = []"]
        keyword = "if"
        for k, row in enumerate(table.rows):
            if _always(row):
                lines.append(f"{'else:' if keyword == 'elif' else 'if True:'}")
                lines.append(f"    m{ti}.append({k})")
                if table.hit == "first":
                    break
                continue
            lines += [f"{keyword} {self.w.cond(row.condition)}:", f"    m{ti}.append({k})"]
            if table.hit == "first":
                keyword = "elif"
        lines.append(f"r{ti} = {self.w.bind(table.resolve)}(m{ti})")
        return lines

    def _early_table(self, ti: int, table: Table) -> list[str]:
        """A table that sets values: resolved in its stage, its values applied there."""
        lines = self._matches(ti, table)
        for key in table.outputs:
            if key not in self.values:
                continue
            x = self.w.vals[key]
            lines += [f"if {key!r} in r{ti}[1]:", f"    {x} = r{ti}[1][{key!r}]"]
            if self.keep_dict:
                lines.append(f"    d[{key!r}] = {x}")
            lines += [f"if {key!r} in r{ti}[2]:", f"    {x}.extend(r{ti}[2][{key!r}])"]
        return lines

    def _end_table(self, ti: int, table: Table) -> list[str]:
        """A table's outputs and the rows it fired, in table order after the rules."""
        if not self.early[ti]:
            if table.hit == "first" and table.aggregate is None:
                return self._first(ti, table)
            if table.hit in ("collect", "rule order"):
                return self._listing(ti, table)
            lines = self._matches(ti, table)
        else:
            lines = []
        labels = self.w.bind(tuple(f"{table.id}#{r.number}" for r in table.rows))
        lines += [
            f"for row in r{ti}[0]:",
            f"    tf.append(_T(_F, ({labels}[row.number - 1], {self._reads(table)})))",
        ]
        for key in table.outputs:
            if key in self.values:
                continue
            o = self.outs[key]
            lines += [f"if {key!r} in r{ti}[1]:", f"    {o} = r{ti}[1][{key!r}]"]
            lines += [f"if {key!r} in r{ti}[2]:", f"    if {o} is _U:", f"        {o} = []"]
            lines.append(f"    {o}.extend(r{ti}[2][{key!r}])")
        return lines

    def _hit(self, table: Table, row: Row) -> str:
        return f"tf.append(_T(_F, ({f'{table.id}#{row.number}'!r}, {self._reads(table)})))"

    def _first(self, ti: int, table: Table) -> list[str]:
        lines: list[str] = []
        keyword = "if"
        for k, row in enumerate(table.rows):
            last = _always(row)
            if last:
                lines.append("else:" if keyword == "elif" else "if True:")
            else:
                lines.append(f"{keyword} {self.w.cond(row.condition)}:")
            lines.append("    " + self._hit(table, row))
            _, sets, appends = table.resolve([k])
            for key, value in sets.items():
                lines.append(f"    {self.outs[key]} = {self.w.const(value)}")
            for key, items in appends.items():
                lines += ["    " + line for line in self._append(self.outs[key], items)]
            keyword = "elif"
            if last:
                break
        return lines

    def _listing(self, ti: int, table: Table) -> list[str]:
        aggregate = table.aggregate
        lines: list[str] = []
        if aggregate == "count":
            lines.append(f"a{ti} = 0")
        elif aggregate is not None:
            lines.append(f"a{ti} = []")
        for row in table.rows:
            lines.append("if True:" if _always(row) else f"if {self.w.cond(row.condition)}:")
            lines.append("    " + self._hit(table, row))
            if aggregate == "count":
                lines.append(f"    a{ti} += 1")
            elif aggregate is not None:
                value = row.values.get(table.outputs[0])
                lines.append(
                    f"    a{ti}.append({self.w.const(value)})" if value is not None else "    pass"
                )
            else:
                for key, value in row.values.items():
                    items = value if isinstance(value, list) else [value]
                    lines += ["    " + line for line in self._append(self.outs[key], items)]
        if aggregate is not None:
            o = self.outs[table.outputs[0]]
            if aggregate == "count":
                lines.append(f"{o} = a{ti}")
            else:
                lines += [f"if a{ti}:", f"    {o} = {aggregate}(a{ti})"]
        return lines


def _always(row: Row) -> bool:
    return isinstance(row.condition, ir.Const) and row.condition.value is True
